"""The Starlette application of ``assay serve``: one loaded bundle behind four routes.

* ``POST /predict``: the body (see :mod:`~assay.inference.serve.requests`) is checked, then predicted;
  the answer is ``{"predictions": [{...}, ...]}``, one object per row with ``bundle.predict``'s columns (the
  prediction, ``probability_<class>`` per class, and conformal sets or intervals when the model carries them).
  A body that is not JSON or CSV answers 400, one that does not fit the model 422, one over the size limit 413,
  each as ``{"error": ..., "field": ...}``; nothing unchecked reaches the model, and no answer carries a traceback.
* ``GET /schema``: what the model takes and answers. ``GET /health``: ``{"status": "ok", ...}``.
* ``GET /metrics``: request counts and latencies in Prometheus' text format (per worker process).

Each answered prediction carries ``Server-Timing: app;dur=<ms>, predict;dur=<ms>``: the whole handling and the
``bundle.predict`` call within it.

Predictions run one at a time per process (models are not all thread-safe): a request of a few rows on the event
loop (a thread hop would cost more than its prediction), a larger one in a worker thread, so the event loop keeps
reading requests meanwhile; ``--workers N`` runs N processes for N predictions at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from assay import errors
from assay.inference.bundle import Bundle, load_bundle
from assay.inference.serve import requests
from assay.inference.serve.metrics import Metrics

#: default largest request body, in bytes
MAX_BODY = 10 * 1024 * 1024
#: requests of at most this many rows predict on the event loop; larger ones in a worker thread, so the loop
#: keeps accepting requests (and answering /health) while they run
INLINE_ROWS = 16
#: environment variables that pass ``assay serve``'s options to each worker process
ENV_BUNDLE, ENV_TRUST, ENV_MAX_BODY = "ASSAY_SERVE_BUNDLE", "ASSAY_SERVE_TRUST", "ASSAY_SERVE_MAX_BODY"

log = logging.getLogger("assay.serve")


class _TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes (whatever Content-Length claims)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


def schema_of(bundle: Bundle) -> dict[str, Any]:
    """What ``GET /schema`` answers: the model, its inputs and the fields of each prediction."""
    manifest = bundle.manifest
    fields = ["prediction", *(f"probability_{value}" for value in bundle.classes)]
    described: dict[str, Any] = {
        "library": bundle.library, "analysis_type": bundle.analysis_type, "classes": bundle.classes,
        "label_column": bundle.label_column, "response": {"predictions": [dict.fromkeys(fields, "...")]},
    }
    if manifest.inputs is not None:
        described["request"] = {"inputs": {one.name: ("rows" if one.kind == "tabular" else one.kind)
                                           for one in manifest.inputs}}
        described["inputs"] = [
            {"name": one.name, "kind": one.kind,
             **({"columns": one.schema.feature_columns, "dtypes": one.schema.feature_dtypes} if one.schema else {}),
             **({"sample_shape": one.arrays.sample_shape} if one.arrays else {})}
            for one in manifest.inputs]
    elif manifest.arrays is not None:
        key = "samples" if manifest.arrays.kind == "sequence" else "images"
        described["request"] = {key: "[...]"}
        described["inputs"] = [{"name": key, "kind": manifest.arrays.kind,
                                "sample_shape": manifest.arrays.sample_shape}]
    else:
        described["request"] = {"rows": [dict.fromkeys(bundle.feature_columns, "...")]}
        described["inputs"] = [{"name": "rows", "kind": "tabular", "columns": bundle.feature_columns,
                                "dtypes": bundle.feature_dtypes}]
    return described


def create_app(bundle: Bundle, max_body: int = MAX_BODY) -> Starlette:
    """The application serving ``bundle`` (loaded now: a bundle that cannot load fails here, not at a request).

    Args:
        bundle: a bundle from :func:`assay.load_bundle` (with ``trust=True`` if it needs trust).
        max_body: the largest request body in bytes; a larger one answers 413.
    """
    bundle.load()
    metrics = Metrics()
    lock = threading.Lock()
    schema = schema_of(bundle)

    def predict_rows(data: Any) -> tuple[bytes, float]:
        with lock:
            started = time.perf_counter()
            frame = bundle.predict(data)
            seconds = time.perf_counter() - started
        return b'{"predictions":' + frame.reset_index(drop=True).to_json(orient="records").encode() + b"}", seconds

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        rows = 0
        try:
            body = await _body(request, max_body)
            data, rows = requests.model_input(bundle, request.headers.get("content-type", ""), body)
            if rows <= INLINE_ROWS:  # a few rows predict faster than a thread hop takes
                content, predicting = predict_rows(data)
            else:
                content, predicting = await anyio.to_thread.run_sync(predict_rows, data)
            response: Response = Response(content, media_type="application/json")
            # the split a client needs to tell the server's overhead from the model's time (benchmarks/serve.py)
            response.headers["server-timing"] = (f"app;dur={(time.perf_counter() - started) * 1e3:.3f}, "
                                                 f"predict;dur={predicting * 1e3:.3f}")
        except _TooLarge:
            response = _refusal(413, "body", f"is larger than {max_body} bytes; send fewer rows per request "
                                "(or start assay serve with a larger --max-body)")
        except requests.RequestError as exc:
            response = _refusal(exc.status, exc.field, exc.message)
        except errors.ValidationError as exc:  # the bundle's own checks: schema, NaN and ±inf, unknown shapes
            field = exc.parameter  # bundle.predict names its argument df: name the request's field instead
            response = _refusal(422, requests.request_key(bundle) + field[2:] if field.startswith("df") else field,
                                exc.message)
        except Exception:  # a bug or a model failure: logged here, never sent to the client
            log.exception("predicting a request failed")
            response = _refusal(500, "", "the model failed to predict this request; the server log has the details")
        metrics.observe("/predict", response.status_code, time.perf_counter() - started,
                        rows if response.status_code == 200 else 0)
        return response

    async def get_schema(request: Request) -> Response:
        return JSONResponse(schema)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "library": bundle.library, "analysis_type": bundle.analysis_type,
                             "bundle": bundle.path.name})

    async def get_metrics(request: Request) -> Response:
        return PlainTextResponse(metrics.text(), media_type="text/plain; version=0.0.4")

    app = Starlette(routes=[
        Route("/predict", predict, methods=["POST"]),
        Route("/schema", get_schema, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", get_metrics, methods=["GET"]),
    ])
    app.state.bundle, app.state.metrics = bundle, metrics
    return app


def app_from_environment() -> Starlette:
    """The application of each ``assay serve`` worker process, from the options ``assay serve`` set in the
    environment (uvicorn starts workers from an import string, so they cannot receive objects)."""
    path = os.environ.get(ENV_BUNDLE)
    if not path:
        raise errors.ConfigurationError(f"{ENV_BUNDLE} is not set; start the server with `assay serve BUNDLE`")
    bundle = load_bundle(path, trust=os.environ.get(ENV_TRUST) == "1")
    return create_app(bundle, int(os.environ.get(ENV_MAX_BODY) or MAX_BODY))
