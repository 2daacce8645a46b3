"""The dashboard's web application (Starlette): routes, security headers, templates and static files.

Read-only by default: the routes that write (``POST /queues/{id}/retry``, ``POST /predictors/{id}/star``) answer
403 unless the app is made with ``allow_retry=True`` (write rights), and they also need the token printed into the
page, so another site cannot post them.
Requests never name files: static assets are read into memory at start-up and looked up by exact name, images
are drawn from database rows, and a bundle is written to a fresh temporary folder.
"""

from __future__ import annotations

import csv
import gc
import inspect
import io
import secrets
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay import __version__, errors, plugins
from assay.dashboard import figures, pages, whatif
from assay.dashboard.board import BoardView
from assay.db.engine import current_url
from assay.db.queries import dashboard as queries
from assay.db.queries import experiments as experiment_queries
from assay.evaluation import importance

#: media types of the assets shipped in ``static/``
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}
#: no inline script, no other origin: every asset ships with the package
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
#: the scope key where a handler run on the thread pool leaves its thread's CPU seconds (for ``Server-Timing``)
CPU_SECONDS = "assay.cpu_seconds"


class SecurityHeaders:
    """Adds the content security policy and friends, and a ``Server-Timing`` of the time spent on the request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                            (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"server-timing", _server_timing(scope, started).encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _server_timing(scope: Scope, started: float) -> str:
    """``app``: milliseconds since the request came in; ``cpu``: CPU milliseconds of the thread that built the
    response (unlike ``app``, not lengthened by other processes on a busy machine)."""
    timing = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    cpu = scope.get(CPU_SECONDS)
    return timing if cpu is None else f"{timing}, cpu;dur={cpu * 1000:.1f}"


def _static_files() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("assay.dashboard").joinpath("static")
    return {entry.name: (entry.read_bytes(), STATIC_TYPES[Path(entry.name).suffix])
            for entry in folder.iterdir() if Path(entry.name).suffix in STATIC_TYPES}


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("assay.dashboard", "templates"),
                              autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    environment.filters["number"] = pages.number
    environment.filters["words"] = _words
    return environment


#: words of metric names written as acronyms
ACRONYMS = {"roc", "auc", "pr", "ap", "f1", "mse", "rmse", "mae", "mape", "msle", "rmsle", "r2"}


def _words(text: Any) -> str:
    """A name as words: ``balanced_accuracy`` → ``Balanced accuracy``, ``roc_auc`` → ``ROC AUC``."""
    words = [word.upper() if word.lower() in ACRONYMS else word for word in str(text).split("_")]
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


class Dashboard:
    """The routes' handlers, sharing the page builder, the figure cache and the templates."""

    def __init__(self, allow_retry: bool = False):
        self.allow_retry = allow_retry
        self.token = secrets.token_urlsafe(24)
        self.pages = pages.Pages()
        self.whatif = whatif.WhatIf()
        self.figures = figures.FigureCache()
        self.environment = _environment()
        self.static = _static_files()
        self.url = current_url()
        # What every process pays once is paid at start, not by the first visitor: compiling the templates
        # (about 100 ms), loading the plugins (analysis types, metrics, plots), and the first full garbage
        # collection, which the objects made by the imports have made due (otherwise the first page that
        # allocates much, a large leaderboard, pays about 100 ms for it).
        for name in self.environment.list_templates():
            self.environment.get_template(name)
        plugins.analysis_types()
        gc.collect()

    # -- helpers ---------------------------------------------------------------------------------------------

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        page = self.environment.get_template(template).render(
            version=__version__, database=self.url, allow_retry=self.allow_retry, token=self.token, **context)
        return HTMLResponse(page, status_code=status_code)

    def problem(self, status_code: int, message: str) -> HTMLResponse:
        return self.render("problem.html", status_code=status_code, status=status_code, message=message)

    def image(self, key: Any, draw: Any, image_format: str) -> Response:
        if image_format not in figures.MEDIA_TYPES:
            return PlainTextResponse("images are .svg or .png", status_code=404)
        try:
            data = self.figures.get(key, draw, image_format)
        except errors.NotFoundError as exc:
            return PlainTextResponse(str(exc), status_code=404)
        except errors.AssayError as exc:  # e.g. a plot that needs probabilities the model did not give
            return PlainTextResponse(str(exc), status_code=422)
        return Response(data, media_type=figures.MEDIA_TYPES[image_format],
                        headers={"cache-control": "private, max-age=3600"})

    # -- pages -----------------------------------------------------------------------------------------------

    def queues(self, request: Request) -> Response:
        return self.render("queues.html", **self.pages.queues())

    def queue(self, request: Request) -> Response:
        view = BoardView.from_query(request.query_params)
        return self.render("queue.html", **self.pages.queue(request.path_params["queue_id"], view))

    def queue_live(self, request: Request) -> Response:
        view = BoardView.from_query(request.query_params)
        summary = self.pages.queue_summary(request.path_params["queue_id"])
        return self.render("queue_live.html", **self.pages.queue_live(summary, view))

    def queue_performance(self, request: Request) -> Response:
        summary = self.pages.queue_summary(request.path_params["queue_id"])
        split, metric = request.query_params.get("split") or None, request.query_params.get("metric") or None
        key = ("performance", summary["id"], split, metric, pages.signature(summary))
        plots = _plots()
        return self.image(key, lambda: plots.plot_performance(summary["id"], split=split, metric=metric),
                          request.path_params["format"])

    def search_plot(self, request: Request) -> Response:
        """The optimisation history or the hyperparameter importance of an adaptive search."""
        from assay.evaluation import search_plots

        summary = self.pages.queue_summary(request.path_params["queue_id"])
        draw = {"search_history": search_plots.plot_search_history,
                "hyperparameter_importance": search_plots.plot_hyperparameter_importance}.get(
            request.path_params["name"])
        if draw is None:
            return PlainTextResponse("no such search plot", status_code=404)
        key = (request.path_params["name"], summary["id"], pages.signature(summary))
        return self.image(key, lambda: draw(summary["id"]), request.path_params["format"])

    async def retry(self, request: Request) -> Response:
        if not self.allow_retry:
            return self.problem(403, "this dashboard is read-only; start it with --allow-retry to retry failed jobs")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if not secrets.compare_digest(form.get("token", [""])[0], self.token):
            return self.problem(403, "the form's token does not match this dashboard; reload the page and retry")
        summary = await run_in_threadpool(self.pages.queue_summary, request.path_params["queue_id"])
        await run_in_threadpool(experiment_queries.requeue_failed_jobs, summary["id"])
        return RedirectResponse(f"/queues/{summary['id']}", status_code=303)

    async def star(self, request: Request) -> Response:
        """Star or unstar a model (AIQC 6's ``flip_star``): a write, so only with write rights and the page's token."""
        if not self.allow_retry:
            return self.problem(403, "this dashboard is read-only; start it with --allow-retry (write rights) to "
                                "star models, or call predictor.flip_star() in Python")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if not secrets.compare_digest(form.get("token", [""])[0], self.token):
            return self.problem(403, "the form's token does not match this dashboard; reload the page and retry")
        from assay.db.queries import lifecycle

        predictor_id = request.path_params["predictor_id"]
        await run_in_threadpool(lifecycle.flip_star, predictor_id)
        back = form.get("back", [""])[0]
        # only a path of this dashboard: never another site
        target = back if back.startswith("/") and not back.startswith("//") and "\\" not in back \
            else f"/predictors/{predictor_id}"
        return RedirectResponse(target, status_code=303)

    def predictor(self, request: Request) -> Response:
        split = request.query_params.get("split") or None
        page = _int(request.query_params.get("page"), 1)
        predictor_id = request.path_params["predictor_id"]
        context = self.pages.predictor(predictor_id, split, page)
        return self.render("predictor.html", **context, whatif=self.whatif.page(predictor_id, request.query_params))

    def whatif_prediction(self, request: Request) -> Response:
        """The what-if form's prediction as JSON (the page's script asks as values change); stores nothing."""
        try:
            result = self.whatif.predict(request.path_params["predictor_id"], dict(request.query_params))
        except errors.ValidationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(result)

    def learning_curve(self, request: Request) -> Response:
        summary = self.pages.predictor_summary(request.path_params["predictor_id"])
        splits = list(queries.metrics_by_split(summary["id"]))
        plots = _plots()
        return self.image(("learning_curve", summary["id"]),
                          lambda: plots.plot_learning_curve(summary["id"], summary["history"], splits),
                          request.path_params["format"])

    def prediction_plot(self, request: Request) -> Response:
        from assay.experiment.trained import Trained

        summary = self.pages.predictor_summary(request.path_params["predictor_id"])
        split, name = request.path_params["split"], request.path_params["name"]
        prediction_id = queries.prediction_ids_by_split(summary["id"]).get(split)
        if prediction_id is None or name not in plugins.plots(summary["analysis_type"]):
            return PlainTextResponse(f"no plot {name!r} of split {split!r} for predictor {summary['id']}", 404)
        plots = _plots()
        return self.image(("prediction", prediction_id, name),
                          lambda: plots.plot_prediction(Trained.load(summary["id"]).prediction(split), name),
                          request.path_params["format"])

    def importance_plot(self, request: Request) -> Response:
        summary = self.pages.predictor_summary(request.path_params["predictor_id"])
        split, count = request.path_params["split"], request.path_params["count"]
        # only what is stored: computing importance would write to the database, and the dashboard only reads
        stored = importance.shown((summary["feature_importance"] or {}).get(split) or {}, count)
        if stored is None:
            return PlainTextResponse(f"no stored feature importance of split {split!r} with {count} permutations",
                                     404)
        size, plots = stored[1], _plots()
        return self.image(("importance", summary["id"], split, count, size),
                          lambda: plots.plot_feature_importance(summary["id"], split=split, permutation_count=count,
                                                                sample_rows=size),
                          request.path_params["format"])

    def predictions_csv(self, request: Request) -> Response:
        summary = self.pages.predictor_summary(request.path_params["predictor_id"])
        frame = pages.predictions_frame(summary["id"], request.path_params["split"])
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, quoting=csv.QUOTE_NONNUMERIC)
        name = f"predictor-{summary['id']}-{request.path_params['split']}.csv"
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{_safe_name(name)}"'})

    def bundle(self, request: Request) -> Response:
        from assay.inference import export as bundle

        summary = self.pages.predictor_summary(request.path_params["predictor_id"])
        name = f"predictor-{summary['id']}.assay"
        with tempfile.TemporaryDirectory(prefix="assay-dashboard-") as folder:
            try:
                path = bundle.export(summary["id"], str(Path(folder) / name))
            except errors.AssayError as exc:
                return self.problem(409, f"predictor {summary['id']} cannot be bundled: {exc}")
            data = Path(path).read_bytes()
        return Response(data, media_type="application/zip",
                        headers={"content-disposition": f'attachment; filename="{name}"'})

    def ensemble(self, request: Request) -> Response:
        from assay.dashboard import ensembles

        return self.render("ensemble.html", **ensembles.ensemble_page(request.path_params["ensemble_id"]))

    def ensemble_curve(self, request: Request) -> Response:
        from assay.evaluation import ensemble_report

        ensemble_id = request.path_params["ensemble_id"]
        return self.image(("ensemble_curve", ensemble_id), lambda: ensemble_report.plot_selection_curve(ensemble_id),
                          request.path_params["format"])

    def ensemble_bundle(self, request: Request) -> Response:
        from assay.db.models import EnsembleRow
        from assay.db.queries import data as data_queries
        from assay.inference import ensemble_export

        row = data_queries.row(EnsembleRow, request.path_params["ensemble_id"], "Ensemble")
        name = f"ensemble-{row.id}.assay"
        with tempfile.TemporaryDirectory(prefix="assay-dashboard-") as folder:
            try:
                weights, combos = ensemble_export.member_rows_of(row.id)
                path = ensemble_export.export(row, weights, combos, str(Path(folder) / name))
            except errors.AssayError as exc:
                return self.problem(409, f"ensemble {row.id} cannot be bundled: {exc}")
            data = Path(path).read_bytes()
        return Response(data, media_type="application/zip",
                        headers={"content-disposition": f'attachment; filename="{name}"'})

    def compare(self, request: Request) -> Response:
        raw = ",".join(request.query_params.getlist("ids") + request.query_params.getlist("id"))
        try:
            ids = [int(part) for part in raw.replace(" ", "").split(",") if part]
        except ValueError:
            return self.problem(400, f"ids must be predictor numbers separated by commas, e.g. 1,2; got {raw!r}")
        return self.render("compare.html", **self.pages.compare(ids))

    def splitset(self, request: Request) -> Response:
        return self.render("splitset.html", **self.pages.splitset(request.path_params["splitset_id"]))

    # -- JSON for live pages ---------------------------------------------------------------------------------

    def progress(self, request: Request) -> Response:
        """``{queue_id: {counts, total, finished, percent, active, signature}}`` of the queues asked for (or all)."""
        raw = request.query_params.get("ids")
        ids = [int(part) for part in raw.split(",") if part.strip().isdigit()] if raw else None
        counts = queries.job_counts_by_queue(ids)
        finished = queries.last_finished_by_queue(ids)
        return JSONResponse({str(queue_id): {**pages.progress(per), "signature": pages.signature(
            {"counts": per, "last_finished_at": finished.get(queue_id)})} for queue_id, per in counts.items()},
            headers={"cache-control": "no-store"})

    def static_file(self, request: Request) -> Response:
        found = self.static.get(request.path_params["name"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(found[0], media_type=found[1], headers={"cache-control": "public, max-age=600"})


def _plots() -> Any:
    """:mod:`assay.evaluation.plots`, imported when the first image is drawn: matplotlib holds about 26 MB, which a
    dashboard whose visitors open no plot need not pay."""
    from assay.evaluation import plots

    return plots


def _safe_name(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in name)


def _cpu_timed(handler: Any, request: Request) -> Response:
    started = time.thread_time()
    try:
        return handler(request)
    finally:
        request.scope[CPU_SECONDS] = time.thread_time() - started


def create_app(allow_retry: bool = False, allowed_hosts: list[str] | None = None) -> Starlette:
    """The dashboard as an ASGI application over the database :func:`assay.setup` chose.

    Args:
        allow_retry: add the one route that writes: re-queueing a queue's failed jobs.
        allowed_hosts: ``Host`` header values accepted (default: the local addresses), so a web page on
            another site cannot reach the dashboard through DNS rebinding.
    """
    dashboard = Dashboard(allow_retry=allow_retry)

    def handled(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                if inspect.iscoroutinefunction(handler):
                    return await handler(request)
                # database reads and matplotlib block: run them on the thread pool, not the event loop
                return await run_in_threadpool(_cpu_timed, handler, request)
            except errors.NotFoundError as exc:
                return dashboard.problem(404, str(exc))
            except errors.ValidationError as exc:
                return dashboard.problem(400, str(exc))

        return endpoint

    routes = [
        Route("/", handled(dashboard.queues)),
        Route("/queues/{queue_id:int}", handled(dashboard.queue)),
        Route("/queues/{queue_id:int}/live", handled(dashboard.queue_live)),
        Route("/queues/{queue_id:int}/performance.{format}", handled(dashboard.queue_performance)),
        Route("/queues/{queue_id:int}/search/{name}.{format}", handled(dashboard.search_plot)),
        Route("/queues/{queue_id:int}/retry", handled(dashboard.retry), methods=["POST"]),
        Route("/predictors/{predictor_id:int}", handled(dashboard.predictor)),
        Route("/predictors/{predictor_id:int}/star", handled(dashboard.star), methods=["POST"]),
        Route("/predictors/{predictor_id:int}/whatif", handled(dashboard.whatif_prediction)),
        Route("/predictors/{predictor_id:int}/learning_curve.{format}", handled(dashboard.learning_curve)),
        Route("/predictors/{predictor_id:int}/plots/{split}/{name}.{format}", handled(dashboard.prediction_plot)),
        Route("/predictors/{predictor_id:int}/importance/{split}/{count:int}.{format}",
              handled(dashboard.importance_plot)),
        Route("/predictors/{predictor_id:int}/predictions/{split}.csv", handled(dashboard.predictions_csv)),
        Route("/predictors/{predictor_id:int}/bundle", handled(dashboard.bundle)),
        Route("/ensembles/{ensemble_id:int}", handled(dashboard.ensemble)),
        Route("/ensembles/{ensemble_id:int}/curve.{format}", handled(dashboard.ensemble_curve)),
        Route("/ensembles/{ensemble_id:int}/bundle", handled(dashboard.ensemble_bundle)),
        Route("/compare", handled(dashboard.compare)),
        Route("/splitsets/{splitset_id:int}", handled(dashboard.splitset)),
        Route("/api/progress", handled(dashboard.progress)),
        Route("/static/{name}", handled(dashboard.static_file)),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOCAL_HOSTS),
                  Middleware(SecurityHeaders)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.dashboard = dashboard
    return app
