"""Test helpers assay ships for plugin authors.

:class:`BackendContractSuite` is the pytest class every backend plugin's tests subclass (like hydra's
``LauncherTestSuite``): a third-party backend that passes it works with ``assay.Experiment``. Importing this
package needs pytest; the rest of assay never imports it.
"""

from assay.testing.backend_suite import BackendContractSuite, ContractRun
from assay.testing.samples import ANALYSIS_TYPES, CLASS_COUNT, make_multi_input_samples, make_samples

__all__ = ["ANALYSIS_TYPES", "CLASS_COUNT", "BackendContractSuite", "ContractRun", "make_multi_input_samples",
           "make_samples"]
