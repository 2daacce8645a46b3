"""Text columns: scikit-learn vectorizers and padded token ids as feature encoders of a text column, fitted on
train (fold-train) rows only, densified in chunks, one feature for permutation importance, raw strings at
inference; and bad text input refused before anything is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.preprocessing import OrdinalEncoder, StandardScaler
from test_pipeline_errors import row_counts

import assay
from assay import datum, errors
from assay.data import encoding

TokenSequencer = pytest.importorskip("assay_sklearn.text").TokenSequencer


def spam(rows: int = 200) -> pd.DataFrame:
    df = datum.to_pandas("spam").head(rows).copy()
    df["length"] = df["TextData"].str.len().astype("float64")
    return df


def make(df: pd.DataFrame, encoder=None, **overrides):
    kwargs = dict(
        df_or_path=df, label_column="label", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
        feature_encoders=[dict(sklearn_preprocess=encoder or TfidfVectorizer(max_features=50), columns=["TextData"]),
                          dict(sklearn_preprocess=StandardScaler(), columns=["length"])],
        size_test=0.25, size_validation=0.25,
    )
    kwargs.update(overrides)
    return assay.Pipeline.Tabular.make(**kwargs)


def test_the_datum_spam_is_a_text_column_and_a_label():
    df = datum.to_pandas("spam")
    assert list(df.columns) == ["label", "TextData"]
    assert set(df["label"]) == {"ham", "spam"}


def test_a_vectorizer_learns_its_vocabulary_from_the_train_rows_only(db):
    df = spam()
    splitset = make(df)
    fitted = splitset.encoders().features[0].load()
    train_texts = df["TextData"].iloc[splitset.samples["train"]]
    expected = TfidfVectorizer(max_features=50).fit(train_texts)
    assert fitted.vocabulary_ == expected.vocabulary_
    assert splitset.features_shape == (51,)  # the vocabulary size the user set, and the scaled length
    assert splitset.feature_names[:2] == [f"TextData:{word}" for word in expected.get_feature_names_out()[:2]]
    test_rows = splitset.samples["test"]
    np.testing.assert_allclose(splitset.samples_for("test")["features"][:, :50],
                               expected.transform(df["TextData"].iloc[test_rows]).toarray(), rtol=1e-6)


def test_each_fold_learns_its_own_vocabulary_from_its_train_rows(db):
    df = spam()
    splitset = make(df, CountVectorizer(max_features=30), size_validation=None, fold_count=2)
    for fold_index in (0, 1):
        fitted = splitset.encoders(fold_index).features[0].load()
        texts = df["TextData"].iloc[splitset.row_indices("train", fold_index)]
        assert fitted.vocabulary_ == CountVectorizer(max_features=30).fit(texts).vocabulary_
    assert splitset.encoders(0).features[0].load().vocabulary_ != splitset.encoders(1).features[0].load().vocabulary_


def test_sparse_output_is_densified_chunk_by_chunk_with_the_same_result(db, monkeypatch):
    splitset = make(spam(), HashingVectorizer(n_features=2**9))
    whole = splitset.samples_for("train")["features"]
    monkeypatch.setattr(encoding, "ENCODE_CHUNK_BYTES", 8 * 513 * 7)  # seven rows at a time
    assert encoding.chunk_rows(513) == 7
    splitset.clear_cache()
    np.testing.assert_array_equal(splitset.samples_for("train")["features"], whole)
    assert whole.dtype == np.float32
    assert np.count_nonzero(whole[:, :-1]) > 0


def test_an_unbounded_hashing_width_is_refused_before_anything_is_written(db):
    before = row_counts()
    with pytest.raises(errors.EncoderError, match="n_features") as caught:
        make(datum.to_pandas("spam").assign(length=1.0), HashingVectorizer())  # 2**20 columns by default
    assert caught.value.parameter == "feature_encoders[0]"
    assert row_counts() == before


def test_token_ids_are_padded_and_learned_from_train_rows(db):
    df = spam()
    splitset = make(df, TokenSequencer(vocabulary_size=40, sequence_length=12))
    fitted = splitset.encoders().features[0].load()
    train_texts = df["TextData"].iloc[splitset.samples["train"]]
    assert fitted.vocabulary_ == TokenSequencer(vocabulary_size=40, sequence_length=12).fit(train_texts).vocabulary_
    ids = splitset.samples_for("test")["features"][:, :12]
    assert ids.min() >= 0
    assert ids.max() <= 39
    assert np.array_equal(ids, np.rint(ids))
    short = TokenSequencer(vocabulary_size=10, sequence_length=5).fit(["a bb bb cc", "bb dd"])
    assert short.transform(["bb cc zz", "dd bb bb bb bb bb bb"]).tolist() == [[2, 3, 1, 0, 0], [4, 2, 2, 2, 2]]


@pytest.mark.parametrize(("frame", "encoder", "columns", "message"), [
    (lambda df: df, TfidfVectorizer(), ["length"], "holds float64 numbers"),
    (lambda df: df.assign(TextData=df["TextData"].where(df.index != 5, None)), CountVectorizer(), ["TextData"],
     "not strings"),
    (lambda df: df.assign(TextData=pd.Series(range(len(df)), dtype=object)), TfidfVectorizer(), ["TextData"],
     "not strings"),
    (lambda df: df.assign(Other=df["TextData"]), TfidfVectorizer(), ["TextData", "Other"], "one text column"),
    (lambda df: df, TokenSequencer(), ["length"], "holds float64 numbers"),
])
def test_bad_text_input_names_the_encoder_and_writes_nothing(db, frame, encoder, columns, message):
    df = frame(spam(60))
    before = row_counts()
    with pytest.raises(errors.EncoderError, match=message) as caught:
        assay.Pipeline.Tabular.make(
            df_or_path=df, label_column="label", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
            feature_encoders=[dict(sklearn_preprocess=encoder, columns=columns)],
            feature_cols_excluded=[c for c in df.columns if c not in columns and c != "label"], size_test=0.25,
        )
    assert caught.value.parameter == "feature_encoders[0].columns"
    assert row_counts() == before


def fn_build_torch(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())


def fn_train_torch(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


def test_a_tfidf_model_predicts_raw_strings_and_the_text_column_is_one_feature(db, tmp_path):
    pytest.importorskip("assay_torch")
    splitset = make(spam())
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build_torch,
                                  fn_train=fn_train_torch, hyperparameters={"unused": [0]}, splitset_id=splitset.id)
    queue.run_jobs()
    predictor = queue.jobs[0].predictor
    raw = pd.DataFrame({"TextData": ["free entry to win a prize, text WIN now", "see you at home"],
                        "length": [42.0, 15.0]})
    frame = predictor.infer(raw)
    assert set(frame["prediction"]) <= {"ham", "spam"}
    assert frame["probability_spam"].between(0, 1).all()
    bundle = assay.load_bundle(predictor.export(tmp_path / "spam.assay"))
    pd.testing.assert_frame_equal(bundle.predict(raw), frame, check_exact=False, atol=1e-6, check_like=True)
    importance = predictor.feature_importance("validation", permutation_count=1)
    assert sorted(importance["feature"]) == ["TextData", "length"]  # not one feature per word


def fn_build_lstm(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import LSTM, Dense, Embedding

    return Sequential([Input(shape=features_shape), Embedding(input_dim=hp["vocabulary_size"], output_dim=8),
                       LSTM(4), Dense(1, activation="sigmoid")])


def fn_train_lstm(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"], verbose=0, batch_size=32, epochs=1,
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]))
    return model


def test_an_embedding_lstm_model_trains_on_token_ids_and_predicts_raw_strings(db):
    pytest.importorskip("assay_keras")
    tokens = TokenSequencer(vocabulary_size=60, sequence_length=10)
    splitset = make(spam(120).drop(columns="length"),
                    feature_encoders=[dict(sklearn_preprocess=tokens, columns=["TextData"])])
    assert splitset.features_shape == (10,)
    queue = assay.Experiment.make(library="keras", analysis_type="classification_binary", fn_build=fn_build_lstm,
                                  fn_train=fn_train_lstm, hyperparameters={"vocabulary_size": [60]},
                                  splitset_id=splitset.id)
    queue.run_jobs()
    assert queue.status()["succeeded"] == 1
    predictor = queue.jobs[0].predictor
    assert {"accuracy", "roc_auc"} <= set(predictor.metrics["test"])
    frame = predictor.infer(pd.DataFrame({"TextData": ["call now to claim", "ok see you later"]}))
    assert set(frame["prediction"]) <= {"ham", "spam"}
