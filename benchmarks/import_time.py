"""How long ``import assay`` takes in a fresh process, against a bare interpreter (issue 27's target: under 150 ms).

Each row is the median of ``--runs`` fresh processes (wall time of the whole process, so the interpreter's own
start is in every row; the ``over bare`` column takes it out). ``import assay`` must stay cheap because every
script, worker and ``assay`` command pays it; the first use of a name (``assay.setup``, ``assay.Pipeline``) pays
for what that name needs (SQLAlchemy, pandas, scikit-learn).

    python benchmarks/import_time.py
    python benchmarks/import_time.py --runs 21
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_MS = 150.0
CASES = [
    ("bare interpreter", "pass"),
    ("import assay", "import assay"),
    ("import assay; assay.space", "import assay; assay.space.Int"),
    ("import assay; assay.setup", "import assay; assay.setup"),
    ("import assay; assay.Pipeline", "import assay; assay.Pipeline"),
]


def median_ms(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def self_time_ms(runs: int) -> float:
    """``import assay``'s own cumulative time as ``python -X importtime`` reports it (interpreter start excluded)."""
    times = []
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import assay"], capture_output=True,
                                text=True, check=True)
        line = next(line for line in reversed(result.stderr.splitlines()) if line.rstrip().endswith("| assay"))
        times.append(int(line.split("|")[1]) / 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    bare = median_ms("pass", args.runs)
    print(f"{'case':<32} {'median ms':>10} {'over bare':>10} {'ratio':>7}")
    for label, code in CASES:
        value = bare if code == "pass" else median_ms(code, args.runs)
        print(f"{label:<32} {value:>10.1f} {value - bare:>10.1f} {value / bare:>7.2f}")
    own = self_time_ms(args.runs)
    verdict = "meets" if own < TARGET_MS else "misses"
    print(f"\nimport assay, -X importtime cumulative: {own:.1f} ms ({verdict} the {TARGET_MS:.0f} ms target)")


if __name__ == "__main__":
    main()
