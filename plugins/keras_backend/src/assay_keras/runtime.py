"""Process-wide Keras state: seeding with deterministic ops, clearing the session, versions."""

from __future__ import annotations

import importlib
import numbers

import keras

from assay import errors


def seed(value: int) -> None:
    """Seed Python, numpy and the Keras backend, and make TensorFlow ops deterministic.

    Determinism is process-wide and costs some speed, which is the price of "same seed, same metrics".
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**32:
        raise errors.ExperimentError("seed", f"must be an integer in [0, 2**32), got {value!r}")
    keras.utils.set_random_seed(int(value))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def clear_session() -> None:
    """Drop Keras' global state (layer name counters, graphs) so that memory stays flat over a queue.

    No garbage collection here: a full pass after every job costs more than training a small model. The runner
    collects when the process's memory grows (:mod:`assay.experiment.reclaim`); the state dropped here is what
    makes the models' cycles collectable then.
    """
    if keras.backend.backend() == "tensorflow":
        _forget_custom_gradients()
    keras.backend.clear_session(free_memory=False)


def _forget_custom_gradients() -> None:
    """Unregister the gradients ``tf.custom_gradient`` registered for models that are gone.

    Every graph-mode ``fit`` traces functions whose ``tf.custom_gradient`` ops register a gradient function under
    a new name ("CustomGradient-N") in TensorFlow's global gradient registry, which is never emptied. Those
    functions close over the traced graph, so each trained model's graphs stay alive: about 4 MB per model
    (benchmarks/memory.py). Between jobs no traced function of a finished model runs again, so they can go.
    """
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):  # TensorFlow moved its internals: nothing to clean, nothing breaks
        return
    for name in [name for name in registry if name.startswith("CustomGradient-")]:
        del registry[name]


def versions() -> dict[str, str]:
    """``{"keras": ..., <the active Keras backend>: ...}``, e.g. ``{"keras": "3.5.0", "tensorflow": "2.17.0"}``."""
    name = keras.backend.backend()
    # the backend module is imported already (Keras runs on it); its __version__ is right whatever the
    # distribution is called (tensorflow, tensorflow-cpu, ...)
    return {"keras": keras.__version__, name: str(importlib.import_module(name).__version__)}
