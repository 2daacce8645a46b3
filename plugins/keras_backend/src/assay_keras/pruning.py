"""Early pruning for Keras: a callback that reports each epoch's logs to assay and stops a pruned run.

assay attaches :class:`PruningCallback` to every ``model.fit`` a Keras ``fn_train`` makes while its job has a
pruner (:func:`attached`), so users write no pruning code. Adding it to ``callbacks=[...]`` by hand is harmless:
it is attached once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras

from assay import epochs


class PruningCallback(keras.callbacks.Callback):
    """After each epoch, report the logs (``loss``, ``val_loss``, ``val_accuracy``...) to the job's pruner;
    when the run is pruned, stop training (``model.stop_training``). Outside an assay job it does nothing."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = {name: float(value) for name, value in (logs or {}).items() if _is_number(value)}
        if epochs.report(values, epoch=epoch + 1):
            self.model.stop_training = True


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


@contextlib.contextmanager
def attached(model: Any) -> Iterator[None]:
    """While the block runs, every ``model.fit(...)`` gets a :class:`PruningCallback` (when a pruner listens)."""
    if not epochs.active() or not isinstance(model, keras.Model):
        yield
        return
    original = model.fit

    def fit(*args: Any, callbacks: Any = None, **kwargs: Any) -> Any:
        callbacks = list(callbacks or [])
        if not any(isinstance(callback, PruningCallback) for callback in callbacks):
            callbacks.append(PruningCallback())
        return original(*args, callbacks=callbacks, **kwargs)

    # an instance attribute shadows the class's fit for this model only, and only while fn_train runs
    object.__setattr__(model, "fit", fit)
    try:
        yield
    finally:
        with contextlib.suppress(AttributeError):
            object.__delattr__(model, "fit")
