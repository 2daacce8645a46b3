"""assay-dummy-backend: a third-party assay plugin providing the library ``numpy_linear``.

The plugin itself is :mod:`assay_dummy.hooks`, found through the ``assay.plugins`` entry point; the model
lives in :mod:`assay_dummy.model` and is imported only when a hook needs it.
"""

LIBRARY = "numpy_linear"
