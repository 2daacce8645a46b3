"""The hook implementations of assay-keras (entry point ``keras`` in the group ``assay.plugins``).

The backend is a :class:`assay.backend.LibraryBackend` subclass, written the way README tells third parties to
write theirs: the base class answers every backend hook for ``library == "keras"`` only and calls the methods
below. Keras is imported inside the methods, never at module level: every process that loads assay's plugins
imports this module, and most of them never train a Keras model.
"""

from __future__ import annotations

from typing import Any

from assay.backend import LibraryBackend

LIBRARY = "keras"


class KerasBackend(LibraryBackend):
    """``library="keras"``: Keras 3 models, trained by the user's ``fn_train`` (usually ``model.fit``)."""

    library = LIBRARY

    def default_loss(self, analysis_type: str) -> Any:
        from assay_keras import training

        return training.default_loss(analysis_type)

    def default_optimizer(self, analysis_type: str, model: Any) -> Any:
        from assay_keras import training

        return training.default_optimizer()

    def prepare_samples(self, analysis_type: str, samples: dict[str, Any]) -> dict[str, Any]:
        from assay_keras import samples as keras_samples

        return keras_samples.prepare_samples(analysis_type, samples)

    def train(self, analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
              hyperparameters):
        from assay_keras import training

        return training.train(analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                              hyperparameters)

    def default_predict(self, analysis_type: str, model: Any, samples: dict[str, Any]) -> tuple[Any, Any]:
        from assay_keras import predicting

        return predicting.default_predict(analysis_type, model, samples)

    def evaluate_loss(self, analysis_type: str, model: Any, loser: Any, samples: dict[str, Any]) -> float:
        from assay_keras import training

        return training.evaluate_loss(analysis_type, model, loser, samples)

    def model_to_bytes(self, model: Any) -> bytes:
        from assay_keras import persistence

        return persistence.model_to_bytes(model)

    def model_from_bytes(self, data, fn_build, features_shape, label_shape, hyperparameters):
        # the .keras archive holds the architecture: fn_build and the shapes are not needed to rebuild it
        from assay_keras import persistence

        return persistence.model_from_bytes(data)

    def model_export(self, model: Any, example: Any) -> Any:
        """The ``.keras`` archive: architecture and weights, loaded with ``safe_mode=True`` (no Lambda, no pickle)."""
        from assay.contracts import ModelExport
        from assay_keras import persistence

        return ModelExport(data=persistence.model_to_bytes(model), format="keras", suffix=".keras")

    def model_from_export(self, data: bytes, format: str) -> Any:
        from assay import errors
        from assay_keras import persistence

        if format != "keras":
            raise errors.ModelLoadError(f"the exported model has format {format!r}; assay-keras reads 'keras'")
        return persistence.model_from_bytes(data)

    def seed(self, seed: int) -> None:
        from assay_keras import runtime

        runtime.seed(seed)

    def clear_session(self) -> None:
        from assay_keras import runtime

        runtime.clear_session()

    def channels_last(self) -> bool:
        import keras

        # Conv2D and the other image layers follow keras.config.image_data_format(), "channels_last" by default
        return keras.config.image_data_format() == "channels_last"

    def library_versions(self) -> dict[str, str]:
        from assay_keras import runtime

        return runtime.versions()


#: the backend; the entry point names this module, so its hook implementations become the module's own
plugin = KerasBackend()
globals().update(plugin.hookimpls())
