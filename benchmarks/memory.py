"""Memory over a long queue: peak RSS of 100 small Keras (or torch) runs in one process.

Prints RSS after runs 10 and 100 and the growth between them (target of issue 19: under 50 MB). Jobs go through the same
claim → run → store path as ``queue.run_jobs()``; the loop is spelled out only to sample RSS between runs.

    python benchmarks/memory.py --library keras --runs 100
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import psutil
from overhead import iris_splitset, keras_functions, torch_functions

import assay
from assay.experiment import claiming, runner


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", default="keras", choices=["keras", "torch"])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    fn_build, fn_train = keras_functions() if args.library == "keras" else torch_functions()
    with tempfile.TemporaryDirectory() as folder:
        assay.setup(f"sqlite:///{folder}/bench.sqlite3")
        splitset = iris_splitset()
        queue = assay.Experiment.make(
            library=args.library, analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
            hyperparameters={"neuron_count": [12], "batch_size": [32], "epoch_count": [5],
                             "run": list(range(args.runs))},
            splitset_id=splitset.id, seed=0,
        )
        worker = claiming.worker_name()
        samples: dict[int, float] = {}
        done = 0
        while (job_id := claiming.claim_next(queue.id, worker)) is not None:
            outcome = runner.run_claimed_job(job_id, worker)
            assert outcome.status == "succeeded", outcome.error
            done += 1
            if done in (1, 10, 50, args.runs):
                samples[done] = rss_mb()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = samples[args.runs] - samples[10]
    n = args.runs
    print(f"| library | runs | RSS after 1 (MB) | after 10 | after 50 | after {n} | growth 10→{n} (target < 50 MB) "
          "| peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    at_50 = samples.get(50, float("nan"))
    print(f"| {args.library} | {n} | {samples[1]:.0f} | {samples[10]:.0f} | {at_50:.0f} | {samples[n]:.0f} "
          f"| {growth:+.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
