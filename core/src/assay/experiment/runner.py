"""Running jobs: one job end to end (train, evaluate, store atomically) and a whole queue in this process."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import inspect
import time
import traceback
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from assay import contracts, epochs, errors, plugins
from assay.data.read.arrays import library_samples, library_shape
from assay.data.read.splitsets import SplitsetData
from assay.db import retry
from assay.db.engine import current_url
from assay.db.queries import claims
from assay.db.queries import experiments as queries
from assay.experiment import arrays, claiming, predicting, reclaim, truth
from assay.experiment.functions import load_functions
from assay.experiment.outcomes import MissingHyperparameterError
from assay.experiment.search import pruning


def job_seed(queue_seed: int, combo_index: int, fold_index: int | None, repeat_index: int) -> int:
    """A seed per job: reruns repeat it exactly, while repeats and folds differ from each other."""
    mixed = np.random.SeedSequence([queue_seed, combo_index, (fold_index or 0) + 1, repeat_index])
    return int(mixed.generate_state(1)[0] % (2**31 - 1))


@functools.lru_cache(maxsize=8)
def _splitset(url: str | None, splitset_id: int, created_at: dt.datetime) -> SplitsetData:
    # Splitsets never change once queued; keeping one per process and database keeps its arrays cached. The
    # time it was made tells it from a splitset with the same id in a database made again at the same URL.
    return SplitsetData.load(splitset_id)


@functools.lru_cache(maxsize=16)
def _prepared(backend: plugins.Backend, analysis_type: str, splitset: SplitsetData, split: str,
              fold_index: int | None) -> dict[str, Any]:
    """A split's samples as the library takes them, made once per process (callers copy what users receive).

    Converting and checking a split's arrays costs about as much as training a tiny model; a queue's jobs
    share the same splits, which never change once queued (the splitset itself is kept by :func:`_splitset`).
    """
    raw = splitset.samples_for(split, fold_index=fold_index)
    return backend.prepare_samples(analysis_type, library_samples(raw, splitset.layout, backend.channels_last()))


def _fresh(value: Any) -> Any:
    """A copy of prepared samples for a user function, which may modify them in place.

    Arrays and tensors are copied directly (``deepcopy`` of a torch tensor costs ten times its ``clone``);
    dicts and lists of them (several inputs) are copied item by item; anything else is deep-copied.
    """
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_fresh(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.copy()
    clone = getattr(value, "clone", None)  # torch tensors
    return clone() if callable(clone) else copy.deepcopy(value)


def _missing_hyperparameter(name: str, fn: Callable[..., Any], exc: KeyError,
                            hyperparameters: dict[str, Any]) -> MissingHyperparameterError | None:
    """The error naming a hyperparameter ``fn`` looked up but the grid lacks, if that is what ``exc`` is.

    Only a KeyError raised in ``fn``'s own body counts (``hp["units"]``); one from deeper inside a library is
    the library's and propagates unchanged.
    """
    key = exc.args[0] if exc.args else None
    frames = traceback.extract_tb(exc.__traceback__)
    code = getattr(fn, "__code__", None)
    if not isinstance(key, str) or key in hyperparameters or code is None or not frames:
        return None
    if (frames[-1].filename, frames[-1].name) != (code.co_filename, code.co_name):
        return None
    known = ", ".join(sorted(hyperparameters)) or "none"
    return MissingHyperparameterError(
        "hyperparameters",
        f"{name} uses hyperparameter {key!r}, which is not in the grid (grid keys: {known}); "
        f"add it to hyperparameters or stop using it in {name}",
    )


def _call_user(name: str, fn: Callable[..., Any], hyperparameters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """Call a user function; a KeyError on a hyperparameter name becomes an error that names it."""
    try:
        return fn(*args, **kwargs, **hyperparameters)
    except KeyError as exc:
        missing = _missing_hyperparameter(name, fn, exc, hyperparameters)
        if missing is not None:
            raise missing from exc
        raise


@attrs.frozen
class _Evaluated:
    split: str
    arrays: bytes
    metrics: dict[str, float]
    row_count: int


@functools.lru_cache(maxsize=64)
def _split_truth(splitset: SplitsetData, split: str, fold_index: int | None,
                 classes: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A split's dataset rows, true labels and their coding for the metrics, read-only.

    They never change, so each process codes them once per split instead of once per job (the splitset object is
    itself kept per process and database by :func:`_splitset`).
    """
    rows, labels = truth.split_rows_labels(splitset, split, fold_index)
    coded = predicting.true_coding(np.asarray(splitset.raw_labels(rows)), list(classes))
    coded.setflags(write=False)
    return rows, labels, coded


def evaluate_split(*, backend: plugins.Backend, analysis_type: str, fn_predict: Callable[..., Any] | None,
                   model: Any, loser: Any, splitset: Any, split: str, fold_index: int | None) -> _Evaluated:
    """Predict one split, decode the predictions to original label values and compute its metrics."""
    samples = _prepared(backend, analysis_type, splitset, split, fold_index)
    # the backend's own predict leaves the samples alone; a user's fn_predict gets a copy it may change
    classes = list(splitset.label_classes) if plugins.analysis_type(analysis_type).is_classification else []
    predictions, probabilities = predicting.predict(backend, analysis_type, fn_predict, model,
                                                    samples if fn_predict is None else _fresh(samples),
                                                    class_count=len(classes) or None)
    rows, _labels, true_codes = _split_truth(splitset, split, fold_index, tuple(classes))
    decoded = splitset.decode_labels(predicting.one_column(predictions, len(rows)), fold_index=fold_index)
    metrics = plugins.metrics(analysis_type, true_codes, predicting.predicted_coding(predictions, decoded, classes),
                              probabilities, classes)
    loss = backend.evaluate_loss(analysis_type, model, loser, samples)
    if np.isfinite(loss):
        metrics["loss"] = loss
    # the split's rows and true labels are the splitset's, the same for every run: read back by truth.complete
    blob = arrays.dumps(predictions=decoded, probabilities=probabilities,
                        classes=np.asarray(classes) if classes else None)
    return _Evaluated(split, blob, metrics, len(rows))


def _evaluation_splits(splitset: Any, fold_index: int | None, hide_test: bool) -> tuple[str | None, list[str]]:
    """(the split fn_train evaluates on, every split to predict after training)."""
    available = set(splitset.samples)
    has_validation = fold_index is not None or "validation" in available
    has_test = "test" in available and not hide_test
    evaluate = "validation" if has_validation else ("test" if has_test else None)
    splits = ["train"] + (["validation"] if has_validation else []) + (["test"] if has_test else [])
    return evaluate, splits


def train_and_evaluate(job: claims.JobContext) -> tuple[dict[str, Any], list[_Evaluated]]:
    """Everything one job computes; touches no database rows (the caller stores the result)."""
    started = time.perf_counter()
    analysis_type, library = job.analysis_type, job.library
    hyperparameters = dict(job.hyperparameters)
    backend = plugins.backend(library)
    functions = load_functions(job.algorithm_id)
    splitset = _splitset(current_url(), job.splitset_id, job.splitset_created_at)
    fold_index = job.fold_index
    backend.seed(job_seed(job.seed, job.combo_index, fold_index, job.repeat_index))

    evaluate_split_name, splits = _evaluation_splits(splitset, fold_index, job.hide_test)
    # images are stored channels first; a channels-last library (Keras) gets them, and their shape, channels last
    layout, channels_last = splitset.layout, backend.channels_last()
    samples_train = _fresh(_prepared(backend, analysis_type, splitset, "train", fold_index))
    samples_evaluate = None
    if evaluate_split_name is not None:
        samples_evaluate = _fresh(_prepared(backend, analysis_type, splitset, evaluate_split_name, fold_index))
    features_shape = library_shape(splitset.features_shape, layout, channels_last)  # a list for several inputs
    label_shape = tuple(splitset.label_shape) if splitset.label_shape is not None else None

    build_shape = contracts.build_label_shape(label_shape, analysis_type, len(splitset.label_classes))
    model = _call_user("fn_build", functions["fn_build"], hyperparameters, features_shape, build_shape)
    if model is None:
        raise errors.ExperimentError("fn_build", "fn_build returned None; return the model it builds")
    if functions["fn_lose"] is not None:
        loser = _call_user("fn_lose", functions["fn_lose"], hyperparameters)
    else:
        loser = backend.default_loss(analysis_type)
    fn_optimize = functions["fn_optimize"]
    if fn_optimize is None:
        optimizer = backend.default_optimizer(analysis_type, model)
    elif "model" in inspect.signature(fn_optimize).parameters:
        optimizer = _call_user("fn_optimize", fn_optimize, hyperparameters, model=model)
    else:
        optimizer = _call_user("fn_optimize", fn_optimize, hyperparameters)

    train_started = time.perf_counter()
    try:
        result = backend.train(analysis_type, functions["fn_train"], model, loser, optimizer, samples_train,
                               samples_evaluate, hyperparameters)
    except KeyError as exc:  # the backend calls fn_train; name a missing hyperparameter the same way
        missing = _missing_hyperparameter("fn_train", functions["fn_train"], exc, hyperparameters)
        if missing is not None:
            raise missing from exc
        raise
    seconds_train = time.perf_counter() - train_started
    model = result.model

    evaluated = [
        evaluate_split(backend=backend, analysis_type=analysis_type, fn_predict=functions["fn_predict"],
                       model=model, loser=loser, splitset=splitset, split=split, fold_index=fold_index)
        for split in splits
    ]
    predictor = {
        "model_format": library,
        "model_blob": backend.model_to_bytes(model),
        "history": {key: [float(v) for v in values] for key, values in (result.history or {}).items()},
        "features_shape": [list(shape) for shape in features_shape] if isinstance(features_shape, list)
        else list(features_shape),
        "label_shape": None if label_shape is None else list(label_shape),
        "versions": backend.versions(),
        "seconds_train": seconds_train,
        "seconds_total": time.perf_counter() - started,
    }
    return predictor, evaluated


def _store(job_id: int, worker: str, predictor: dict[str, Any], evaluated: list[_Evaluated],
           status: str = "succeeded", next_of: int | None = None,
           lease_seconds: float | None = None) -> tuple[bool, claims.JobContext | None]:
    """Write the Predictor, its Predictions and the job's end (``succeeded`` or ``pruned``) in one transaction,
    if the job is still ours; with ``next_of``, claim this worker's next job of that queue in the same one.

    Returns ``(stored, the next job's context or None)``.
    """
    predictions = [{"split": e.split, "arrays": e.arrays, "metrics": e.metrics, "row_count": e.row_count}
                   for e in evaluated]
    if next_of is not None:
        return claiming.store_and_claim_next(job_id, worker, predictor, predictions, status, next_of, lease_seconds)
    with claiming.STORAGE_TIMER.measure("store"):
        return retry.call(queries.store_trained, job_id, worker, predictor, predictions, status=status,
                          what=f"storing job {job_id}"), None


def _fail(job_id: int, worker: str, exc: BaseException) -> None:
    with claiming.STORAGE_TIMER.measure("store"):
        retry.call(queries.store_failure, job_id, worker, exc, what=f"storing the failure of job {job_id}")


@attrs.frozen
class JobOutcome:
    job_id: int
    status: str  # succeeded | pruned | failed | lost (the lease was taken over)
    error: BaseException | None = None
    #: the next job, claimed in the same transaction as this one's results (see ``run_claimed_job``'s ``next_of``)
    next_job: claims.JobContext | None = None


def run_claimed_job(job_id: int, worker: str, lease_seconds: float | None = None,
                    context: claims.JobContext | None = None, next_of: int | None = None) -> JobOutcome:
    """Run a job this worker has claimed; a failing user function fails only this job.

    Args:
        job_id: a job :func:`assay.experiment.claiming.claim_next` gave ``worker``.
        worker: the claiming worker's name; results are stored only while the job is still its own.
        lease_seconds: the lease the heartbeat keeps renewing (default ``ASSAY_LEASE_SECONDS``, else 60).
        context: the job's context as :func:`assay.experiment.claiming.claim` read it with the claim; read now
            when not given.
        next_of: a queue id: once this job succeeded, claim the worker's next job of that queue in the same
            transaction that stores this one's results (the outcome's ``next_job``; the claim loop's way).
    """
    job = context
    if job is None:
        # one short transaction for everything the job needs: under several workers each one waits its turn
        with claiming.STORAGE_TIMER.measure("load"):
            job = claims.job_context(job_id)
    backend = plugins.backend(job.library)
    # the queue's pruner (if any) hears every epoch the backend reports and may stop training early
    pruner = pruning.job_pruner(job.queue_id, job_id, job.fold_index)
    try:
        with claiming.heartbeat(job_id, worker, lease_seconds), epochs.reporting(pruner):
            predictor, evaluated = train_and_evaluate(job)
    except Exception as exc:
        if retry.is_transient(exc) or retry.disk_full(exc):
            raise  # not the job's fault: the claim loop gives it back (see workers.loop.work)
        _fail(job_id, worker, exc)
        return JobOutcome(job_id, "failed", exc)
    finally:
        backend.clear_session()
        reclaim.after_job()  # a full collection only when memory grew: after every job it costs more than a run
    status = "pruned" if pruner is not None and pruner.pruned_at is not None else "succeeded"
    stored, next_job = _store(job_id, worker, predictor, evaluated, status, next_of, lease_seconds)
    return JobOutcome(job_id, status if stored else "lost", next_job=next_job)
