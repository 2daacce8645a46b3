"""One trained model, loaded by predictor id: its rows, the user's functions and the model itself.

Evaluation (feature importance), inference and the public :class:`assay.Predictor` all start from here, so they
load a model and its context the same way.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs

from assay import contracts, plugins
from assay.db.models import AlgorithmRow, JobRow, PredictorRow, QueueRow
from assay.db.queries import data as data_queries
from assay.db.queries import experiments as queries
from assay.experiment import truth
from assay.experiment.functions import load_functions


@attrs.frozen(slots=False)  # slots off: the cached property below needs an instance __dict__
class Trained:
    """A stored predictor with the job, queue and algorithm that made it (rows, readable after their session)."""

    predictor: PredictorRow
    job: JobRow
    queue: QueueRow
    algorithm: AlgorithmRow
    hyperparameters: dict[str, Any]

    @classmethod
    def load(cls, predictor_id: int) -> Trained:
        """Load by id; raises :class:`~assay.errors.NotFoundError` when there is no such predictor."""
        predictor, job, combo, queue, algorithm = queries.predictor_context(predictor_id)
        return cls(predictor, job, queue, algorithm, dict(combo.hyperparameters))

    @property
    def id(self) -> int:
        return self.predictor.id

    @property
    def functions(self) -> dict[str, Any]:
        """The user's five functions, by name."""
        return load_functions(self.algorithm.id)

    @property
    def features_shape(self) -> Any:
        """One sample's shape as ``fn_build`` received it (a list of shapes for a multi-input splitset)."""
        return contracts.features_shape(self.predictor.features_shape)

    @property
    def label_shape(self) -> tuple[int, ...] | None:
        shape = self.predictor.label_shape
        return None if shape is None else tuple(shape)

    def model(self) -> Any:
        """The trained model, loaded back from its stored bytes with the library's own safe loader."""
        class_count = len(data_queries.label_classes(self.queue.splitset_id))
        return plugins.backend(self.algorithm.library).model_from_bytes(
            queries.model_blob(self.id), fn_build=self.functions["fn_build"], features_shape=self.features_shape,
            label_shape=contracts.build_label_shape(self.label_shape, self.algorithm.analysis_type, class_count),
            hyperparameters=self.hyperparameters,
        )

    @functools.cached_property
    def _predictions(self) -> dict[str, Any]:
        return {row.split: row for row in queries.prediction_rows(self.id)}

    def evaluated_splits(self) -> list[str]:
        """The splits predicted after training, in the order they were stored."""
        return list(self._predictions)

    def prediction_arrays(self, split: str) -> dict[str, Any]:
        """The stored arrays (``row_indices``, ``predictions``, ...) of this model's prediction on ``split``."""
        return truth.stored_arrays(self._predictions[split].id)

    def metrics(self) -> dict[str, dict[str, float]]:
        """Split -> metric -> value, for the splits predicted after training."""
        return {split: dict(row.metrics) for split, row in self._predictions.items()}

    def prediction(self, split: str) -> StoredPrediction | None:
        """This model's prediction on ``split`` as plots read it; ``None`` when it was not predicted on it."""
        row = self._predictions.get(split)
        return None if row is None else StoredPrediction(row.id, row.split, dict(row.metrics or {}))


@attrs.define
class StoredPrediction:
    """One stored prediction as plots read it (a :class:`~assay.contracts.PredictionData`); arrays read once."""

    id: int
    split: str
    metrics: dict[str, float] = attrs.field(factory=dict)
    _arrays: dict[str, Any] | None = attrs.field(default=None, alias="arrays")

    def _array(self, name: str) -> Any:
        if self._arrays is None:
            self._arrays = truth.stored_arrays(self.id)
        return self._arrays.get(name)

    @property
    def predictions(self) -> Any:
        return self._array("predictions")

    @property
    def probabilities(self) -> Any:
        return self._array("probabilities")

    @property
    def labels(self) -> Any:
        return self._array("labels")

    @property
    def classes(self) -> list[Any]:
        classes = self._array("classes")
        return [] if classes is None else classes.tolist()
