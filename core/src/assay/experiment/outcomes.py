"""What running a queue reports: :class:`RunSummary`, and the error that stops every worker at once.

Kept free of numpy, so a worker process can import it before it caps its threads.
"""

from __future__ import annotations

from typing import Any

import attrs

from assay import errors


@attrs.frozen
class RunSummary:
    """What ``run_jobs`` did: jobs that succeeded, failed and were pruned in this call, and the queue's state after.

    ``storage_seconds`` is the time spent in assay's own storage calls during the call, by kind (``claim``, which
    also reads what the claimed job needs, ``heartbeat``, ``store``, and ``load`` for a job run without its claim's
    context), summed over every worker; ``storage_ms_per_run`` divides it by the runs.
    """

    queue_id: int
    succeeded: int
    failed: int
    queue_status: dict[str, Any]
    storage_seconds: dict[str, float] = attrs.field(factory=dict)
    pruned: int = 0

    @property
    def storage_ms_per_run(self) -> float | None:
        """Milliseconds of database work per finished run (claim, heartbeat, store and search together)."""
        runs = self.succeeded + self.failed + self.pruned
        return 1000 * sum(self.storage_seconds.values()) / runs if runs else None

    def __str__(self) -> str:
        s = self.queue_status
        pruned = f", {self.pruned} pruned" if self.pruned else ""
        text = (f"Queue {self.queue_id}: {self.succeeded} succeeded, {self.failed} failed{pruned} in this run; "
                f"{s['succeeded'] + s.get('pruned', 0)}/{s['total']} done")
        if s["failed"]:
            text += f", {s['failed']} failed (queue.status()['errors'] has the errors; queue.retry_failed() requeues)"
        return text


class MissingHyperparameterError(errors.ExperimentError):
    """A user function asked for a hyperparameter the grid does not have: every job would fail the same way."""
