"""``assay serve`` against ``bundle.predict`` in process: latency of 1-row requests, rows/s of 1,000-row requests.

A torch iris MLP is trained and exported; the real server (``assay serve``, uvicorn, one worker) runs in a
subprocess and one keep-alive HTTP client sends requests one after another. The same rows are predicted in this
process with ``bundle.predict`` for the baseline. Target (issue 26): under 5 ms p50 overhead for 1-row requests.

    python benchmarks/serve.py --requests 300
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import httpx  # noqa: E402
from bundle import fn_build, fn_train  # noqa: E402
from overhead import iris_splitset  # noqa: E402

import assay  # noqa: E402
from assay import datum  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        assay.setup(f"sqlite:///{Path(folder) / 'assay.sqlite3'}")
        splitset = iris_splitset()
        queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                      fn_train=fn_train, hyperparameters={"unused": [0]}, splitset_id=splitset.id)
        queue.run_jobs(progress=False)
        path = queue.predictors[0].export(Path(folder) / "iris.assay")
        data = datum.to_pandas("iris.tsv").drop(columns="species")
        one = data.head(1)
        thousand = data.sample(1000, replace=True, random_state=0).reset_index(drop=True)

        bundle = assay.load_bundle(path)
        bundle.predict(one)
        local_one = []
        for _ in range(args.requests):
            started = time.perf_counter()
            bundle.predict(one)
            local_one.append(time.perf_counter() - started)
        local_thousand = []
        for _ in range(20):
            started = time.perf_counter()
            bundle.predict(thousand)
            local_thousand.append(time.perf_counter() - started)

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-c", "import sys; from assay.cli import main; "
                                   "sys.exit(main(sys.argv[1:]))", "serve", path, "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=60) as client:
                while True:
                    try:
                        client.get(f"{url}/health")
                        break
                    except httpx.TransportError:
                        time.sleep(0.2)
                one_body = {"rows": one.to_dict(orient="records")}
                thousand_body = {"rows": thousand.to_dict(orient="records")}
                for _ in range(20):
                    client.post(f"{url}/predict", json=one_body)
                served_one, handling, predicting = [], [], []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    answer = client.post(f"{url}/predict", json=one_body)
                    served_one.append(time.perf_counter() - started)
                    answer.raise_for_status()
                    timings = dict(part.strip().split(";dur=") for part in answer.headers["server-timing"].split(","))
                    handling.append(float(timings["app"]) - float(timings["predict"]))
                    predicting.append(float(timings["predict"]))
                served_thousand = []
                for _ in range(20):
                    started = time.perf_counter()
                    client.post(f"{url}/predict", json=thousand_body).raise_for_status()
                    served_thousand.append(time.perf_counter() - started)
        finally:
            server.terminate()
            server.wait(timeout=30)

    p50_local, p50_served = statistics.median(local_one) * 1e3, statistics.median(served_one) * 1e3
    print(f"torch iris MLP, {args.requests} 1-row requests and 20 1,000-row requests, one keep-alive client")
    print(f"{'':<28}{'bundle.predict':>16}{'assay serve':>14}{'overhead':>10}")
    print(f"{'1 row p50 (ms)':<28}{p50_local:>16.2f}{p50_served:>14.2f}{p50_served - p50_local:>10.2f}")
    p99_local, p99_served = percentile(local_one, 0.99) * 1e3, percentile(served_one, 0.99) * 1e3
    print(f"{'1 row p99 (ms)':<28}{p99_local:>16.2f}{p99_served:>14.2f}{p99_served - p99_local:>10.2f}")
    print(f"{'1 row, in the server (ms)':<28}{'':>16}{statistics.median(predicting):>14.2f}{'':>10}  bundle.predict "
          "in the server (Server-Timing)")
    print(f"{'1 row, server handling (ms)':<28}{'':>16}{statistics.median(handling):>14.2f}{'':>10}  parsing, checks, "
          "thread hop, JSON out")
    transport = statistics.median([total * 1e3 - handled - predicted for total, handled, predicted
                                   in zip(served_one, handling, predicting, strict=True)])
    print(f"{'1 row, HTTP + client (ms)':<28}{'':>16}{transport:>14.2f}")
    rate_local = 1000 / statistics.median(local_thousand)
    rate_served = 1000 / statistics.median(served_thousand)
    print(f"{'1,000 rows (rows/s)':<28}{rate_local:>16.0f}{rate_served:>14.0f}{rate_served / rate_local:>9.2f}x")
    print(f"target: p50 overhead under 5 ms: {'met' if p50_served - p50_local < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
