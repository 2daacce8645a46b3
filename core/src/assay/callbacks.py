"""``assay.TrainingCallback``: training callbacks by library, spelled as AIQC spelled them.

``assay.TrainingCallback.Keras.MetricCutoff(thresholds)`` is :class:`assay_keras.callbacks.MetricCutoff`. The
library's module is imported on first access only, so ``import assay`` never imports Keras.
"""

from __future__ import annotations

import importlib
from typing import Any

from assay import errors

# attribute -> (module, package to install)
_LIBRARIES = {"Keras": ("assay_keras.callbacks", "assay-keras"), "Torch": ("assay_torch.callbacks", "assay-torch")}


class _Library:
    def __init__(self, attribute: str):
        self._attribute = attribute

    def __get__(self, instance: Any, owner: Any) -> Any:
        module_name, package = _LIBRARIES[self._attribute]
        try:
            return importlib.import_module(module_name)
        except ImportError as exc:
            raise errors.PluginError(
                f"TrainingCallback.{self._attribute} needs the {package} plugin: pip install {package} ({exc})"
            ) from exc


class TrainingCallback:
    """Callbacks for ``fn_train``, by library.

    ``TrainingCallback.Keras.MetricCutoff(thresholds)``: stop Keras training once every metric in
    ``thresholds`` (``[{"metric": "val_accuracy", "cutoff": 0.9, "above_or_below": "above"}, ...]``) passes its
    cutoff. See :class:`assay_keras.callbacks.MetricCutoff`.

    ``TrainingCallback.Torch.MetricCutoff(thresholds)``: the same for ``assay_torch.fit(..., callbacks=[cutoff])``,
    on the names of its history (``loss``, ``accuracy`` or ``mae``, ``val_``-prefixed ones). See
    :class:`assay_torch.callbacks.MetricCutoff`.
    """

    Keras = _Library("Keras")
    Torch = _Library("Torch")
