"""assay never writes into the caller's DataFrame or a stored dataset, whatever the encoder's settings.

scikit-learn encoders built with ``copy=False`` transform their input in place, and pandas hands them memory
shared with the caller's frame and the stored dataset. Every encoder is exercised here with ``copy=False`` on
every split and fold path: the data must stay byte-identical and the encoded samples must equal those of the
same encoder with ``copy=True`` (rows encoded twice would differ). Encoders whose output does not have one row
per input row (a text vectorizer handed a table) are refused instead of broadcast.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA, FactorAnalysis, IncrementalPCA
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.preprocessing import (
    Binarizer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sqlalchemy import select

import assay
from assay import errors
from assay.db import session_scope
from assay.db.models import DatasetRow

# Every scikit-learn transformer with a ``copy`` parameter that can encode features unsupervised. The
# cross_decomposition ones (CCA, PLS*) need y to fit and are no feature encoders.
COPY_ENCODERS = {
    "Binarizer": Binarizer(threshold=1.5),
    "FactorAnalysis": FactorAnalysis(n_components=2),
    "IncrementalPCA": IncrementalPCA(),
    "KNNImputer": KNNImputer(n_neighbors=3),
    "MaxAbsScaler": MaxAbsScaler(),
    "MinMaxScaler": MinMaxScaler(),
    "Normalizer": Normalizer(),
    "PCA": PCA(),
    "PowerTransformer": PowerTransformer(),
    "PowerTransformer(box-cox)": PowerTransformer(method="box-cox"),
    "QuantileTransformer": QuantileTransformer(n_quantiles=20),
    "RobustScaler": RobustScaler(),
    "SimpleImputer": SimpleImputer(),
    "StandardScaler": StandardScaler(),
}
NEEDS_Y = {"CCA", "PLSCanonical", "PLSRegression", "PLSSVD"}

# every way make() splits rows: train only, test, test + validation, test + folds, folds only
SPLIT_PATHS = {
    "train_only": dict(),
    "test": dict(size_test=0.25),
    "test_validation": dict(size_test=0.2, size_validation=0.2),
    "test_folds": dict(size_test=0.2, fold_count=3),
    "folds": dict(fold_count=3),
}


def positive_frame(rows: int = 60) -> pd.DataFrame:
    """Strictly positive values (Box-Cox needs them), a text column one-hot encoded, a regression label."""
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "a": rng.exponential(size=rows) + 1.0,
        "b": rng.normal(10, 2, size=rows).clip(1),
        "c": np.linspace(1, 5, rows),
        "city": pd.Series(rng.choice(["oslo", "rome"], size=rows), dtype="str"),
        "y": rng.exponential(size=rows) + 2.0,
    })


def fingerprint(df: pd.DataFrame) -> str:
    """sha256 over column names, dtypes, index and every column's raw bytes."""
    digest = hashlib.sha256()
    digest.update(pickle.dumps([(str(c), str(t)) for c, t in df.dtypes.items()]))
    digest.update(np.ascontiguousarray(df.index.to_numpy()).tobytes())
    for column in df.columns:
        values = df[column].to_numpy()
        digest.update(np.ascontiguousarray(values).tobytes() if values.dtype.kind in "biuf"
                      else pickle.dumps(values.tolist()))
    return digest.hexdigest()


def stored_fingerprints(dataset_id: int) -> tuple[str, str]:
    """The stored bytes' own hash and the fingerprint of the frame read back from them."""
    with session_scope() as session:
        blob = session.scalars(select(DatasetRow.blob).where(DatasetRow.id == dataset_id)).one()
    return hashlib.sha256(blob).hexdigest(), fingerprint(assay.Dataset.get(dataset_id).to_pandas())


def without_copy(encoder):
    return clone(encoder).set_params(copy=False)


def make(df, encoder, path, **extra):
    return assay.Pipeline.Tabular.make(
        df, label_column="y", label_encoder=dict(sklearn_preprocess=extra.pop("label") or StandardScaler(copy=False)),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), dtypes="str"),
                          dict(sklearn_preprocess=encoder, columns=["a", "b", "c"])],
        **SPLIT_PATHS[path], **extra,
    )


def every_sample(splitset) -> dict[tuple, dict]:
    keys = [(split, None) for split in splitset.samples]
    keys += [(split, fold.fold_index) for fold in splitset.folds for split in ("train", "validation")]
    return {key: splitset.samples_for(*key) for key in keys}


def test_the_encoder_list_covers_every_sklearn_transformer_with_a_copy_parameter():
    from sklearn.utils import all_estimators

    with_copy = {name for name, cls in all_estimators(type_filter="transformer")
                 if "copy" in inspect.signature(cls).parameters}
    covered = {name.split("(")[0] for name in COPY_ENCODERS}
    assert with_copy - NEEDS_Y <= covered, sorted(with_copy - NEEDS_Y - covered)


@pytest.mark.parametrize("name", sorted(COPY_ENCODERS))
def test_copy_false_encoders_leave_the_callers_frame_and_the_stored_dataset_byte_identical(db, name):
    df = positive_frame()
    before = fingerprint(df)
    for path in SPLIT_PATHS:
        splitset = make(df, without_copy(COPY_ENCODERS[name]), path,
                        label=without_copy(COPY_ENCODERS[name]) if name != "FactorAnalysis" else None)
        stored = stored_fingerprints(splitset.dataset_id)
        samples = every_sample(splitset)
        new_rows = df.iloc[::3].copy()
        new_before = fingerprint(new_rows)
        for fold_index in [None] + [fold.fold_index for fold in splitset.folds]:
            splitset.encode_features(new_rows, fold_index=fold_index)

        assert fingerprint(df) == before, path
        assert fingerprint(new_rows) == new_before, path
        assert stored_fingerprints(splitset.dataset_id) == stored, path
        assert stored[1] == before, path
        # the same rows encoded with copy=True give the same arrays: nothing was encoded twice
        reference = make(df, clone(COPY_ENCODERS[name]), path, seed=splitset.seed,
                         label=clone(COPY_ENCODERS[name]) if name != "FactorAnalysis" else None)
        for key, arrays in every_sample(reference).items():
            np.testing.assert_allclose(samples[key]["features"], arrays["features"], rtol=1e-5, err_msg=str(key))
            np.testing.assert_allclose(samples[key]["labels"], arrays["labels"], rtol=1e-5, err_msg=str(key))


def test_decoding_predictions_with_a_copy_false_label_encoder_leaves_the_predictions_as_they_were(db):
    df = positive_frame()
    splitset = make(df, StandardScaler(copy=False), "test", label=PowerTransformer(method="box-cox", copy=False))
    predictions = splitset.samples_for("test")["labels"]
    kept = predictions.copy()

    decoded = splitset.decode_labels(predictions)

    np.testing.assert_array_equal(predictions, kept)
    np.testing.assert_allclose(decoded, df["y"].iloc[splitset.samples["test"]], rtol=1e-4)


def text_frame(rows: int = 40) -> pd.DataFrame:
    words = np.array(["good", "bad"])[np.arange(rows) % 2]
    return pd.DataFrame({"review": [f"this was {w} {w} really" for w in words],
                         "stars": np.arange(rows) % 5 + 0.5, "liked": (words == "good").astype(int)})


@pytest.mark.parametrize("vectorizer", [CountVectorizer(), TfidfVectorizer()], ids=lambda v: type(v).__name__)
def test_a_text_vectorizer_encodes_each_row_of_its_one_column(db, vectorizer):
    df = text_frame()
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="liked", feature_encoders=[dict(sklearn_preprocess=vectorizer, columns=["review"])],
        size_test=0.25,
    )

    features = splitset.samples_for("train")["features"]
    labels = splitset.samples_for("train")["labels"].ravel()

    names = splitset.feature_names
    assert {"review:good", "review:bad", "review:really"} <= set(names)  # column:word
    assert names[-1] == "stars"  # passthrough after the encoded outputs
    # the words differ by row: no single broadcast row, and "good" marks exactly the liked reviews
    assert (features[:, names.index("review:good")] > 0).tolist() == (labels == 1).tolist()


def test_a_text_vectorizer_given_several_columns_is_refused_with_the_fix(db):
    df = text_frame().assign(title=lambda frame: frame["review"].str.upper())
    with pytest.raises(errors.EncoderError, match=r"feature_encoders\[0\].*one text column.*columns=\['review'\]"):
        assay.Pipeline.Tabular.make(
            df, label_column="liked", feature_encoders=[dict(sklearn_preprocess=CountVectorizer(), dtypes="str")],
            size_test=0.25,
        )


class OneRowEncoder(TransformerMixin, BaseEstimator):
    """Summarises the whole table into one row, as a vectorizer that read the column names would."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float).mean(axis=0, keepdims=True)


def test_an_encoder_returning_fewer_rows_than_it_was_given_is_refused_before_anything_is_stored(db):
    df = text_frame()
    with pytest.raises(errors.EncoderError, match=r"feature_encoders\[0\].*OneRowEncoder returned shape \(1, 1\)"):
        assay.Pipeline.Tabular.make(
            df, label_column="liked", feature_encoders=[dict(sklearn_preprocess=OneRowEncoder(), columns=["stars"])],
            feature_cols_excluded="review", size_test=0.25,
        )
    with session_scope() as session:
        assert session.scalars(select(DatasetRow.id)).all() == []


def fn_build_regression(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 4), nn.ReLU(), nn.Linear(4, 1))


def fn_train_regression(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


@pytest.mark.parametrize("path", ["test_validation", "test_folds"])
def test_inference_and_importance_with_copy_false_encoders_leave_every_frame_byte_identical(db, path):
    pytest.importorskip("assay_torch")
    df = positive_frame()
    before = fingerprint(df)
    splitset = make(df, PowerTransformer(method="box-cox", copy=False), path,
                    label=PowerTransformer(method="box-cox", copy=False))
    stored = stored_fingerprints(splitset.dataset_id)
    queue = assay.Experiment.make(
        library="torch", analysis_type="regression", fn_build=fn_build_regression, fn_train=fn_train_regression,
        splitset_id=splitset.id, seed=3,
    )
    assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]
    new_rows = df.drop(columns="y").iloc[::2]
    new_before = fingerprint(new_rows)

    for predictor in queue.predictors:
        inferred = predictor.infer(new_rows)
        importance = predictor.feature_importance(split="test", permutation_count=2)

        assert np.isfinite(inferred["prediction"]).all()
        assert np.isfinite(importance["importance_mean"]).all()
        assert set(importance["feature"]) == {"a", "b", "c", "city"}
        assert fingerprint(new_rows) == new_before
        assert fingerprint(df) == before
        assert stored_fingerprints(splitset.dataset_id) == stored
