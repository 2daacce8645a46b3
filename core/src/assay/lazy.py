"""Submodules imported on first attribute access, so that ``import assay`` stays cheap and every documented
dotted name (``assay.space.Int``, ``assay.experiment.workers.start_workers``) still resolves after it.

A package's ``__init__`` sets ``__getattr__ = lazy.submodules(__name__)`` (PEP 562): ``package.name`` then imports
``package.name`` the first time it is read, when such a submodule exists, and raises the usual
:class:`AttributeError` otherwise. Nothing here imports anything of assay.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from types import ModuleType


def submodules(package: str) -> Callable[[str], ModuleType]:
    """A module-level ``__getattr__`` for ``package`` that imports its submodules on first access."""

    def __getattr__(name: str) -> ModuleType:
        if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")  # the import binds it on the package too
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
