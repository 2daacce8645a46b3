"""``assay dashboard``: a local web app over an assay database (SQLite or PostgreSQL).

Pages: every queue with its live progress; a queue (progress updating while workers run, a sortable and
filterable leaderboard, the performance plots, failed jobs with tracebacks); a predictor (hyperparameters,
metrics per split, learning curves, the analysis type's plots, stored feature importance, its predictions and a
bundle download); 2-4 predictors side by side; a splitset (split and fold sizes, class balance).

Needs the optional dependencies: ``pip install "assay[dashboard]"`` (Starlette, uvicorn, Jinja2). Every script,
stylesheet and image is served by the app itself; nothing is fetched from another site.

    from assay import dashboard
    dashboard.serve(url="sqlite:///runs.sqlite3", port=8080)        # blocks; Ctrl+C stops it
    app = dashboard.create_app()                                    # or any ASGI server of your own
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assay import errors

if TYPE_CHECKING:
    from starlette.applications import Starlette

REQUIREMENTS = ("starlette", "uvicorn", "jinja2")
INSTALL_HINT = 'pip install "assay[dashboard]"'


def _check_installed() -> None:
    import importlib.util

    missing = [name for name in REQUIREMENTS if importlib.util.find_spec(name) is None]
    if missing:
        raise errors.ConfigurationError(f"the dashboard needs {', '.join(missing)}; install them with: {INSTALL_HINT}")


def create_app(url: str | None = None, allow_retry: bool = False, allowed_hosts: list[str] | None = None) -> Starlette:
    """The dashboard as an ASGI app over the database at ``url`` (default: the one :func:`assay.setup` picks).

    Args:
        url: database URL; the database is migrated to the current schema first, like :func:`assay.setup`.
        allow_retry: allow re-queueing a queue's failed jobs from its page (otherwise the app only reads).
        allowed_hosts: ``Host`` header values to accept (default: 127.0.0.1, localhost, ::1).

    Raises:
        assay.errors.ConfigurationError: the optional dependencies are not installed.
    """
    import assay

    _check_installed()
    assay.setup(url)
    from assay.dashboard.app import create_app as make

    return make(allow_retry=allow_retry, allowed_hosts=allowed_hosts)


def serve(url: str | None = None, host: str = "127.0.0.1", port: int = 8080, allow_retry: bool = False,
          log_level: str = "warning", ready: Any = None) -> None:
    """Serve the dashboard until interrupted.

    Args:
        url: database URL (see :func:`create_app`).
        host: address to bind; the default serves this machine only. Binding another address makes the app
            accept that host name too.
        port: TCP port; 0 picks a free one.
        allow_retry: allow re-queueing failed jobs from the queue pages.
        log_level: uvicorn's log level.
        ready: called with the URL the dashboard answers on once it listens (the CLI prints it).

    Raises:
        assay.errors.ValidationError: ``port`` is not in 0-65535.
        assay.errors.ConfigurationError: the optional dependencies are not installed.
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise errors.ValidationError("port", f"must be a TCP port number from 0 to 65535, got {port!r}")
    from assay.dashboard.app import LOCAL_HOSTS

    hosts = LOCAL_HOSTS if host in LOCAL_HOSTS else [*LOCAL_HOSTS, host]
    app = create_app(url, allow_retry=allow_retry, allowed_hosts=hosts)
    import threading

    import uvicorn

    # the newest queues' leaderboards are computed while the server starts, so their pages open at once
    threading.Thread(target=app.state.dashboard.pages.warm, name="assay-dashboard-warm", daemon=True).start()

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if ready is not None:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets=sockets)
            bound = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
            shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
            ready(f"http://{shown}:{bound[1]}/")

        server.startup = startup
    server.run()
