"""Data read back: what the experiment engine, evaluation and inference read of a stored splitset.

:mod:`~assay.data.read.splitsets` (:class:`~assay.data.read.splitsets.SplitsetData`: splits, folds, fitted
encoders and the encoded samples a training function receives), :mod:`~assay.data.read.arrays` (stored sequence
and image samples and their fitted encoders) and :mod:`~assay.data.read.multi_input` (several inputs aligned by
sample). This package never imports :mod:`assay.data.build` (an import-linter contract).
"""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
