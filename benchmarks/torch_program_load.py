"""Loading a torch bundle's program in a fresh process: assay's reader against ``torch.export.load``.

A torch bundle's model is a ``torch.export`` archive (``model.pt2``). ``assay_torch.exporting.load`` runs it with
``assay_torch.program_reader`` (the graph's aten operators called eagerly); ``torch.export.load`` rebuilds it
through ``torch._export.serde``, importing ``torch._dynamo`` and ``sympy``. Each command below is a fresh process
(one untimed run of each first, for the file cache), ``--repeat`` times, interleaved; the table shows the median
and fastest wall time, the median's ratio to ``python -c "import torch"`` and the median CPU time (user + system;
on a busy machine it varies less than the wall time):

* ``import torch``: the floor;
* ``assay reader``: ``import torch``, ``exporting.load`` of an iris-sized MLP (4 → 12 → 3), one prediction of 6 rows;
* ``torch.export.load``: the same through ``torch.export.load(...).module()``.

    python benchmarks/torch_program_load.py               # 5 runs of each
    python benchmarks/torch_program_load.py --repeat 9
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READER = """
import sys, torch
from assay_torch import exporting
model = exporting.load(open(sys.argv[1], "rb").read(), exporting.FORMAT)
with torch.no_grad():
    model(torch.randn(6, 4))
"""
TORCH = """
import sys, torch
model = torch.export.load(sys.argv[1]).module()
with torch.no_grad():
    model(torch.randn(6, 4))
"""


def make_program(folder: Path) -> Path:
    """An iris-sized MLP exported by assay, written as ``model.pt2``."""
    import torch
    from torch import nn

    from assay_torch import exporting

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 3))
    path = folder / "model.pt2"
    path.write_bytes(exporting.export(model, torch.randn(8, 4)).data)
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one fresh process."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each command (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="assay-torch-load-") as tmp:
        path = str(make_program(Path(tmp)))
        commands = {"import torch": [sys.executable, "-c", "import torch"],
                    "assay reader": [sys.executable, "-c", READER, path],
                    "torch.export.load": [sys.executable, "-c", TORCH, path]}
        for command in commands.values():
            run_once(command)
        timings: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved, so a burst of load elsewhere hits every command alike
            for name, command in commands.items():
                wall, seconds = run_once(command)
                timings[name].append(wall)
                cpu[name].append(seconds)
    baseline = statistics.median(timings["import torch"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nFresh processes, {args.repeat} each (load average {load:.2f}, {os.cpu_count()} CPUs)\n")
    print(f"{'command':<18}  {'median s':>9}  {'fastest s':>9}  {'x import torch':>14}  {'CPU s':>6}")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"{name:<18}  {median:>9.2f}  {min(values):>9.2f}  {median / baseline:>14.2f}  "
              f"{statistics.median(cpu[name]):>6.2f}")


if __name__ == "__main__":
    main()
