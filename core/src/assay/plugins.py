"""The plugin manager, built lazily, and a typed layer in front of the hooks.

Plugins are packages that declare an entry point in the group ``assay.plugins``. Nothing is loaded at import
time: the manager is built the first time something asks for it (:func:`get_plugin_manager`), and tests can
build a fresh one with :func:`reset_plugin_manager`.

Environment variables:

* ``ASSAY_BLOCK_PLUGINS``: comma-separated entry-point names not to load (``keras,torch``).
* ``ASSAY_STRICT_PLUGINS``: when ``1``/``true``, a plugin that fails to import raises
  :class:`~assay.errors.PluginLoadError` instead of being reported and skipped.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
import warnings
from collections.abc import Callable
from typing import Any

import attrs
import pluggy

from assay import errors, hookspecs
from assay.contracts import AnalysisType, EncoderFamily, TrainResult

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "assay.plugins"
BLOCK_ENV = "ASSAY_BLOCK_PLUGINS"
STRICT_ENV = "ASSAY_STRICT_PLUGINS"

#: the core's own plugins, registered by dotted name before any entry point (each of their hooks is ``trylast``)
BUILTIN_PLUGINS = ("assay.defaults", "assay.evaluation.builtin_plots")

#: the distribution that provides a first-party library, for "pip install ..." hints
KNOWN_PACKAGES = {"keras": "assay-keras", "torch": "assay-torch", "sklearn": "assay-sklearn"}

_lock = threading.Lock()
_pm: pluggy.PluginManager | None = None


@attrs.frozen
class PluginInfo:
    """One discovered plugin, as ``assay info`` shows it."""

    name: str
    distribution: str | None
    version: str | None
    loaded: bool
    error: str | None = None
    blocked: bool = False


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _blocked_names() -> set[str]:
    return {name.strip() for name in os.environ.get(BLOCK_ENV, "").split(",") if name.strip()}


def build_plugin_manager(strict: bool | None = None, blocked: set[str] | None = None) -> pluggy.PluginManager:
    """Build a new plugin manager: the core's defaults plus every entry-point plugin not blocked.

    A plugin whose import fails is reported with its name (a warning) and skipped, or raised as
    :class:`~assay.errors.PluginLoadError` when ``strict`` (default: ``ASSAY_STRICT_PLUGINS``).
    """
    strict = _truthy(os.environ.get(STRICT_ENV)) if strict is None else strict
    blocked = _blocked_names() if blocked is None else blocked
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)

    for name in BUILTIN_PLUGINS:
        # by name, like datasette's DEFAULT_PLUGINS: the plugin layer never imports the layers above it
        pm.register(importlib.import_module(name), name=name)
    infos: list[PluginInfo] = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(entry_point, "dist", None)
        dist_name = dist.name if dist is not None else None
        dist_version = dist.version if dist is not None else None
        if entry_point.name in blocked:
            infos.append(PluginInfo(entry_point.name, dist_name, dist_version, False, f"blocked by {BLOCK_ENV}",
                                    blocked=True))
            continue
        if pm.has_plugin(entry_point.name):
            continue  # the same distribution seen twice on sys.path
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken third-party plugin must not take assay down
            message = f"{type(exc).__name__}: {exc}"
            if strict:
                raise errors.PluginLoadError(
                    f"plugin {entry_point.name!r} ({dist_name}) failed to import: {message}"
                ) from exc
            warnings.warn(
                f"assay plugin {entry_point.name!r} ({dist_name}) failed to import and was skipped: {message}. "
                f"Set {BLOCK_ENV}={entry_point.name} to silence this, or {STRICT_ENV}=1 to raise.",
                RuntimeWarning,
                stacklevel=2,
            )
            infos.append(PluginInfo(entry_point.name, dist_name, dist_version, False, message))
            continue
        pm.register(plugin, name=entry_point.name)
        infos.append(PluginInfo(entry_point.name, dist_name, dist_version, True))
    pm.assay_plugin_infos = infos  # type: ignore[attr-defined]
    return pm


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    global _pm
    if _pm is None:
        with _lock:
            if _pm is None:
                _pm = build_plugin_manager()
    return _pm


def reset_plugin_manager(pm: pluggy.PluginManager | None = None) -> None:
    """Drop the process-wide manager (or replace it with ``pm``); the next use builds a new one."""
    global _pm
    with _lock:
        _pm = pm


def plugin_infos() -> list[PluginInfo]:
    """Every entry-point plugin seen by the current manager, loaded or not."""
    return list(getattr(get_plugin_manager(), "assay_plugin_infos", []))


def libraries() -> dict[str, str]:
    """Map each available library to the plugin that provides it."""
    pm = get_plugin_manager()
    found: dict[str, str] = {}
    for impl in pm.hook.assay_libraries.get_hookimpls():
        for name in impl.function() or []:
            found.setdefault(name, impl.plugin_name)
    return found


#: where a first-party plugin lies in a checkout of assay's repository (README installs from there)
PLUGIN_FOLDERS = {"keras": "plugins/keras_backend", "torch": "plugins/torch_backend",
                  "sklearn": "plugins/sklearn_encoders"}


def _install_hint(library: str) -> str:
    package = KNOWN_PACKAGES.get(library)
    if package:
        return (f"install it with: pip install {package} (from a checkout of assay's repository: pip install "
                f"./{PLUGIN_FOLDERS[library]})")
    return f"install a package that declares an {ENTRY_POINT_GROUP!r} entry point providing {library!r}"


@attrs.frozen
class Backend:
    """Typed access to one library's backend hooks. Get one with :func:`backend`.

    One method per backend hook of :mod:`assay.hookspecs`, named like the hook without its ``assay_`` prefix and
    taking the hook's arguments less ``library`` (``tests/test_backend_contract.py`` holds the two together, and
    :class:`assay.backend.LibraryBackend`, the base class plugins implement, to the same names).
    """

    library: str
    pm: pluggy.PluginManager = attrs.field(repr=False)

    def _call(self, hook_name: str, **kwargs: Any) -> Any:
        result = getattr(self.pm.hook, hook_name)(library=self.library, **kwargs)
        if result is None:
            raise errors.PluginError(
                f"no plugin answered {hook_name} for library {self.library!r}; the plugin providing it is "
                f"incomplete ({_install_hint(self.library)})"
            )
        return result

    def default_loss(self, analysis_type: str) -> Any:
        return self._call("assay_default_loss", analysis_type=analysis_type)

    def default_optimizer(self, analysis_type: str, model: Any) -> Any:
        return self._call("assay_default_optimizer", analysis_type=analysis_type, model=model)

    def prepare_samples(self, analysis_type: str, samples: dict[str, Any]) -> dict[str, Any]:
        return self._call("assay_prepare_samples", analysis_type=analysis_type, samples=samples)

    def train(self, analysis_type: str, fn_train: Callable[..., Any], model: Any, loser: Any, optimizer: Any,
              samples_train: dict[str, Any], samples_evaluate: dict[str, Any] | None,
              hyperparameters: dict[str, Any]) -> TrainResult:
        return self._call(
            "assay_train", analysis_type=analysis_type, fn_train=fn_train, model=model, loser=loser,
            optimizer=optimizer, samples_train=samples_train, samples_evaluate=samples_evaluate,
            hyperparameters=hyperparameters,
        )

    def default_predict(self, analysis_type: str, model: Any, samples: dict[str, Any]) -> tuple[Any, Any]:
        return self._call("assay_default_predict", analysis_type=analysis_type, model=model, samples=samples)

    def evaluate_loss(self, analysis_type: str, model: Any, loser: Any, samples: dict[str, Any]) -> float:
        return float(self._call("assay_evaluate_loss", analysis_type=analysis_type, model=model, loser=loser,
                                samples=samples))

    def model_to_bytes(self, model: Any) -> bytes:
        return self._call("assay_model_to_bytes", model=model)

    def model_from_bytes(self, data: bytes, fn_build: Callable[..., Any], features_shape: tuple[int, ...],
                         label_shape: tuple[int, ...], hyperparameters: dict[str, Any]) -> Any:
        """The loaded model; a plugin's raw exception (bad bytes it did not check) becomes a ModelLoadError."""
        try:
            return self._call("assay_model_from_bytes", data=data, fn_build=fn_build, features_shape=features_shape,
                              label_shape=label_shape, hyperparameters=hyperparameters)
        except errors.AssayError:
            raise
        except Exception as exc:
            raise errors.ModelLoadError(
                f"the {self.library!r} plugin cannot load the stored model ({type(exc).__name__}: {exc}); it is "
                "damaged or was saved by another library"
            ) from exc

    def model_export(self, model: Any, example: Any) -> Any:
        """The model as a :class:`~assay.contracts.ModelExport`, or ``None`` when the library's plugin writes none.

        Raises:
            assay.errors.ModelExportError: the plugin cannot export this model (any other exception it lets escape
                becomes one, naming it).
        """
        try:
            return self.pm.hook.assay_model_export(library=self.library, model=model, example=example)
        except errors.AssayError:
            raise
        except Exception as exc:
            raise errors.ModelExportError(f"{type(exc).__name__}: {next(iter(str(exc).splitlines()), '')}") from exc

    def model_from_export(self, data: bytes, format: str) -> Any:
        """The model :meth:`model_export` wrote, loaded without the user's code."""
        try:
            return self._call("assay_model_from_export", data=data, format=format)
        except errors.AssayError:
            raise
        except Exception as exc:
            raise errors.ModelLoadError(
                f"the {self.library!r} plugin cannot load the exported model ({type(exc).__name__}: {exc}); it is "
                "damaged or was written by another version"
            ) from exc

    def seed(self, seed: int) -> None:
        self._call("assay_seed", seed=seed)

    def channels_last(self) -> bool:
        """Whether the library wants images channels last (no answer: channels first, as assay stores them)."""
        return bool(self.pm.hook.assay_channels_last(library=self.library))

    def clear_session(self) -> None:
        self._call("assay_clear_session")

    def library_versions(self) -> dict[str, str]:
        return dict(self._call("assay_library_versions"))

    #: the shorter name the runner, bundles and ``assay info`` use
    versions = library_versions


# other names users write for a library (AIQC wrote library="pytorch"); stored under the canonical name
LIBRARY_ALIASES = {"pytorch": "torch"}


def canonical_library(library: Any) -> Any:
    """``library`` under the name its plugin registers (``"pytorch"`` -> ``"torch"``), unless a plugin
    registers the alias itself."""
    if isinstance(library, str) and library in LIBRARY_ALIASES and library not in libraries():
        return LIBRARY_ALIASES[library]
    return library


def backend(library: str) -> Backend:
    """The backend for ``library``; raises :class:`~assay.errors.LibraryNotFoundError` naming what to install."""
    available = libraries()
    if not isinstance(library, str):
        raise errors.LibraryNotFoundError(
            f"library={library!r}: give one library name (a string), one of: {', '.join(sorted(available))}"
        )
    if library not in available:
        installed = ", ".join(sorted(available)) or "none"
        raise errors.LibraryNotFoundError(
            f"library={library!r}: no installed plugin provides it (installed libraries: {installed}); "
            f"{_install_hint(library)}"
        )
    return Backend(library, get_plugin_manager())


def analysis_types() -> dict[str, AnalysisType]:
    """Every registered analysis type by name (the first registration of a name wins)."""
    found: dict[str, AnalysisType] = {}
    for group in get_plugin_manager().hook.assay_analysis_types():
        for analysis in group or []:
            found.setdefault(analysis.name, analysis)
    return found


def analysis_type(name: str) -> AnalysisType:
    """The analysis type called ``name``; raises naming the known ones."""
    known = analysis_types()
    if not isinstance(name, str) or name not in known:
        raise errors.AnalysisTypeNotFoundError(
            f"analysis_type={name!r} is unknown; use one of: {', '.join(sorted(known))}"
        )
    return known[name]


def metrics(analysis_type: str, y_true: Any, y_pred: Any, probabilities: Any, classes: list[Any]) -> dict[str, float]:
    """Every plugin's metrics for one split, merged (earlier-registered plugins override the core)."""
    merged: dict[str, float] = {}
    results = get_plugin_manager().hook.assay_metrics(
        analysis_type=analysis_type, y_true=y_true, y_pred=y_pred, probabilities=probabilities, classes=classes
    )
    for result in reversed(results):  # pluggy calls the core (trylast) last: let plugins override it
        merged.update(result or {})
    return merged


def plots(analysis_type: str) -> dict[str, Callable[..., Any]]:
    """Every plugin's plots for an analysis type, merged."""
    merged: dict[str, Callable[..., Any]] = {}
    for result in reversed(get_plugin_manager().hook.assay_plots(analysis_type=analysis_type)):
        merged.update(result or {})
    return merged


def encoder_families() -> list[EncoderFamily]:
    """Every registered encoder family, in hook-call order."""
    return [family for group in get_plugin_manager().hook.assay_encoder_families() for family in group or []]


def encoder_family_for(encoder: Any, parameter: str) -> EncoderFamily:
    """The family that handles ``encoder``; raises :class:`~assay.errors.EncoderError` when none does."""
    for family in encoder_families():
        if family.accepts(encoder):
            return family
    names = ", ".join(family.name for family in encoder_families()) or "none installed"
    raise errors.EncoderError(
        parameter,
        f"{encoder!r} is not an encoder any plugin handles (families: {names}); pass an instance of a "
        "scikit-learn transformer such as StandardScaler() or OneHotEncoder() (pip install assay-sklearn)",
    )


def encoder_family_named(name: str) -> EncoderFamily:
    """The family registered as ``name`` (used when loading stored encoders)."""
    for family in encoder_families():
        if family.name == name:
            return family
    raise errors.PluginError(
        f"stored encoders need the encoder family {name!r}, which no installed plugin provides"
        + (" (pip install assay-sklearn)" if name == "sklearn" else "")
    )
