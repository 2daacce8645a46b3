"""The user's five functions: serialised so another process or machine can run them, and loaded back once.

``Experiment.make`` serialises them into the Algorithm row, the runner and inference load them by algorithm id,
and bundles carry the same bytes.
"""

from __future__ import annotations

import functools
import inspect
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle

from assay.db.engine import current_url
from assay.db.models import AlgorithmRow
from assay.db.queries import data as queries

FUNCTION_NAMES = ("fn_build", "fn_train", "fn_lose", "fn_optimize", "fn_predict")


def _installed(module: Any) -> bool:
    """Whether a module lives in site-packages or the standard library (importable by any worker)."""
    file = getattr(module, "__file__", None)
    if file is None:
        return True
    roots = {sysconfig.get_paths()[key] for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    return any(Path(file).resolve().is_relative_to(Path(root).resolve()) for root in roots)


def serialise_functions(functions: dict[str, Any]) -> bytes:
    """cloudpickle the user's functions so another process or machine can run them.

    Functions from scripts, notebooks and test modules are pickled by value (a worker could not import their
    module); functions from installed packages by reference.
    """
    names = {fn.__module__ for fn in functions.values() if fn is not None and hasattr(fn, "__module__")}
    local = [sys.modules[name] for name in names
             if name != "__main__" and name in sys.modules and not _installed(sys.modules[name])]
    for module in local:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(functions)
    finally:
        for module in local:
            cloudpickle.unregister_pickle_by_value(module)


def source_of(fn: Callable[..., Any] | None) -> str | None:
    """The source code of a user function, kept for display (``None`` when Python cannot find it)."""
    if fn is None:
        return None
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return None


def load_functions(algorithm_id: int) -> dict[str, Any]:
    """``{"fn_build": ..., "fn_train": ..., "fn_lose": ..., "fn_optimize": ..., "fn_predict": ...}`` of an algorithm."""
    return _functions(current_url(), algorithm_id)


@functools.lru_cache(maxsize=32)
def _functions(url: str | None, algorithm_id: int) -> dict[str, Any]:
    # Rows never change once written, so one unpickling per process and database is enough.
    return cloudpickle.loads(queries.column_value(AlgorithmRow, algorithm_id, "functions"))
