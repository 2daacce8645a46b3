"""Per-epoch reports from training loops, so a run that is going badly can be stopped early (pruned).

While assay trains a job of a queue with a ``pruner``, it installs a reporter for that job. Training loops call
:func:`report` after each epoch with that epoch's logs (``{"loss": ..., "val_loss": ..., "val_accuracy": ...}``);
it answers whether to stop. The backends do this without user code: ``assay_torch.fit`` reports after each
epoch and stops, and assay attaches ``assay_keras.PruningCallback`` to ``model.fit`` in a Keras ``fn_train``.
A hand-written loop can do the same::

    for epoch in range(epochs):
        ...
        if assay.epochs.report({"val_loss": val_loss}, epoch=epoch + 1):
            break  # the pruner judged this run worse than the others at this epoch

Outside a job (or without a pruner) :func:`report` returns ``False`` and costs a dictionary look-up.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Protocol


class EpochReporter(Protocol):
    """What a job installs: told each epoch's logs, it answers whether training should stop."""

    def report(self, epoch: int, logs: Mapping[str, float]) -> bool: ...


_current: contextvars.ContextVar[EpochReporter | None] = contextvars.ContextVar("assay_epoch_reporter",
                                                                               default=None)


def active() -> bool:
    """Whether a reporter listens (training runs inside a job whose queue has a pruner)."""
    return _current.get() is not None


def report(logs: Mapping[str, float], epoch: int) -> bool:
    """Report one finished epoch; ``True`` means stop training now (the run is pruned).

    Args:
        logs: the epoch's values by history name (``loss``, ``val_loss``, ``val_<metric>``...).
        epoch: how many epochs are finished (1 after the first).
    """
    reporter = _current.get()
    if reporter is None:
        return False
    return bool(reporter.report(int(epoch), logs))


@contextlib.contextmanager
def reporting(reporter: EpochReporter | None) -> Iterator[None]:
    """Install ``reporter`` for the training inside the block (``None``: nothing listens)."""
    token = _current.set(reporter)
    try:
        yield
    finally:
        _current.reset(token)
