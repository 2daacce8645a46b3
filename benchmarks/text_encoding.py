"""Text encoding memory: a TF-IDF vectorizer's sparse output densified chunk by chunk versus all at once.

Encodes the spam messages (repeated to ``--rows``) with ``TfidfVectorizer(max_features=--vocabulary)`` through
``FittedEncoders.encode_features`` (what ``samples_for`` and inference use) and, as the baseline, with one
``transform(...).toarray()`` of every row, in the same process. Prints peak traced memory (tracemalloc) of each
and their ratio; both results are compared, so the chunked path is the same numbers in less memory.

    python benchmarks/text_encoding.py --rows 40000 --vocabulary 5000
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import OrdinalEncoder

import assay
from assay import datum


def measure(fn):
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak / 2**20, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--vocabulary", type=int, default=5_000)
    args = parser.parse_args()
    spam = datum.to_pandas("spam")
    df = pd.concat([spam] * (args.rows // len(spam) + 1), ignore_index=True).head(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        assay.setup(f"sqlite:///{folder}/bench.sqlite3")
        splitset = assay.Pipeline.Tabular.make(
            df_or_path=df, label_column="label", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
            feature_encoders=[dict(sklearn_preprocess=TfidfVectorizer(max_features=args.vocabulary),
                                   columns=["TextData"])],
            size_test=0.2,
        )
        encoders = splitset.encoders()
        fitted = encoders.features[0].load()
        chunked, chunked_mb, chunked_s = measure(lambda: encoders.encode_features(df))
        whole, whole_mb, whole_s = measure(
            lambda: fitted.transform(df["TextData"].to_numpy(dtype=object)).toarray().astype(np.float32))
        assert np.allclose(chunked, whole, atol=1e-6)
    output_mb = chunked.nbytes / 2**20
    print(f"{args.rows:,} rows x {chunked.shape[1]:,} columns (float32 result {output_mb:.0f} MiB)")
    print(f"{'path':<32}{'peak MiB':>10}{'over result':>13}{'seconds':>9}")
    print(f"{'all rows at once (baseline)':<32}{whole_mb:>10.0f}{whole_mb / output_mb:>12.2f}x{whole_s:>9.2f}")
    print(f"{'chunked (assay)':<32}{chunked_mb:>10.0f}{chunked_mb / output_mb:>12.2f}x{chunked_s:>9.2f}")
    print(f"peak memory ratio chunked / baseline: {chunked_mb / whole_mb:.2f}")


if __name__ == "__main__":
    main()
