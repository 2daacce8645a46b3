"""Environment defaults assay sets for Keras when ``import assay`` runs (see :mod:`assay.environment`).

``TF_CPP_MIN_LOG_LEVEL=3``: TensorFlow's C++ runtime otherwise prints lines such as ``E0000 ... NodeDef mentions
attribute use_unbounded_threadpool which is not in the op definition`` between the progress bar's updates. They
are harmless version notices, but read as failures. Real failures still reach the user as Python exceptions.
TensorFlow reads the variable once, when it is imported, which is why this is set at ``import assay`` rather than
when the plugin's hooks load. A value the user set themselves is never changed.

``TF_ENABLE_ONEDNN_OPTS=0``: with oneDNN's custom CPU operations on, TensorFlow announces at import (``I0000 ...
oneDNN custom operations are on. You may see slightly different numerical results ...``), before its log level
applies, and sums in an order that can change between runs. assay promises that a seeded job trains the same
model again, so it asks for TensorFlow's own kernels; set the variable to 1 yourself to have oneDNN's.

This module must stay free of imports: it is loaded every time assay is imported.
"""

DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
