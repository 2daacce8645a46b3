"""The training helper that torch lacks: batches, epochs, evaluation after each epoch, a Keras-style history.

:func:`fit` is what a torch ``fn_train`` calls, in one line::

    def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                      epochs=hp["epoch_count"], batch_size=hp["batch_size"])

``fn_train`` may also return just ``model``: assay then takes the history of the last :func:`fit` on it.

The history has one plain float per epoch under ``loss`` and the metric's name for the training split (the
mean over the epoch's batches, weighted by batch size, as Keras reports it) and under ``val_loss`` and
``val_<metric>`` for ``samples_evaluate`` (evaluated in ``eval()`` mode after the epoch).

Speed: for the small models assay's queues often train, torch's intra-op threads cost more than they give,
and on a busy machine they can make training ten times slower (measured: 60 epochs of a 12-unit model on 100
rows took 1.6 s with ``torch.set_num_threads(1)`` and 18.6 s with 2 threads while other processes used the
CPUs). Nothing here changes the thread count, which is process-wide: call ``torch.set_num_threads(1)`` at the
top of a script (or set ``OMP_NUM_THREADS=1``) when models are small.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from assay import epochs as epoch_reports
from assay import errors
from assay_torch.samples import match_target

#: the history of the last fit() of each model, for fn_train functions that return the model alone
_last_histories: weakref.WeakKeyDictionary[nn.Module, dict[str, list[float]]] = weakref.WeakKeyDictionary()

#: evaluation needs no gradients, so it can take larger batches than training
EVALUATION_BATCH_SIZE = 1024

MetricFn = Callable[[torch.Tensor, torch.Tensor], Any]


def fit(
    model: nn.Module,
    loser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    samples_train: dict[str, Any],
    samples_evaluate: dict[str, Any] | None = None,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    metric: str | MetricFn | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: list[Any] | None = None,
) -> dict[str, list[float]]:
    """Train ``model`` in mini-batches for ``epochs`` epochs and return the per-epoch history.

    Args:
        model: the ``nn.Module`` to train, in place. Batches are moved to the device of its parameters, so a
            model moved to a GPU in ``fn_build`` or ``fn_train`` trains there.
        loser: the loss, called as ``loser(output, target)`` (``nn.L1Loss()``, ``nn.BCELoss()``,
            ``nn.CrossEntropyLoss()``, ...). A label holding one value per row is reshaped to the output's
            shape first (``(n,)`` against ``(n, 1)`` would broadcast silently); any other mismatch raises.
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        samples_train: ``{"features": tensor, "labels": tensor}`` as assay prepares them (numpy arrays are
            accepted too).
        samples_evaluate: the same for the split evaluated after every epoch, or ``None``.
        epochs: number of passes over ``samples_train``.
        batch_size: rows per optimisation step.
        metric: the second curve of the history. ``None`` picks one from the labels and the loss:
            ``"accuracy"`` for class-index labels (argmax of the output) and for ``nn.BCELoss`` /
            ``nn.BCEWithLogitsLoss`` (output thresholded at 0.5, or at 0 for the logits of
            ``BCEWithLogitsLoss``), ``"mae"`` otherwise. A callable ``metric(output, target)`` returning a
            number is recorded under its ``__name__``.
        shuffle: shuffle the rows every epoch.
        seed: seed of the generator that shuffles. ``None`` uses ``torch.initial_seed()``, which the backend
            sets from the job's seed, so a rerun shuffles the same way.
        callbacks: objects with ``on_epoch_end(epoch, logs) -> bool`` called after each epoch with its history
            values (``{"loss": ..., "val_loss": ...}``); training stops after the epoch where one returns
            ``True``. ``assay.TrainingCallback.Torch.MetricCutoff(thresholds)`` stops once every threshold is met.

    Returns:
        ``{"loss": [...], "<metric>": [...], "val_loss": [...], "val_<metric>": [...]}``, one float per epoch
        (the ``val_`` keys only with ``samples_evaluate``). The model is left in ``eval()`` mode.

    Pruning: inside a job of a queue made with ``pruner=``, every epoch is reported to the pruner
    (:mod:`assay.epochs`); when it judges the run worse than the others at that epoch, training stops there and
    the history holds the epochs trained.

    Raises:
        assay.errors.ExperimentError: a bad ``epochs`` / ``batch_size`` / ``metric``, empty samples, or an
            output shape that does not fit the labels.
    """
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    callbacks = list(callbacks or [])
    for index, callback in enumerate(callbacks):
        if not callable(getattr(callback, "on_epoch_end", None)):
            raise errors.ExperimentError(f"callbacks[{index}]", f"{type(callback).__name__} has no on_epoch_end(epoch, "
                                         "logs) method; use e.g. assay.TrainingCallback.Torch.MetricCutoff([...])")
    features, labels = _features_and_labels(samples_train, "samples_train")
    if len(labels) == 0:
        raise errors.ExperimentError("samples_train", "has no rows; a model cannot be trained on an empty split")
    check_inputs(model, samples_train["features"])
    metric_name, metric_fn = resolve_metric(metric, loser, labels)
    history: dict[str, list[float]] = {"loss": [], metric_name: []}
    if samples_evaluate is not None:
        history.update({"val_loss": [], f"val_{metric_name}": []})

    device = model_device(model)
    generator = torch.Generator().manual_seed(torch.initial_seed() if seed is None else seed)
    row_count = len(labels)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(row_count, generator=generator) if shuffle else torch.arange(row_count)
        # running sums stay tensors so an epoch costs one host synchronisation, not one per batch
        loss_sum = torch.zeros((), device=device)
        metric_sum = torch.zeros((), device=device)
        for start in range(0, row_count, batch_size):
            rows = order[start:start + batch_size]
            inputs, target = [part[rows].to(device) for part in features], labels[rows].to(device)
            optimizer.zero_grad()
            output = model(*inputs)
            target = match_target(output, target)
            loss = loser(output, target)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(rows)
            with torch.no_grad():
                metric_sum += torch.as_tensor(metric_fn(output.detach(), target), device=device) * len(rows)
        history["loss"].append(float(loss_sum) / row_count)
        history[metric_name].append(float(metric_sum) / row_count)
        if samples_evaluate is not None:
            scores = evaluate(model, loser, samples_evaluate, metric=(metric_name, metric_fn))
            history["val_loss"].append(scores["loss"])
            history[f"val_{metric_name}"].append(scores[metric_name])
        logs = {name: values[-1] for name, values in history.items()}
        # every callback sees the epoch (no short-circuit), then: stop if one asked to
        stops = [bool(callback.on_epoch_end(epoch, dict(logs))) for callback in callbacks]
        if any(stops):
            break
        # inside an assay job with a pruner: stop when the run is judged worse than the others at this epoch
        if epoch_reports.report(logs, epoch=epoch + 1):
            break
    model.eval()
    _last_histories[model] = history
    return history


def evaluate(
    model: nn.Module,
    loser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    samples: dict[str, Any],
    *,
    metric: str | MetricFn | tuple[str, MetricFn] | None = None,
    batch_size: int = EVALUATION_BATCH_SIZE,
) -> dict[str, float]:
    """The loss and the metric of ``model`` on one split, in ``eval()`` mode without gradients.

    Batches are weighted by their size, which gives the split's value for losses and metrics that average
    over rows (every torch loss with the default ``reduction="mean"``). The model's train/eval mode is restored.

    Returns:
        ``{"loss": float, "<metric>": float}``, the metric chosen as in :func:`fit`.
    """
    features, labels = _features_and_labels(samples, "samples")
    if len(labels) == 0:
        raise errors.ExperimentError("samples", "has no rows; there is nothing to evaluate")
    metric_name, metric_fn = metric if isinstance(metric, tuple) else resolve_metric(metric, loser, labels)
    device = model_device(model)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    metric_sum = torch.zeros((), device=device)
    try:
        with torch.no_grad():
            for start in range(0, len(labels), batch_size):
                inputs = [part[start:start + batch_size].to(device) for part in features]
                output = model(*inputs)
                target = match_target(output, labels[start:start + batch_size].to(device))
                loss_sum += loser(output, target) * len(target)
                metric_sum += torch.as_tensor(metric_fn(output, target), device=device) * len(target)
    finally:
        model.train(was_training)
    return {"loss": float(loss_sum) / len(labels), metric_name: float(metric_sum) / len(labels)}


def last_history(model: nn.Module, *, pop: bool = False) -> dict[str, list[float]] | None:
    """The history of the last :func:`fit` of ``model`` in this process, or ``None`` (``pop`` forgets it)."""
    return _last_histories.pop(model, None) if pop else _last_histories.get(model)


def resolve_metric(metric: str | MetricFn | None, loser: Any, labels: torch.Tensor) -> tuple[str, MetricFn]:
    """The ``(name, function)`` of the history's metric; see ``metric`` in :func:`fit`."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if metric is None:
        is_classification = labels.dtype == torch.long or isinstance(loser, (nn.BCELoss, nn.BCEWithLogitsLoss))
        metric = "accuracy" if is_classification else "mae"
    if metric == "mae":
        return "mae", _mean_absolute_error
    if metric == "accuracy":
        if labels.dtype == torch.long:
            return "accuracy", _multi_accuracy
        # logits are positive exactly where the sigmoid is above 0.5
        threshold = 0.0 if isinstance(loser, nn.BCEWithLogitsLoss) else 0.5
        return "accuracy", lambda output, target: ((output >= threshold).to(target.dtype) == target).float().mean()
    raise errors.ExperimentError(
        "metric", f"{metric!r} is not a known metric; use 'accuracy', 'mae', None or a callable(output, target)"
    )


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def _mean_absolute_error(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (output - target).abs().mean()


def _multi_accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (output.argmax(dim=1) == target).float().mean()


def as_inputs(features: Any) -> list[torch.Tensor]:
    """The model's inputs as a list of tensors: one for a single input, one per input (in order) for a list, so
    every batch is sliced from each input alike and passed as ``model(*inputs)``."""
    parts = list(features) if isinstance(features, (list, tuple)) else [features]
    return [_as_tensor(part, torch.float32) for part in parts]


def check_inputs(model: nn.Module, features: Any) -> None:
    """A multi-input splitset's list of tensors needs a ``forward`` taking one tensor per input.

    Raises:
        assay.errors.ExperimentError: naming the inputs' shapes, when ``forward`` cannot take that many tensors.
    """
    if not isinstance(features, (list, tuple)):
        return
    shapes = [tuple(np.shape(part))[1:] for part in features]
    try:
        inspect.signature(model.forward).bind(*range(len(shapes)))
    except TypeError:
        raise errors.ExperimentError(
            "fn_build", f"the splitset has {len(shapes)} inputs of shapes {shapes} (samples['features'] is a list, "
            f"in input order), but {type(model).__name__}.forward{inspect.signature(model.forward)} cannot take "
            f"{len(shapes)} tensors; define forward(self, {', '.join(f'x_{i}' for i in range(len(shapes)))})"
        ) from None
    except ValueError:  # no signature to read (a builtin): torch reports at the first call
        return


def _features_and_labels(samples: Any, parameter: str) -> tuple[list[torch.Tensor], torch.Tensor]:
    if not isinstance(samples, dict) or "features" not in samples or samples.get("labels") is None:
        raise errors.ExperimentError(
            parameter, "needs a dict with 'features' and 'labels' (the samples assay passes to fn_train)"
        )
    features = as_inputs(samples["features"])
    labels = samples["labels"]
    if not isinstance(labels, torch.Tensor):
        array = np.asarray(labels)
        labels = torch.as_tensor(array, dtype=torch.long if array.dtype.kind in "iu" else torch.float32)
    for part in features:
        if len(part) != len(labels):
            raise errors.ExperimentError(parameter, f"has {len(part)} feature rows but {len(labels)} labels")
    return features, labels


def _as_tensor(values: Any, dtype: torch.dtype) -> torch.Tensor:
    return values if isinstance(values, torch.Tensor) else torch.as_tensor(np.asarray(values), dtype=dtype)


def _check_positive_int(parameter: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise errors.ExperimentError(parameter, f"must be a positive integer, got {value!r}")
