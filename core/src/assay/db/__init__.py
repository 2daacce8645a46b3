"""Persistence: engine and sessions (:mod:`assay.db.engine`), tables (:mod:`assay.db.models`), migrations."""

from assay.db.engine import current_url, get_engine, session_scope, setup

__all__ = ["current_url", "get_engine", "session_scope", "setup"]

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
