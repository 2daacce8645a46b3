"""Hook implementations of assay-sklearn, loaded through the ``assay.plugins`` entry point ``sklearn``."""

from __future__ import annotations

from assay.hookspecs import hookimpl
from assay_sklearn import SklearnEncoderFamily


@hookimpl
def assay_encoder_families():
    """Register scikit-learn transformers as an encoder family."""
    return [SklearnEncoderFamily()]
