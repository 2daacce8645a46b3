"""The public objects declare what they store, and ``assay`` exposes exactly its public names.

The layering itself (imports point down, no cycles) is checked by import-linter in ``nox -s lint``.
"""

from __future__ import annotations

import inspect

import pytest

import assay
from assay.objects.base import column

PUBLIC_CLASSES = ["Dataset", "Splitset", "Fold", "Algorithm", "Queue", "Job", "Predictor", "Prediction", "Label",
                  "Feature", "Encoderset", "Coder", "Foldset", "Hyperparamset"]


@pytest.mark.parametrize("name", PUBLIC_CLASSES)
def test_every_stored_column_is_a_declared_documented_attribute(name):
    cls = getattr(assay, name)
    table = cls._row_type.__table__
    missing = [c.name for c in table.columns if not hasattr(cls, c.name)]
    assert not missing, f"{name} does not declare {missing}: add `name = column[type](doc)` to the class"
    for attribute_name, attribute in vars(cls).items():
        if isinstance(attribute, column):
            assert attribute_name in table.columns, f"{name}.{attribute_name} is not a column of {table.name}"
            assert attribute.__doc__, f"{name}.{attribute_name} has no description"


def test_declared_columns_read_like_attributes_and_refuse_writes(db):
    from sklearn.preprocessing import OrdinalEncoder

    from assay import datum

    splitset = assay.Pipeline.Tabular.make(df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
                                           label_encoder=dict(sklearn_preprocess=OrdinalEncoder()), size_test=0.2)
    dataset = assay.Dataset.get(assay.Splitset.get(splitset.id).dataset_id)
    assert (dataset.row_count, dataset.columns[-1]) == (150, "species")
    assert isinstance(dataset.blob, bytes)  # deferred: read on request
    assert len(dataset.blob) > 0
    assert splitset.size_test == 0.2
    assert "rows" in inspect.getdoc(assay.Dataset.row_count)
    with pytest.raises(AttributeError, match="stored"):
        dataset.row_count = 3


def test_assay_exposes_each_public_name_lazily_and_in_dir():
    assert set(assay.__all__) == {"__version__", "errors", "setup", *assay._LAZY}
    assert set(dir(assay)) == set(assay.__all__)
    for name in assay._LAZY:
        assert getattr(assay, name) is not None


def test_prediction_plots_draw_any_prediction_data_without_a_database_or_a_model():
    import attrs
    import numpy as np

    from assay.contracts import PredictionData
    from assay.evaluation import plots

    @attrs.frozen
    class Plain:
        """Predictions a plugin author computed elsewhere: the Protocol is all a plot reads."""

        id: int = 0
        split: str = "test"
        metrics: dict = attrs.field(factory=lambda: {"roc_auc": 0.75})
        predictions: np.ndarray = attrs.field(factory=lambda: np.array(["a", "b", "b", "a"]))
        labels: np.ndarray = attrs.field(factory=lambda: np.array(["a", "b", "a", "a"]))
        probabilities: np.ndarray = attrs.field(factory=lambda: np.array([0.2, 0.9, 0.6, 0.3]))
        classes: list = attrs.field(factory=lambda: ["a", "b"])

    prediction = Plain()
    assert isinstance(prediction, PredictionData)
    counts = plots.plot_confusion_matrix(prediction).axes[0].images[0].get_array()
    assert np.asarray(counts).tolist() == [[2, 1], [0, 1]]  # rows: true a, b; columns: predicted a, b
    assert plots.plot_roc_curve(prediction).axes[0].get_title() == "ROC curve, test split"
