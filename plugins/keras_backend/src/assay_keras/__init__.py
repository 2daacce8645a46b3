"""assay-keras: the Keras backend of assay.

Installed beside ``assay``, it is found through the ``assay.plugins`` entry point ``keras`` (module
:mod:`assay_keras.hooks`) and makes ``library="keras"`` available to ``assay.Experiment.make``:

* default loss by analysis type: mean absolute error (regression), binary cross-entropy (binary), categorical
  cross-entropy with one-hot labels (multi-class); default optimizer: Adamax;
* training through the user's ``fn_train``, with the per-epoch history taken from Keras' ``History``;
* default predictions: thresholded at 0.5 (binary), argmax (multi-class), raw outputs (regression);
* models stored in the Keras native ``.keras`` format and loaded with ``safe_mode=True``;
* seeding with deterministic TensorFlow ops, and ``clear_session`` between jobs;
* early pruning: :class:`assay_keras.PruningCallback` reports each epoch to a queue's pruner, attached to
  ``model.fit`` by assay itself.

Importing this package does not import Keras; the hook module imports it only when a hook answers.
"""

import logging
import os

from assay_keras.environment import DEFAULTS

__version__ = "0.1.0"

# `import assay` normally set these already (entry-point group assay.environment); this covers loading the plugin
# without that declaration installed. A value the user set wins either way.
for _name, _value in DEFAULTS.items():
    os.environ.setdefault(_name, _value)


class _NoRetracingNotice(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <function ...> triggered tf.function retracing" notice.

    A queue builds, trains and predicts with a fresh model in every job, so Keras makes new train and predict
    functions per job; TensorFlow counts those as one function retraced again and again, and after five jobs
    advises restructuring code that is assay's loop, not the user's. Every other TensorFlow message passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


if not any(isinstance(known, _NoRetracingNotice) for known in logging.getLogger("tensorflow").filters):
    logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())


def __getattr__(name: str):
    # PruningCallback needs Keras; import it only when asked for
    if name == "PruningCallback":
        from assay_keras.pruning import PruningCallback

        return PruningCallback
    raise AttributeError(f"module 'assay_keras' has no attribute {name!r}")
