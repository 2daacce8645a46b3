"""AIQC's ``aiqc.orm`` under assay's name, so an AIQC script runs with ``aiqc`` changed to ``assay``:
``from assay.orm import *`` gives the step-by-step classes with AIQC's class-method spellings
(``Dataset.Tabular.from_path``, ``Label.from_dataset``, ``FeatureEncoder.from_encoderset``,
``Queue.from_algorithm``...). See :mod:`assay.objects.aiqc`, which defines them.
"""

from __future__ import annotations

from assay.objects.aiqc import *  # noqa: F403  (AIQC's names, as aiqc.orm exported them)
from assay.objects.aiqc import __all__  # noqa: F401
