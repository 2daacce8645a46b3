"""The read side of a multi-input splitset: one label, several feature inputs aligned by sample.

A multi-input splitset (``assay.Pipeline.make(inputs=[...])``) is stored as a splitset holding the label, the
splits and the folds, plus one unsupervised splitset per input with the same splits and folds, holding that
input's dataset, feature columns and encoders (fitted on the shared train rows). :class:`MultiInputData` joins
them: ``samples_for`` gives ``{"features": [one array per input, in order], "labels": ...}``, ``features_shape`` is
a list of shapes and ``layout`` a list of layouts. Everything about the label and the splits is the label
splitset's (:class:`~assay.data.read.splitsets.SplitsetData`, reached by attribute delegation).

Inputs' columns are named ``"<input>: <column>"`` wherever the inputs are seen together (feature columns and
names, permutation importance), so two inputs may share column names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay import errors

KIND = "multi"


def qualified(name: str, column: str) -> str:
    """A column of one input, as multi-input splitsets name it: ``"<input>: <column>"``."""
    return f"{name}: {column}"


def renamed(exc: errors.ValidationError, parameter: str) -> errors.ValidationError:
    """The same error, naming ``parameter`` (e.g. ``inputs[1].feature_encoders``) instead of its own parameter."""
    message = str(exc)
    prefix = f"{exc.parameter}: "
    message = message[len(prefix):] if message.startswith(prefix) else message
    renamed_exc = type(exc)(parameter, message)
    return renamed_exc


def per_input(data: Any, names: list[str], parameter: str) -> list[Any]:
    """New raw data for each input, in input order: a list/tuple with one item per input, or a dict by name."""
    if isinstance(data, dict):
        unknown = [key for key in data if key not in names]
        missing = [name for name in names if name not in data]
        if unknown or missing:
            raise errors.SchemaMismatchError(
                parameter, f"the model takes the inputs {names}; got keys {list(data)} (missing {missing}, unknown "
                f"{unknown}); give one entry per input")
        return [data[name] for name in names]
    if isinstance(data, (list, tuple)) and len(data) == len(names):
        return list(data)
    got = f"a list of {len(data)}" if isinstance(data, (list, tuple)) else type(data).__name__
    raise errors.SchemaMismatchError(
        parameter, f"the model takes {len(names)} inputs {names}; give a list with the raw data of each input, in "
        f"that order (or a dict by input name), got {got}")


class MultiInputData:
    """A stored multi-input splitset: the label splitset (``label``) and the inputs' splitsets (``inputs``).

    Attributes not defined here (ids, splits, folds, labels, ``decode_labels``, ``raw_labels``...) are the label
    splitset's.
    """

    def __init__(self, label: Any, inputs: list[tuple[str, Any]]):
        self.label = label
        self.inputs = inputs
        self.aligned: set[tuple[str, int | None]] = set()  # (split, fold) whose rows every input was checked to share

    def __getattr__(self, name: str) -> Any:
        if name in ("label", "inputs", "aligned"):  # not set yet (unpickling): never recurse
            raise AttributeError(name)
        return getattr(self.label, name)

    def __repr__(self) -> str:
        return f"<MultiInputData splitset {self.label.id}: inputs {self.input_names}>"

    @property
    def input_names(self) -> list[str]:
        return [name for name, _ in self.inputs]

    @property
    def kind(self) -> str:
        return KIND

    @property
    def kinds(self) -> list[str]:
        """Each input's kind (``tabular``, ``sequence``, ``image``), in order."""
        return [data.kind for _, data in self.inputs]

    @property
    def layout(self) -> list[str]:
        """Each input's axis layout, in order (see ``SplitsetData.layout``)."""
        return [data.layout for _, data in self.inputs]

    @property
    def features_shape(self) -> list[tuple[int, ...]]:
        """One encoded sample's shape per input, in order."""
        return [tuple(data.features_shape) for _, data in self.inputs]

    @property
    def sample_shape(self) -> None:
        return None

    @property
    def feature_columns(self) -> list[str]:
        """Every input's original columns (features, channels), as ``"<input>: <column>"``."""
        return [qualified(name, column) for name, data in self.inputs for column in data.feature_columns]

    @property
    def feature_dtypes(self) -> dict[str, str]:
        return {qualified(name, column): dtype for name, data in self.inputs
                for column, dtype in data.feature_dtypes.items()}

    @property
    def feature_names(self) -> list[str]:
        """Every input's encoded output names, as ``"<input>: <name>"``."""
        return [qualified(name, column) for name, data in self.inputs for column in data.feature_names]

    def samples_for(self, split: str, fold_index: int | None = None) -> dict[str, Any]:
        """``{"features": [float32 (n, *shape) per input], "labels": (n, *label_shape)}`` of one split; every
        input's rows are the split's rows in the same order (checked)."""
        if (split, fold_index) not in self.aligned:
            rows = self.label.row_indices(split, fold_index)
            for name, data in self.inputs:
                if data.row_indices(split, fold_index) != rows:
                    raise errors.SplitError("splitset_id", f"input {name!r} of splitset {self.label.id} holds other "
                                            f"{split} rows than its label; the splitset is damaged, make it again")
            self.aligned.add((split, fold_index))
        features = [data.samples_for(split, fold_index)["features"] for _, data in self.inputs]
        return {"features": features, "labels": self.label.labels_for(split, fold_index)}

    def encode_features(self, data: Any, fold_index: int | None = None, parameter: str = "df_or_path") -> list:
        """Encode new raw data of every input (a list in input order, or a dict by input name) with its own
        encoders, after checking each input's columns or sample shape and that they hold the same sample count."""
        items = per_input(data, self.input_names, parameter)
        encoded = []
        for index, ((name, input_data), item) in enumerate(zip(self.inputs, items, strict=True)):
            try:
                encoded.append(input_data.encode_features(item, fold_index))
            except errors.ValidationError as exc:
                raise renamed(exc, f"{parameter}[{index}] (input {name!r})") from None
        check_counts([len(array) for array in encoded], self.input_names, parameter)
        return encoded

    def clear_cache(self) -> None:
        self.label.clear_cache()
        for _, data in self.inputs:
            data.clear_cache()


def check_counts(counts: list[int], names: list[str], parameter: str) -> None:
    """Every input holds the same number of samples; the error names the first that does not."""
    for index, count in enumerate(counts):
        if count != counts[0]:
            raise errors.DataError(
                f"{parameter}[{index}]", f"input {names[index]!r} has {count} samples but input {names[0]!r} has "
                f"{counts[0]}; every input needs one sample per label row, in the same order")


def stack(copies: list[Any]) -> Any:
    """Copies of a split's features stacked row-wise: arrays, or lists of arrays (one per input)."""
    if copies and isinstance(copies[0], list):
        return [np.concatenate([copy[i] for copy in copies]) for i in range(len(copies[0]))]
    return np.concatenate(copies)
