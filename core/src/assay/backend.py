"""A base class for backend plugins: write methods for your library, get the hook implementations for free.

Every backend hook is ``firstresult`` and keyed by ``library`` (see :mod:`assay.hookspecs`), so a plugin written
as plain hook functions starts each one with ``if library != "mylib": return None``. Subclass
:class:`LibraryBackend` instead, set :attr:`~LibraryBackend.library`, write the methods and register an
*instance*: its ``assay_*`` hook implementations answer for that library only and call your methods::

    from assay.backend import LibraryBackend

    class MyBackend(LibraryBackend):
        library = "mylib"

        def default_loss(self, analysis_type): ...
        def default_optimizer(self, analysis_type, model): ...
        def default_predict(self, analysis_type, model, samples): ...
        def evaluate_loss(self, analysis_type, model, loser, samples): ...
        def model_to_bytes(self, model): ...
        def model_from_bytes(self, data, fn_build, features_shape, label_shape, hyperparameters): ...
        def seed(self, seed): ...

    plugin = MyBackend()   # the entry point: [project.entry-points."assay.plugins"] mylib = "mypkg.hooks:plugin"

Each method receives what its hook receives, minus ``library``; :mod:`assay.hookspecs` documents when it is
called and what it returns. :meth:`~LibraryBackend.train`, :meth:`~LibraryBackend.prepare_samples`,
:meth:`~LibraryBackend.clear_session`, :meth:`~LibraryBackend.channels_last` and
:meth:`~LibraryBackend.library_versions` have defaults; the others
raise :class:`NotImplementedError` naming the method to write. Other hooks (analysis types, metrics, plots,
encoder families) can be methods of the same class, marked with :data:`assay.hookspecs.hookimpl`.

As with any hook module, import your framework inside the methods, not at module level: every process that
loads plugins imports every plugin.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any, ClassVar

from assay.contracts import TrainResult
from assay.hookspecs import hookimpl


class LibraryBackend:
    """Base class of a backend plugin for one library; register an instance (see the module docstring)."""

    #: the value users pass as ``library=``; a subclass must set it
    library: ClassVar[str] = ""
    #: distributions whose versions :meth:`library_versions` reports by default (default: ``[library]``)
    distributions: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.library, str):
            raise TypeError(f"{cls.__name__}.library must be a str, got {cls.library!r}")

    def __init__(self) -> None:
        if not self.library:
            raise TypeError(f"{type(self).__name__} must set the class attribute `library` (the value users "
                            "pass as library=)")

    def _mine(self, library: str) -> bool:
        return library == self.library

    def _missing(self, method: str) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__} (library {self.library!r}) must define {method}()")

    # -- methods a backend writes ---------------------------------------------------------------------------------

    def default_loss(self, analysis_type: str) -> Any:
        """The loss used when the user gives no ``fn_lose`` (:func:`~assay.hookspecs.assay_default_loss`)."""
        raise self._missing("default_loss")

    def default_optimizer(self, analysis_type: str, model: Any) -> Any:
        """The optimizer used without ``fn_optimize`` (:func:`~assay.hookspecs.assay_default_optimizer`)."""
        raise self._missing("default_optimizer")

    def prepare_samples(self, analysis_type: str, samples: dict[str, Any]) -> dict[str, Any]:
        """Samples in the library's own types (:func:`~assay.hookspecs.assay_prepare_samples`); default:
        unchanged numpy arrays."""
        return samples

    def train(self, analysis_type: str, fn_train: Callable[..., Any], model: Any, loser: Any, optimizer: Any,
              samples_train: dict[str, Any], samples_evaluate: dict[str, Any] | None,
              hyperparameters: dict[str, Any]) -> TrainResult:
        """Run ``fn_train`` (:func:`~assay.hookspecs.assay_train`). Default: ``fn_train`` returns the model or
        ``(model, history)``; a model with a ``history`` dict attribute gives that history."""
        result = fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters)
        trained, history = result if isinstance(result, tuple) else (result, getattr(result, "history", None))
        history = history if isinstance(history, dict) else {}
        return TrainResult(trained, {name: [float(value) for value in values] for name, values in history.items()})

    def default_predict(self, analysis_type: str, model: Any, samples: dict[str, Any]) -> tuple[Any, Any]:
        """``(predictions, probabilities)`` without ``fn_predict`` (:func:`~assay.hookspecs.assay_default_predict`)."""
        raise self._missing("default_predict")

    def evaluate_loss(self, analysis_type: str, model: Any, loser: Any, samples: dict[str, Any]) -> float:
        """The training loss on one split (:func:`~assay.hookspecs.assay_evaluate_loss`)."""
        raise self._missing("evaluate_loss")

    def model_to_bytes(self, model: Any) -> bytes:
        """The trained model in the library's safe format (:func:`~assay.hookspecs.assay_model_to_bytes`)."""
        raise self._missing("model_to_bytes")

    def model_from_bytes(self, data: bytes, fn_build: Callable[..., Any], features_shape: tuple[int, ...],
                         label_shape: tuple[int, ...] | None, hyperparameters: dict[str, Any]) -> Any:
        """The model loaded back (:func:`~assay.hookspecs.assay_model_from_bytes`)."""
        raise self._missing("model_from_bytes")

    def model_export(self, model: Any, example: Any) -> Any:
        """The model as a program that loads without the user's code (:func:`~assay.hookspecs.assay_model_export`);
        default: ``None``, so bundles keep the stored model and the user's functions (and need trust)."""
        return None

    def model_from_export(self, data: bytes, format: str) -> Any:
        """The program :meth:`model_export` wrote, loaded (:func:`~assay.hookspecs.assay_model_from_export`)."""
        raise self._missing("model_from_export")

    def seed(self, seed: int) -> None:
        """Seed the library's random generators (:func:`~assay.hookspecs.assay_seed`)."""
        raise self._missing("seed")

    def clear_session(self) -> None:
        """Release what the library keeps between models (:func:`~assay.hookspecs.assay_clear_session`);
        default: nothing to release."""

    def channels_last(self) -> bool:
        """Whether the library's image layers expect channels last (:func:`~assay.hookspecs.assay_channels_last`);
        default: ``False``, channels first as assay stores images."""
        return False

    def library_versions(self) -> dict[str, str]:
        """Versions recorded with every model (:func:`~assay.hookspecs.assay_library_versions`); default: the
        installed versions of :attr:`distributions` (or of the distribution named like :attr:`library`)."""
        versions = {}
        for name in self.distributions or (self.library,):
            try:
                versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
        return versions

    def hookimpls(self) -> dict[str, Callable[..., Any]]:
        """This backend's hook implementations by hook name (bound methods).

        For an entry point that names a module rather than the instance: ``globals().update(plugin.hookimpls())``
        at the end of that module makes them the module's own, which is what pluggy registers.
        """
        return {name: getattr(self, name) for name in dir(type(self))
                if name.startswith("assay_") and hasattr(getattr(type(self), name), "assay_impl")}

    # -- the hook implementations: answer for this library only, then call the methods above -----------------

    @hookimpl
    def assay_libraries(self) -> list[str]:
        return [self.library]

    @hookimpl
    def assay_default_loss(self, library: str, analysis_type: str) -> Any:
        return self.default_loss(analysis_type) if self._mine(library) else None

    @hookimpl
    def assay_default_optimizer(self, library: str, analysis_type: str, model: Any) -> Any:
        return self.default_optimizer(analysis_type, model) if self._mine(library) else None

    @hookimpl
    def assay_prepare_samples(self, library: str, analysis_type: str, samples: dict[str, Any]) -> Any:
        return self.prepare_samples(analysis_type, samples) if self._mine(library) else None

    @hookimpl
    def assay_train(self, library: str, analysis_type: str, fn_train: Callable[..., Any], model: Any, loser: Any,
                    optimizer: Any, samples_train: dict[str, Any], samples_evaluate: dict[str, Any] | None,
                    hyperparameters: dict[str, Any]) -> TrainResult | None:
        if not self._mine(library):
            return None
        return self.train(analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                          hyperparameters)

    @hookimpl
    def assay_default_predict(self, library: str, analysis_type: str, model: Any, samples: dict[str, Any]) -> Any:
        return self.default_predict(analysis_type, model, samples) if self._mine(library) else None

    @hookimpl
    def assay_evaluate_loss(self, library: str, analysis_type: str, model: Any, loser: Any,
                            samples: dict[str, Any]) -> Any:
        return self.evaluate_loss(analysis_type, model, loser, samples) if self._mine(library) else None

    @hookimpl
    def assay_model_to_bytes(self, library: str, model: Any) -> bytes | None:
        return self.model_to_bytes(model) if self._mine(library) else None

    @hookimpl
    def assay_model_from_bytes(self, library: str, data: bytes, fn_build: Callable[..., Any],
                               features_shape: tuple[int, ...], label_shape: tuple[int, ...] | None,
                               hyperparameters: dict[str, Any]) -> Any:
        if not self._mine(library):
            return None
        return self.model_from_bytes(data, fn_build, features_shape, label_shape, hyperparameters)

    @hookimpl
    def assay_model_export(self, library: str, model: Any, example: Any) -> Any:
        return self.model_export(model, example) if self._mine(library) else None

    @hookimpl
    def assay_model_from_export(self, library: str, data: bytes, format: str) -> Any:
        return self.model_from_export(data, format) if self._mine(library) else None

    @hookimpl
    def assay_seed(self, library: str, seed: int) -> bool | None:
        if not self._mine(library):
            return None
        self.seed(seed)
        return True

    @hookimpl
    def assay_clear_session(self, library: str) -> bool | None:
        if not self._mine(library):
            return None
        self.clear_session()
        return True

    @hookimpl
    def assay_channels_last(self, library: str) -> bool | None:
        return bool(self.channels_last()) if self._mine(library) else None

    @hookimpl
    def assay_library_versions(self, library: str) -> dict[str, str] | None:
        return dict(self.library_versions()) if self._mine(library) else None
