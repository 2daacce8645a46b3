"""Text to padded token ids, for ``Embedding`` + recurrent models (the integer counterpart of CountVectorizer).

>>> from assay_sklearn.text import TokenSequencer
>>> encoder = TokenSequencer(vocabulary_size=2000, sequence_length=40)
>>> assay.Pipeline.Tabular.make(..., feature_encoders=[dict(sklearn_preprocess=encoder, columns=["TextData"])])

Like the scikit-learn vectorizers it takes a 1-D sequence of documents, so the pipeline hands it one text column.
It is not categorical: the vocabulary is learned from the train (fold-train) rows only, so a word that appears only
in validation or test is out of vocabulary there, as it would be in production.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["TokenSequencer"]

PAD, UNKNOWN = 0, 1  # ids reserved: padding, and words outside the vocabulary


class TokenSequencer(TransformerMixin, BaseEstimator):
    """Map each document to ``sequence_length`` token ids: ``0`` pads, ``1`` is a word outside the vocabulary,
    ``2..vocabulary_size-1`` are the most frequent words of the training documents (ties broken alphabetically).

    Args:
        vocabulary_size: ids in use, padding and unknown included; the ``input_dim`` of an ``Embedding`` layer.
        sequence_length: tokens per document; longer documents are cut, shorter ones padded with 0.
        lowercase: lower-case documents before splitting them into words.
        token_pattern: regular expression of one token (scikit-learn's default, which keeps words of 2+ chars).
        padding, truncating: ``"post"`` (pad/cut at the end) or ``"pre"`` (at the start, so the last words
            stay next to the model's output, as Keras' ``pad_sequences`` does by default).
    """

    def __init__(self, vocabulary_size: int = 10_000, sequence_length: int = 100, lowercase: bool = True,
                 token_pattern: str = r"(?u)\b\w\w+\b", padding: str = "post", truncating: str = "post"):
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.padding = padding
        self.truncating = truncating

    def _check_params(self) -> None:
        for name, least in (("vocabulary_size", 3), ("sequence_length", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise ValueError(f"{name} must be an integer of at least {least}, got {value!r}")
        for name in ("padding", "truncating"):
            if getattr(self, name) not in ("pre", "post"):
                raise ValueError(f"{name} must be 'pre' or 'post', got {getattr(self, name)!r}")

    def _tokens(self, document: Any) -> list[str]:
        if not isinstance(document, str):
            raise ValueError(f"documents must be strings, got {type(document).__name__} {document!r}")
        text = document.lower() if self.lowercase else document
        return re.findall(self.token_pattern, text)

    def fit(self, documents: Any, y: Any = None) -> TokenSequencer:
        """Learn the ``vocabulary_size - 2`` most frequent words of ``documents``."""
        self._check_params()
        counts: Counter[str] = Counter()
        for document in documents:
            counts.update(self._tokens(document))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: self.vocabulary_size - 2]
        self.vocabulary_ = {word: index + 2 for index, (word, _) in enumerate(ranked)}
        return self

    def transform(self, documents: Any) -> np.ndarray:
        """``(n, sequence_length)`` int64 token ids."""
        out = np.full((len(documents), self.sequence_length), PAD, dtype=np.int64)
        vocabulary, length = self.vocabulary_, self.sequence_length
        for row, document in enumerate(documents):
            ids = [vocabulary.get(token, UNKNOWN) for token in self._tokens(document)]
            ids = ids[:length] if self.truncating == "post" else ids[-length:]
            if ids:
                if self.padding == "post":
                    out[row, : len(ids)] = ids
                else:
                    out[row, length - len(ids):] = ids
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``token_0 .. token_{sequence_length-1}``: positions, not words."""
        return np.asarray([f"token_{i}" for i in range(self.sequence_length)], dtype=object)
