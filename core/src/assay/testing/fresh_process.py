"""Load a stored model in a new Python process and predict with it, as a later session or another machine would.

:func:`predict_in_fresh_process` pickles the request (model bytes, ``fn_build`` by value, raw samples) to a
temporary file, runs this module with ``python -m assay.testing.fresh_process`` and reads the predictions back.
The child process shares nothing with the parent but the installed packages and the environment variables.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np

from assay import contracts

#: seconds the child process may take (it imports the library, loads the model and predicts)
TIMEOUT_S = 300


def predict_in_fresh_process(library: str, analysis_type: str, data: bytes, fn_build: Callable[..., Any],
                             features_shape: tuple[int, ...] | list[tuple[int, ...]], label_shape: tuple[int, ...],
                             hyperparameters: dict[str, Any], samples: dict[str, Any],
                             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Load ``data`` with ``assay.plugins.backend(library)`` in a new process and return its default predictions.

    ``fn_build`` is pickled by value (its module registered with cloudpickle), so it need not be importable in
    the child: test modules usually are not. For a multi-input model ``features_shape`` is a list of shapes and
    ``samples["features"]`` a list of arrays, one per input; the child hands ``model_from_bytes`` the list of
    shapes as a job does (:func:`assay.contracts.features_shape`).
    """
    module = sys.modules.get(getattr(fn_build, "__module__", ""))
    by_value = module is not None and module.__name__ not in {"__main__", "builtins"}
    if by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        request = cloudpickle.dumps({
            "library": library, "analysis_type": analysis_type, "data": data, "fn_build": fn_build,
            "features_shape": contracts.features_shape(features_shape), "label_shape": tuple(label_shape),
            "hyperparameters": dict(hyperparameters), "samples": samples,
        })
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)
    with tempfile.TemporaryDirectory(prefix="assay-fresh-") as folder:
        request_path, answer_path = Path(folder, "request.pkl"), Path(folder, "answer.pkl")
        request_path.write_bytes(request)
        completed = subprocess.run(
            [sys.executable, "-m", "assay.testing.fresh_process", str(request_path), str(answer_path)],
            capture_output=True, text=True, timeout=TIMEOUT_S, env=dict(os.environ), check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(
                f"loading the {library} model in a fresh process failed (exit {completed.returncode}):\n"
                f"{completed.stderr[-4000:]}"
            )
        answer = pickle.loads(answer_path.read_bytes())
    return answer["predictions"], answer["probabilities"]


def _serve(request_path: str, answer_path: str) -> None:
    """The child's side: load the model through the backend hooks and predict the samples."""
    from assay import plugins

    with open(request_path, "rb") as handle:
        request = pickle.load(handle)
    backend = plugins.backend(request["library"])
    model = backend.model_from_bytes(
        request["data"], request["fn_build"], request["features_shape"], request["label_shape"],
        request["hyperparameters"],
    )
    prepared = backend.prepare_samples(request["analysis_type"], request["samples"])
    predictions, probabilities = backend.default_predict(request["analysis_type"], model, prepared)
    answer = {
        "predictions": np.asarray(predictions),
        "probabilities": None if probabilities is None else np.asarray(probabilities),
    }
    with open(answer_path, "wb") as handle:
        pickle.dump(answer, handle)


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
