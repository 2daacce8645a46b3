"""A queue exported to MLflow: one parent run per queue, one nested child run per trained model (and ensemble).

``queue.to_mlflow()`` and ``assay export-mlflow QUEUE`` call :func:`export_queue`. What each run holds:

=====================  =======================================================================================
run                    content
=====================  =======================================================================================
the queue (parent)     tags ``assay.version``, ``assay.queue_id``, ``assay.splitset_id``, ``assay.library``,
                       ``assay.analysis_type``, ``assay.database`` (the URL without its password); params
                       ``repeat_count``, ``hide_test``, ``seed``, ``search``; metrics ``jobs_*`` (job counts)
a predictor (child)    tag ``assay.predictor_id``; params: its hyperparameters, ``fold`` (with folds),
                       ``repeat``; metrics ``<split>_<metric>`` (``validation_accuracy``); the learning curve
                       under the history's own names (``loss``, ``val_loss``) with the epoch (from 1) as step;
                       artifacts ``plots/*.png`` and ``bundle/predictor<id>.assay``; the model, logged with
                       its library's MLflow flavour (:mod:`assay.inference.mlflow_models`), at ``model``
an ensemble (child)    tag ``assay.ensemble_id``; params: its method and settings; metrics per split; its
                       selection curve as a step metric; its members (JSON) and bundle as artifacts
=====================  =======================================================================================

Exporting again finds the runs by their tags (the parent by queue id and database, each child by its assay id)
and adds only what they lack: new predictors get new runs, an interrupted export's runs are completed, a
metric whose stored value changed is logged again, nothing is duplicated. The run data of a new run goes in one
``MlflowClient.log_batch`` (several when it exceeds MLflow's batch limits).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from assay import __version__, errors, plugins
from assay.db import engine as db_engine
from assay.db.queries import experiments as experiment_queries
from assay.db.queries import exports as queries
from assay.evaluation import importance, plots
from assay.experiment.trained import Trained
from assay.inference import bundle, mlflow_models

INSTALL_HINT = "pip install 'assay[mlflow]' (or pip install mlflow)"
#: the experiment used when neither ``experiment_name`` nor ``MLFLOW_EXPERIMENT_NAME`` names one
DEFAULT_EXPERIMENT = "assay"

KIND_TAG = "assay.kind"
QUEUE_TAG = "assay.queue_id"
DATABASE_TAG = "assay.database"
QUEUE_CREATED_TAG = "assay.queue_created_at"
PREDICTOR_TAG = "assay.predictor_id"
ENSEMBLE_TAG = "assay.ensemble_id"
#: set once a run's plots and bundle are logged
ARTIFACTS_TAG = "assay.artifacts"
#: set once a run's model is logged: its ``models:/`` URI, or why it has none
MODEL_TAG = "assay.model"
PARENT_TAG = "mlflow.parentRunId"

# MLflow's limits (mlflow.utils.validation), kept here so a batch is split the same way on every version
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
_INVALID_NAME = re.compile(r"[^/\w.\- :]")


def require_mlflow() -> ModuleType:
    """The ``mlflow`` module.

    Raises:
        assay.errors.ConfigurationError: mlflow is not installed; the message says what to install.
    """
    try:
        import mlflow
        from mlflow import MlflowClient  # noqa: F401 - a broken install fails here, not halfway through an export
    except ImportError as exc:
        raise errors.ConfigurationError(
            f"exporting to MLflow needs the mlflow package, which is not installed ({exc}): {INSTALL_HINT}"
        ) from exc
    return mlflow


def database_url(url: str | None) -> str:
    """The database URL with its password removed (not masked: a tag is for reading, not for connecting)."""
    from sqlalchemy.engine import URL, make_url

    if url is None:
        return ""
    parsed = make_url(url)
    if parsed.password is None:
        return str(url)
    return URL.create(parsed.drivername, username=parsed.username, host=parsed.host, port=parsed.port,
                      database=parsed.database, query=parsed.query).render_as_string(hide_password=False)


@attrs.frozen
class ExportSummary:
    """What :func:`export_queue` wrote: where, the parent run, and each model's run.

    ``predictor_runs`` maps predictor id to run id (``ensemble_runs`` ensemble id to run id); ``created`` and
    ``updated`` count the child runs this export made and those it added something to (the rest were complete).
    """

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    parent_run_id: str
    predictor_runs: dict[int, str]
    ensemble_runs: dict[int, str]
    created: int
    updated: int

    def __str__(self) -> str:
        unchanged = len(self.predictor_runs) + len(self.ensemble_runs) - self.created - self.updated
        ensembles = f" and {len(self.ensemble_runs)} ensembles" if self.ensemble_runs else ""
        return (f"exported {len(self.predictor_runs)} predictors{ensembles} to MLflow experiment "
                f"{self.experiment_name!r} ({self.experiment_id}) at {self.tracking_uri}: parent run "
                f"{self.parent_run_id}, {self.created} runs new, {self.updated} updated, {unchanged} already complete")


@attrs.frozen
class ChildRun:
    """Everything one child run holds, independent of where it came from (a predictor or an ensemble)."""

    tag: str  # PREDICTOR_TAG or ENSEMBLE_TAG
    assay_id: int
    name: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    curves: dict[str, list[float]]  # per-step values, step 1 first
    start_ms: int
    end_ms: int
    write_artifacts: Callable[[Path], list[str]] | None = None  # writes into a folder; returns what it skipped
    log_model: Callable[[str], str] | None = None  # run id -> the MODEL_TAG value


# --------------------------------------------------------------------------------------------------------------
# values as MLflow takes them
# --------------------------------------------------------------------------------------------------------------


def metric_name(name: str) -> str:
    """A name MLflow accepts as a metric or param key (letters, digits, ``_ - . / :`` and spaces)."""
    return _INVALID_NAME.sub("_", str(name))


def param_value(value: Any) -> str:
    """A param's text: scalars as Python writes them, containers as JSON, cut at MLflow's length limit."""
    text = value if isinstance(value, str) else (
        str(value) if value is None or isinstance(value, (bool, int, float)) else json.dumps(value, default=str))
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 1] + "…"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


def _milliseconds(moment: dt.datetime | None) -> int:
    if moment is None:
        return int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; assay stores UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def split_metrics(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{split: {metric: value}}`` as MLflow metrics ``<split>_<metric>``; values that are not numbers left out."""
    flat = {}
    for split, values in metrics.items():
        if not isinstance(values, Mapping):
            continue  # not a split's metrics (an ensemble's attribute of another shape)
        for name, value in values.items():
            number = _number(value)
            if number is not None:
                flat[metric_name(f"{split}_{name}")] = number
    return flat


def learning_curves(history: dict[str, list[float]], taken: Iterable[str]) -> dict[str, list[float]]:
    """The per-epoch history under its own names (``loss``, ``val_loss``); a name that is already a split metric
    (a history key ``train_loss``) gets the prefix ``history_``."""
    taken = set(taken)
    curves = {}
    for key, values in (history or {}).items():
        name = metric_name(key)
        if name in taken:
            name = f"history_{name}"
        curves[name] = [value for value in (_number(item) for item in values or []) if value is not None]
    return {name: values for name, values in curves.items() if values}


def _same(stored: float | None, value: float) -> bool:
    """Whether MLflow already holds ``value`` (NaN equals NaN; MLflow's SQL store keeps ±inf as ±max float)."""
    if stored is None:
        return False
    if math.isnan(value) or math.isnan(stored):
        return math.isnan(value) and math.isnan(stored)
    if math.isinf(value):
        return stored == value or (abs(stored) >= sys.float_info.max and (stored > 0) == (value > 0))
    return stored == value or math.isclose(stored, value, rel_tol=1e-12, abs_tol=0.0)


# --------------------------------------------------------------------------------------------------------------
# the child runs: predictors and ensembles
# --------------------------------------------------------------------------------------------------------------


def _figure_png(figure: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100, facecolor="white")


def predictor_plots(predictor_id: int, history: dict[str, list[float]], folder: Path) -> list[str]:
    """Draw a predictor's plots into ``folder`` as PNG: the learning curve, the analysis type's plots of each
    split and the feature importance already stored (never computed here). Returns the plots it could not draw,
    each with why (a plugin's plot may fail on data it did not expect; the others are still worth having)."""
    trained = Trained.load(predictor_id)
    splits = trained.evaluated_splits()
    skipped = []

    def draw(name: str, make: Callable[[], Any]) -> None:
        try:
            _figure_png(make(), folder / f"{name}.png")
        except Exception as exc:  # any failure of a plugin's plot (see the docstring)
            skipped.append(f"{name}: {type(exc).__name__}: {exc}")

    if history:
        draw("learning_curve", lambda: plots.plot_learning_curve(predictor_id, history, splits))
    registered = plugins.plots(trained.algorithm.analysis_type)
    stored_importance = experiment_queries.feature_importance(predictor_id)
    for split in splits:
        prediction = trained.prediction(split)
        for name in registered:
            draw(f"{split}_{name}", lambda name=name, prediction=prediction: plots.plot_prediction(prediction, name))
        shown = importance.shown(stored_importance.get(split) or {})
        if shown is not None:
            draw(f"{split}_feature_importance", lambda split=split, shown=shown: plots.plot_feature_importance(
                predictor_id, split=split, permutation_count=shown[0], sample_rows=shown[1]))
    return skipped


def predictor_run(summary: queries.PredictorSummary, queue: queries.QueueSummary,
                  export_bundle: Callable[[int, str], Any], examples: mlflow_models.Examples,
                  log_model: Callable[..., str]) -> ChildRun:
    """A trained model as a child run (see the module table)."""
    params = {metric_name(name): param_value(value) for name, value in summary.hyperparameters.items()}
    own = {"fold": summary.fold_index, "repeat": summary.repeat_index}
    for name, value in own.items():
        if value is not None:
            # a hyperparameter already named "fold" or "repeat" keeps its name; assay's own then get a prefix
            params["assay." + name if name in params else name] = param_value(value)
    metrics = split_metrics(summary.metrics)
    end_ms = _milliseconds(summary.created_at)

    def write_artifacts(folder: Path) -> list[str]:
        skipped = predictor_plots(summary.id, summary.history, folder / "plots")
        (folder / "bundle").mkdir(parents=True, exist_ok=True)
        export_bundle(summary.id, str(folder / "bundle" / f"predictor{summary.id}.assay"))
        return skipped

    fold = "" if summary.fold_index is None else f", fold {summary.fold_index}"
    return ChildRun(
        tag=PREDICTOR_TAG, assay_id=summary.id,
        name=f"predictor {summary.id} (run {summary.run_index}{fold}, repeat {summary.repeat_index})",
        tags={KIND_TAG: "predictor", QUEUE_TAG: str(queue.id), "assay.job_id": str(summary.job_id),
              "assay.run_index": str(summary.run_index), "assay.job_status": summary.status},
        params=params, metrics=metrics, curves=learning_curves(summary.history, metrics),
        start_ms=end_ms - int(1000 * (summary.seconds_total or 0)), end_ms=end_ms,
        write_artifacts=write_artifacts,
        log_model=lambda run_id: log_model(run_id, summary.id, queue.library, summary.versions, examples,
                                           summary.fold_index),
    )


def ensemble_run(ensemble: Any, queue: queries.QueueSummary) -> ChildRun:
    """An ensemble (``queue.ensembles``) as a child run: read through its public attributes, each optional, so
    this follows what an ensemble offers (``id``, ``metrics`` per split, ``members`` ``{predictor_id: weight}``,
    its selection settings and ``curve``, ``export(path)``)."""
    settings = {name: getattr(ensemble, name, None) for name in
                ("method", "size", "candidate_count", "metric", "split", "best_iteration", "out_of_fold")}
    params = {name: param_value(value) for name, value in settings.items() if value is not None}
    metrics = split_metrics(dict(getattr(ensemble, "metrics", None) or {}))
    curve = [value for value in (_number(item) for item in getattr(ensemble, "curve", None) or []) if
             value is not None]
    selection = metric_name(f"selection_{settings['metric'] or 'score'}")
    members = {int(key): float(weight) for key, weight in dict(getattr(ensemble, "members", None) or {}).items()}
    notes = dict(getattr(ensemble, "notes", None) or {})
    end_ms = _milliseconds(getattr(ensemble, "created_at", None))

    def write_artifacts(folder: Path) -> list[str]:
        (folder / "members.json").write_text(json.dumps({str(key): value for key, value in members.items()}))
        skipped = []
        plot = getattr(ensemble, "plot_selection_curve", None)
        if plot is not None and curve:
            try:
                _figure_png(plot(), folder / "plots" / "selection_curve.png")
            except Exception as exc:  # a plot that fails leaves the rest worth having (see predictor_plots)
                skipped.append(f"selection_curve: {type(exc).__name__}: {exc}")
        export = getattr(ensemble, "export", None)
        if export is None:
            return [*skipped, "bundle: this ensemble has no export()"]
        (folder / "bundle").mkdir(parents=True, exist_ok=True)
        export(str(folder / "bundle" / f"ensemble{ensemble.id}.assay"))
        return skipped

    return ChildRun(
        tag=ENSEMBLE_TAG, assay_id=int(ensemble.id), name=f"ensemble {ensemble.id}",
        tags={KIND_TAG: "ensemble", QUEUE_TAG: str(queue.id), "assay.members": param_value(sorted(members)),
              # why some split's numbers are optimistic (e.g. the in-sample train split of fold models)
              **({"assay.notes": param_value(notes)} if notes else {})},
        params={**params, "member_count": str(len(members))}, metrics=metrics,
        curves={selection: curve} if curve else {}, start_ms=end_ms, end_ms=end_ms,
        write_artifacts=write_artifacts,
    )


# --------------------------------------------------------------------------------------------------------------
# writing runs
# --------------------------------------------------------------------------------------------------------------


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Writer:
    """Creates or completes runs in one experiment through one ``MlflowClient``."""

    def __init__(self, mlflow: ModuleType, client: Any, experiment_id: str, artifacts: bool, models: bool) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.mlflow, self.client, self.experiment_id = mlflow, client, experiment_id
        self.artifacts, self.models = artifacts, models
        self._metric, self._param, self._tag = Metric, Param, RunTag

    def search(self, filter_string: str) -> list[Any]:
        """Every run of the experiment matching ``filter_string``, page by page."""
        runs, token = [], None
        while True:
            page = self.client.search_runs([self.experiment_id], filter_string=filter_string, max_results=1000,
                                           page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def log(self, run_id: str, metrics: list[Any], params: list[Any], tags: list[Any]) -> None:
        """``log_batch`` in as few calls as MLflow's limits allow (params and tags ride with the first)."""
        metric_chunks = list(_chunks(metrics, MAX_METRICS_PER_BATCH - MAX_PARAMS_PER_BATCH - MAX_TAGS_PER_BATCH))
        param_chunks = list(_chunks(params, MAX_PARAMS_PER_BATCH))
        tag_chunks = list(_chunks(tags, MAX_TAGS_PER_BATCH))
        for i in range(max(len(metric_chunks), len(param_chunks), len(tag_chunks))):
            self.client.log_batch(run_id, metrics=metric_chunks[i] if i < len(metric_chunks) else [],
                                  params=param_chunks[i] if i < len(param_chunks) else [],
                                  tags=tag_chunks[i] if i < len(tag_chunks) else [])

    def write(self, entry: ChildRun, parent_id: str, run: Any | None) -> tuple[str, bool]:
        """Create ``entry``'s run under the parent (``run is None``) or add what ``run`` lacks; returns the run id
        and whether anything was written. A failure marks the run FAILED, so the next export completes it."""
        if run is None:
            run = self.client.create_run(
                self.experiment_id, start_time=entry.start_ms, run_name=entry.name,
                tags={**entry.tags, PARENT_TAG: parent_id, entry.tag: str(entry.assay_id)})
        run_id, data = run.info.run_id, run.data
        known_params, known_metrics, known_tags = dict(data.params), dict(data.metrics), dict(data.tags)
        params = [self._param(key, value) for key, value in entry.params.items() if key not in known_params]
        metrics = [self._metric(key, value, entry.end_ms, 0) for key, value in entry.metrics.items()
                   if not _same(known_metrics.get(key), value)]
        for key, values in entry.curves.items():
            if key not in known_metrics:
                metrics.extend(self._metric(key, value, entry.end_ms, step) for step, value in enumerate(values, 1))
        tags = [self._tag(key, value) for key, value in entry.tags.items() if known_tags.get(key) != value]
        todo_artifacts = self.artifacts and entry.write_artifacts is not None and ARTIFACTS_TAG not in known_tags
        todo_model = self.models and entry.log_model is not None and MODEL_TAG not in known_tags
        finish = run.info.status != "FINISHED"
        if not (params or metrics or tags or todo_artifacts or todo_model or finish):
            return run_id, False
        try:
            self.log(run_id, metrics, params, tags)
            if todo_artifacts:
                with tempfile.TemporaryDirectory(prefix="assay-mlflow-") as folder:
                    skipped = entry.write_artifacts(Path(folder))
                    self.client.log_artifacts(run_id, folder)
                done = "logged" + (f"; not drawn: {' | '.join(skipped)}" if skipped else "")
                self.client.set_tag(run_id, ARTIFACTS_TAG, done[:MAX_TAG_LENGTH])
            if todo_model:
                self.client.set_tag(run_id, MODEL_TAG, entry.log_model(run_id)[:MAX_TAG_LENGTH])
        except BaseException:
            self.client.set_terminated(run_id, "FAILED")
            raise
        if finish or todo_artifacts or todo_model:
            self.client.set_terminated(run_id, "FINISHED", end_time=max(entry.end_ms, entry.start_ms))
        return run_id, True


def _experiment(client: Any, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name)
    if experiment.lifecycle_stage == "deleted":
        raise errors.ValidationError(
            "experiment_name", f"the MLflow experiment {name!r} is deleted; restore it (mlflow experiments "
            "restore) or choose another name")
    return experiment.experiment_id


def _client(mlflow: ModuleType, uri: str) -> Any:
    """An ``MlflowClient`` for ``uri``, its store opened now, so a bad URI fails before anything is written."""
    from mlflow.exceptions import MlflowException

    try:
        client = mlflow.MlflowClient(uri)
        client.search_experiments(max_results=1)
    except MlflowException as exc:
        raise errors.ValidationError("tracking_uri", f"MLflow cannot use {uri!r}: {exc.message}") from exc
    return client


def _parent(writer: _Writer, queue: queries.QueueSummary, database: str) -> tuple[Any, dict[str, str]]:
    """The queue's parent run (found by queue id, database and creation time), or ``None``; and its tags."""
    tags = {KIND_TAG: "queue", QUEUE_TAG: str(queue.id), DATABASE_TAG: database,
            QUEUE_CREATED_TAG: "" if queue.created_at is None else queue.created_at.isoformat(),
            "assay.version": __version__, "assay.splitset_id": str(queue.splitset_id),
            "assay.library": queue.library, "assay.analysis_type": queue.analysis_type}
    found = [run for run in writer.search(f"tags.`{QUEUE_TAG}` = '{queue.id}'")
             if all(run.data.tags.get(key) == tags[key] for key in (KIND_TAG, DATABASE_TAG, QUEUE_CREATED_TAG))]
    return (min(found, key=lambda run: run.info.start_time) if found else None), tags


def export_queue(queue_id: int, tracking_uri: str | None = None, experiment_name: str | None = None, *,
                 artifacts: bool = True, models: bool = True, ensembles: Sequence[Any] = (),
                 export_bundle: Callable[[int, str], Any] | None = None, progress: bool = False) -> ExportSummary:
    """Write queue ``queue_id`` to MLflow, or complete what an earlier export wrote (see the module docstring).

    Args:
        queue_id: the queue.
        tracking_uri: where to write (``sqlite:///mlflow.db``, ``http://host:5000``, ``file:///path/mlruns``);
            default: MLflow's own (``mlflow.set_tracking_uri``, ``MLFLOW_TRACKING_URI``, else its default).
        experiment_name: the MLflow experiment, made if missing; default ``MLFLOW_EXPERIMENT_NAME``, else
            ``"assay"``.
        artifacts: log each run's plots and bundle (a second or so per model: its plots are drawn).
        models: log each model with its library's MLflow flavour (about a second per model).
        ensembles: the queue's ensembles (``queue.ensembles``), each exported as a run of its own.
        export_bundle: writes predictor ``id``'s bundle to a path (default :func:`assay.inference.bundle.export`).
        progress: show a progress bar over the runs.

    Returns:
        An :class:`ExportSummary`.

    Raises:
        assay.errors.ConfigurationError: mlflow is not installed.
        assay.errors.ValidationError: MLflow cannot use ``tracking_uri``, or the experiment is deleted; nothing
            is written then.
        assay.errors.NotFoundError: there is no queue ``queue_id``.
    """
    mlflow = require_mlflow()
    with mlflow_models.quiet_mlflow():
        return _export(mlflow, queue_id, tracking_uri, experiment_name, artifacts=artifacts, models=models,
                       ensembles=ensembles, export_bundle=export_bundle, progress=progress)


def _export(mlflow: ModuleType, queue_id: int, tracking_uri: str | None, experiment_name: str | None, *,
            artifacts: bool, models: bool, ensembles: Sequence[Any], export_bundle: Callable[[int, str], Any] | None,
            progress: bool) -> ExportSummary:
    from sqlalchemy.exc import NoResultFound

    try:
        queue = queries.queue_summary(queue_id)
    except NoResultFound:
        raise errors.NotFoundError(f"no queue {queue_id} in {db_engine.current_url()}") from None
    uri = tracking_uri or mlflow.get_tracking_uri()
    name = experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    client = _client(mlflow, uri)
    experiment_id = _experiment(client, name)
    writer = _Writer(mlflow, client, experiment_id, artifacts=artifacts, models=models)

    parent, parent_tags = _parent(writer, queue, database_url(db_engine.current_url()))
    summaries = queries.predictor_summaries(queue_id)
    if parent is None:
        first = min((summary.created_at for summary in summaries if summary.created_at), default=queue.created_at)
        parent = client.create_run(experiment_id, start_time=_milliseconds(first), tags=parent_tags,
                                   run_name=f"assay queue {queue.id}")
    parent_id = parent.info.run_id
    _update_parent(writer, parent, parent_tags, queue)

    existing: dict[tuple[str, str], Any] = {}
    for run in writer.search(f"tags.{PARENT_TAG} = '{parent_id}'"):
        for tag in (PREDICTOR_TAG, ENSEMBLE_TAG):
            if tag in run.data.tags:
                existing.setdefault((tag, run.data.tags[tag]), run)

    examples = mlflow_models.Examples(queue.splitset_id, queue.library)

    def log_model(run_id: str, *args: Any) -> str:
        return mlflow_models.log_model(mlflow, client, uri, experiment_id, run_id, *args)

    entries = [predictor_run(summary, queue, export_bundle or bundle.export, examples, log_model)
               for summary in summaries]
    entries += [ensemble_run(ensemble, queue) for ensemble in ensembles]
    if progress:
        from tqdm.auto import tqdm

        entries = tqdm(entries, desc=f"MLflow export of queue {queue.id}", unit="run")
    created = updated = 0
    runs: dict[str, dict[int, str]] = {PREDICTOR_TAG: {}, ENSEMBLE_TAG: {}}
    for entry in entries:
        run = existing.get((entry.tag, str(entry.assay_id)))
        run_id, changed = writer.write(entry, parent_id, run)
        created += run is None
        updated += changed and run is not None
        runs[entry.tag][entry.assay_id] = run_id
    client.set_terminated(parent_id, "FINISHED")
    return ExportSummary(tracking_uri=uri, experiment_id=experiment_id, experiment_name=name, parent_run_id=parent_id,
                         predictor_runs=runs[PREDICTOR_TAG], ensemble_runs=runs[ENSEMBLE_TAG], created=created,
                         updated=updated)


def _update_parent(writer: _Writer, parent: Any, tags: dict[str, str], queue: queries.QueueSummary) -> None:
    """The parent's tags, its queue settings (params, written once) and the job counts now (metrics)."""
    status = experiment_queries.queue_status(queue.id)
    counts = {f"jobs_{state}": float(status.get(state, 0)) for state in
              ("succeeded", "failed", "pruned", "queued", "running")}
    counts["jobs_total"] = float(status.get("total", 0))
    settings = {"repeat_count": queue.repeat_count, "hide_test": queue.hide_test, "seed": queue.seed,
                "search": queue.search}
    data = parent.data
    now = _milliseconds(None)
    writer.log(
        parent.info.run_id,
        metrics=[writer._metric(key, value, now, 0) for key, value in counts.items()
                 if not _same(data.metrics.get(key), value)],
        params=[writer._param(key, param_value(value)) for key, value in settings.items()
                if value is not None and key not in data.params],
        tags=[writer._tag(key, value) for key, value in tags.items() if data.tags.get(key) != value],
    )
