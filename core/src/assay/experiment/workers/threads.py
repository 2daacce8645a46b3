"""Thread caps of a worker process: how many BLAS/OpenMP/TensorFlow/torch threads each worker gets.

Imports no numpy, so a worker process can cap its threads before numpy loads.
"""

from __future__ import annotations

import os
import sys

#: environment variables that cap the threads of BLAS, OpenMP, numexpr and TensorFlow in a worker process
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)



def cpu_count() -> int:
    """The cores this process may use (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_worker(worker_count: int) -> int:
    """Cores shared fairly: ``cores // worker_count``, at least one (more threads would only fight each other)."""
    return max(1, cpu_count() // worker_count)


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that cap every numerical library of a new process at ``threads`` threads."""
    return dict.fromkeys(THREAD_ENV_VARS, str(threads))


def limit_threads(threads: int) -> None:
    """Cap this process's numerical libraries at ``threads`` threads.

    Call it before numpy, torch or TensorFlow are imported: then the environment variables do everything.
    Libraries already loaded (a Dask worker imported numpy long ago) are capped through threadpoolctl and
    ``torch.set_num_threads``; TensorFlow cannot change its thread pools once it has started, so it keeps them.
    """
    os.environ.update(thread_environment(threads))
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
