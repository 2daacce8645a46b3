"""Environment defaults assay sets for Keras when ``import assay`` runs (see :mod:`assay.environment`).

``TF_CPP_MIN_LOG_LEVEL=3``: TensorFlow's C++ runtime otherwise prints lines such as ``E0000 ... NodeDef mentions
attribute use_unbounded_threadpool which is not in the op definition`` between the progress bar's updates. They
are harmless version notices, but read as failures. Real failures still reach the user as Python exceptions.
TensorFlow reads the variable once, when it is imported, which is why this is set at ``import assay`` rather than
when the plugin's hooks load. A value the user set themselves is never changed.

This module must stay free of imports: it is loaded every time assay is imported.
"""

DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "3"}
