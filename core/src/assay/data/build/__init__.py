"""Data written: each kind of data becomes a persisted splitset through the same three steps.

``plan`` reads and checks everything and makes the splits and folds, ``fit`` fits the encoders on train rows only
(and on each fold's), ``rows`` turns the plan and its fits into the rows one transaction writes. Nothing is
written before all three have run, so bad input never leaves rows behind. One module per kind:
:mod:`~assay.data.build.tabular`, :mod:`~assay.data.build.arrays` (sequences and images),
:mod:`~assay.data.build.multi_input` and :mod:`~assay.data.build.step_by_step` (AIQC's low-level API, whose
encoders :mod:`~assay.data.build.step_by_step_encoders` fits with the tabular and array steps when its first queue
needs them); what they share (the split settings, the label's summary, fitting and storing an encoder) is
:mod:`~assay.data.build.common`.
Nothing under :mod:`assay.data.read` imports this package.
"""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
