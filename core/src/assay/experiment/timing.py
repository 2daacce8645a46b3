"""The time each process spends in assay's own storage calls (claim, load, heartbeat, store, search).

Its own module, so the claim loop, the runner and the adaptive search all record into it without importing each
other.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterator


class StorageTimer:
    """Seconds and calls this process spent in assay's own storage calls, by kind (claim, heartbeat, load, store).

    The benchmarks and ``RunSummary.storage_seconds`` report it: the database overhead of a run is what a user
    pays on top of training. Thread-safe, because the heartbeat renews leases from its own thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        #: the CPU time of the same calls (of the calling thread): on a busy machine the wall time also counts
        #: the time other processes held the cores
        self.cpu_seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextlib.contextmanager
    def measure(self, kind: str) -> Iterator[None]:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            with self._lock:
                self.seconds[kind] += elapsed
                self.cpu_seconds[kind] += cpu
                self.calls[kind] += 1

    def snapshot(self) -> dict[str, float]:
        """Seconds per kind so far; subtract two snapshots to time a stretch of work."""
        with self._lock:
            return dict(self.seconds)

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds per kind so far (this process's calls)."""
        with self._lock:
            return dict(self.cpu_seconds)


#: this process's storage time; workers report it, ``run_jobs`` reports the part spent in its call
STORAGE_TIMER = StorageTimer()


def seconds_since(before: dict[str, float]) -> dict[str, float]:
    """Storage seconds per kind spent since ``before`` (a :meth:`StorageTimer.snapshot`)."""
    now = STORAGE_TIMER.snapshot()
    return {kind: seconds - before.get(kind, 0.0) for kind, seconds in now.items() if seconds > before.get(kind, 0.0)}
