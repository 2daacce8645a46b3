"""Request counts and latencies in Prometheus' text exposition format (``GET /metrics``), per worker process."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

#: upper bounds (seconds) of the latency histogram's buckets
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Counters of one server process; :meth:`observe` is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, int], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self._sums: dict[str, float] = defaultdict(float)
        self.rows = 0

    def observe(self, path: str, status: int, seconds: float, rows: int = 0) -> None:
        """Count one answered request to ``path`` with ``status`` that took ``seconds`` and predicted ``rows``."""
        with self._lock:
            self._requests[(path, status)] += 1
            self._buckets[path][bisect.bisect_left(BUCKETS, seconds)] += 1
            self._sums[path] += seconds
            self.rows += rows

    def text(self) -> str:
        """Everything counted so far, in Prometheus' text format (version 0.0.4)."""
        with self._lock:
            lines = ["# HELP assay_requests_total HTTP requests answered, by path and status.",
                     "# TYPE assay_requests_total counter"]
            lines += [f'assay_requests_total{{path="{path}",status="{status}"}} {count}'
                      for (path, status), count in sorted(self._requests.items())]
            lines += ["# HELP assay_request_duration_seconds Time from receiving a request to answering it.",
                      "# TYPE assay_request_duration_seconds histogram"]
            for path, counts in sorted(self._buckets.items()):
                total = 0
                for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                    total += count
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(f'assay_request_duration_seconds_bucket{{path="{path}",le="{le}"}} {total}')
                lines.append(f'assay_request_duration_seconds_sum{{path="{path}"}} {self._sums[path]!r}')
                lines.append(f'assay_request_duration_seconds_count{{path="{path}"}} {total}')
            lines += ["# HELP assay_predicted_rows_total Rows (samples) predicted.",
                      "# TYPE assay_predicted_rows_total counter", f"assay_predicted_rows_total {self.rows}"]
        return "\n".join(lines) + "\n"
