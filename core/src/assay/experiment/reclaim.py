"""Reclaiming memory between jobs: a full garbage collection only when this process's memory grew.

Frameworks build models full of reference cycles (Keras layers, TensorFlow graphs), which only the cyclic garbage
collector frees. Collecting after every job keeps memory flat but costs a full pass over every object the
process holds: with torch and TensorFlow imported that is hundreds of milliseconds, more than training a small
model. So the runner asks :func:`after_job` instead, which collects when the resident memory grew by
:data:`GROWTH_BYTES` since the last collection (read from ``/proc`` on Linux, from the peak RSS elsewhere), and
every :data:`EVERY_JOBS` jobs where neither can be read. A queue of tiny models thus pays one collection every few
dozen jobs, and a queue of large ones (each of which grows memory past the threshold) one per job, as before.

After each collection the survivors are frozen (``gc.freeze``): the frameworks' own hundreds of thousands of
long-lived objects are not scanned again, so the next collection only looks at what later jobs created (with
TensorFlow imported a full pass takes about half a second, a pass over the new objects milliseconds).
:func:`release` unfreezes them when a queue run in the user's own process ends, so that process's later
garbage is collected as usual.
"""

from __future__ import annotations

import gc
import os
import sys
import threading

#: collect when the resident memory grew this much since the last collection (``ASSAY_RECLAIM_MB`` overrides)
GROWTH_BYTES = int(float(os.environ.get("ASSAY_RECLAIM_MB", "32")) * 2**20)
#: where memory cannot be read, collect after this many jobs
EVERY_JOBS = 25

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux), else its peak so far (other Unix), else ``None``."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the peak only rises when garbage piles up past what a collection made reusable: the same signal
    return peak if sys.platform == "darwin" else peak * 1024


class Reclaimer:
    """Decides after each job whether a full collection is due; one per process (see :func:`after_job`)."""

    def __init__(self, growth_bytes: int = GROWTH_BYTES, every_jobs: int = EVERY_JOBS):
        self.growth_bytes, self.every_jobs = growth_bytes, every_jobs
        self._lock = threading.Lock()
        self._baseline: int | None = None
        self._jobs = 0
        self.collections = 0
        self.frozen = False

    def after_job(self) -> bool:
        """Collect garbage if memory grew past the threshold since the last collection; ``True`` if it did."""
        with self._lock:
            self._jobs += 1
            now = resident_bytes()
            if now is None:
                due = self._jobs >= self.every_jobs
            elif self._baseline is None:
                self._baseline, due = now, False
            else:
                due = now - self._baseline >= self.growth_bytes
            if not due:
                return False
            gc.collect()
            gc.freeze()  # the survivors are long-lived: later collections skip them
            self.frozen = True
            self.collections += 1
            self._jobs = 0
            # what the collection freed is reused by the next jobs, so growth is measured from here
            self._baseline = resident_bytes()
            return True


    def release(self) -> None:
        """Unfreeze what collections froze: the process's objects are collected as usual again."""
        with self._lock:
            if self.frozen:
                gc.unfreeze()
                self.frozen = False


_reclaimer = Reclaimer()


def after_job() -> bool:
    """This process's :class:`Reclaimer`: collect garbage now if memory grew enough since the last time."""
    return _reclaimer.after_job()


def release() -> None:
    """End of a queue run in the user's process: this process's garbage is collected as usual again."""
    _reclaimer.release()
