"""A trained model logged to MLflow with its framework's own flavour (``mlflow.pytorch``, ``mlflow.keras``).

The logged model is the network alone: it takes the *encoded* features, as ``fn_predict`` receives them, and
returns the network's raw output (a softmax's probabilities, a sigmoid's, regression values in the label
encoder's scale). The assay bundle logged beside it (:mod:`assay.inference.bundle`) is what predicts raw rows.

Its input example is the first rows of the predictor's own train split (its fold's, encoded by that fold's
encoders), in the layout the library takes; its signature is inferred from that example and the model's output
on it. A model of several inputs is logged without them (MLflow's tensor signatures describe one input).
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import attrs
import numpy as np

from assay import plugins
from assay.data.read.arrays import library_features
from assay.data.read.splitsets import SplitsetData
from assay.experiment.trained import Trained

#: rows of the train split logged as the input example
EXAMPLE_ROWS = 5
#: the artifact name of the model in each run (``runs:/<run id>/model``)
MODEL_NAME = "model"


def _keras_output(model: Any, example: np.ndarray) -> np.ndarray:
    # calling the model (not model.predict) prints no progress bar; .numpy() avoids np.array(tensor), which
    # TensorFlow's tensors answer with a DeprecationWarning under numpy 2
    output = model(example, training=False)
    return output.numpy() if hasattr(output, "numpy") else np.asarray(output)


@attrs.frozen
class Flavour:
    """How one library's models are logged: the MLflow flavour module and its model argument.

    ``packages`` are pinned in the model's pip requirements at the versions the predictor was trained with (so
    MLflow need not infer them, which loads the model again in a subprocess). ``output`` computes the model's
    output on the input example when the flavour does not infer a signature from the example by itself.
    """

    module: str
    model_argument: str
    packages: tuple[str, ...]
    output: Callable[[Any, np.ndarray], np.ndarray] | None = None
    #: whether the flavour's save_model writes the input example before creating its folder (mlflow.keras 3.x)
    needs_folder: bool = False


#: library -> how its models are logged; a library missing here gets no MLflow model (its bundle still predicts)
FLAVOURS: dict[str, Flavour] = {
    "torch": Flavour("mlflow.pytorch", "pytorch_model", ("torch",)),
    "keras": Flavour("mlflow.keras", "model", ("keras", "tensorflow"), output=_keras_output, needs_folder=True),
}


def _requirements(flavour: Flavour, versions: dict[str, str]) -> list[str]:
    """Pinned pip requirements: the trained-with version of each package, without a local label (``+cpu``)."""
    pins = []
    for package in flavour.packages:
        version = versions.get(package)
        if version is None:
            with contextlib.suppress(Exception):
                from importlib import metadata

                version = metadata.version(package)
        if version:
            pins.append(f"{package}=={re.sub(r'[+].*$', '', str(version))}")
    return pins


#: warnings MLflow itself raises while assay exports, that nobody using assay can act on; each ignored by its
#: message only (``quiet_mlflow``), so any other warning still shows
MLFLOW_NOISE: tuple[tuple[str, type[Warning]], ...] = (
    # its SQLAlchemy tracking store configures its mappers with a `noload` option SQLAlchemy 2 deprecates
    # (mlflow/store/tracking/sqlalchemy_store.py, once per process)
    (r"The ``noload`` loader strategy is deprecated", DeprecationWarning),
    # importing mlflow.pyfunc infers a schema from its own `Any` type hints (mlflow/types/responses.py, once)
    (r".*Any type hint is inferred as AnyType", UserWarning),
)


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Ignore :data:`MLFLOW_NOISE` inside the ``with`` block."""
    with warnings.catch_warnings():
        for message, category in MLFLOW_NOISE:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


@contextlib.contextmanager
def tracking_uri(mlflow: ModuleType, uri: str) -> Iterator[None]:
    """Use ``uri`` as MLflow's global tracking URI for the ``with`` block, then restore the user's setting.

    ``Model.log`` reads the global one; restoring it also restores ``MLFLOW_TRACKING_URI``, which
    ``mlflow.set_tracking_uri`` overwrites.
    """
    from mlflow.tracking._tracking_service import utils as tracking_utils

    previous = getattr(tracking_utils, "_tracking_uri", None)
    environment = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if environment is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = environment


class Examples:
    """Input examples per fold, from one splitset read once per export."""

    def __init__(self, splitset_id: int, library: str) -> None:
        self._splitset_id = splitset_id
        self._library = library
        self._splitset: SplitsetData | None = None
        self._examples: dict[int | None, np.ndarray | None] = {}

    def get(self, fold_index: int | None) -> np.ndarray | None:
        """The first rows of the train split as the library takes them; ``None`` for a model of several inputs."""
        if fold_index not in self._examples:
            if self._splitset is None:
                self._splitset = SplitsetData.load(self._splitset_id)
            features = self._splitset.samples_for("train", fold_index=fold_index)["features"]
            if isinstance(features, (list, tuple)):
                self._examples[fold_index] = None
            else:
                channels_last = plugins.backend(self._library).channels_last()
                self._examples[fold_index] = np.ascontiguousarray(
                    library_features(features[:EXAMPLE_ROWS], self._splitset.layout, channels_last))
        return self._examples[fold_index]


def log_model(mlflow: ModuleType, client: Any, uri: str, experiment_id: str, run_id: str, predictor_id: int,
              library: str, versions: dict[str, str], examples: Examples, fold_index: int | None) -> str:
    """Log predictor ``predictor_id``'s model to run ``run_id`` with its library's flavour.

    Returns:
        What the run's ``assay.model`` tag records: the model's URI (``models:/m-...``), or why there is none
        (a library without a flavour in :data:`FLAVOURS`).
    """
    flavour = FLAVOURS.get(library)
    if flavour is None:
        return f"none: assay knows no MLflow flavour for library {library!r}; the bundle artifact predicts with it"
    import importlib

    module = importlib.import_module(flavour.module)
    model = Trained.load(predictor_id).model()
    example = examples.get(fold_index)
    signature = None
    if example is not None and flavour.output is not None:
        signature = mlflow.models.infer_signature(example, flavour.output(model, example))
    flavor: Any = module
    if flavour.needs_folder:
        def save_model(path: str, **kwargs: Any) -> Any:
            os.makedirs(path, exist_ok=True)
            return module.save_model(path=path, **kwargs)

        flavor = SimpleNamespace(__name__=module.__name__, save_model=save_model)
    # a logged model made here, in this experiment: Model.log would otherwise put it in the active experiment
    logged = client.create_logged_model(experiment_id, name=MODEL_NAME, source_run_id=run_id)
    with tracking_uri(mlflow, uri):
        info = mlflow.models.Model.log(
            artifact_path=None, name=MODEL_NAME, flavor=flavor, run_id=run_id, model_id=logged.model_id,
            signature=signature, input_example=example, pip_requirements=_requirements(flavour, versions),
            **{flavour.model_argument: model},
        )
    return info.model_uri
