"""Types that plugins return from hooks (analysis types, encoder families, training results) and the shapes of
what hooks receive (:class:`PredictionData`, the one prediction a plot draws)."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import attrs


@attrs.frozen
class TrainResult:
    """What :func:`~assay.hookspecs.assay_train` returns: the trained model and its per-epoch history."""

    model: Any
    history: dict[str, list[float]] = attrs.field(factory=dict)


@runtime_checkable
class PredictionData(Protocol):
    """What a plot registered through :func:`~assay.hookspecs.assay_plots` reads of one prediction.

    :class:`assay.Prediction` is one; a plugin's plot must need nothing else, so it can be tested on plain data.
    """

    #: the prediction's id (``None`` for one not stored)
    id: Any
    #: the split it was made on (``"train"``, ``"validation"``, ``"test"``, or ``"inference"`` for new data)
    split: str
    #: metric name -> value on these rows
    metrics: dict[str, float]

    @property
    def predictions(self) -> Any:
        """Predictions decoded to the original label values, one per row."""

    @property
    def probabilities(self) -> Any:
        """Positive-class probability (binary), one column per class (multi), ``None`` for regression."""

    @property
    def labels(self) -> Any:
        """The true label values of these rows, ``None`` when unknown (new data)."""

    @property
    def classes(self) -> list[Any]:
        """Original class values, index-aligned with probability columns (empty for regression)."""


@attrs.frozen
class AnalysisType:
    """A kind of analysis: how labels are checked and which metric ranks models.

    Attributes:
        name: the value users pass as ``analysis_type=``.
        is_classification: whether labels are classes (decoded through class indices).
        main_metric: the metric that ranks models in leaderboards.
        higher_is_better: whether a larger ``main_metric`` is better.
        check_labels: ``check_labels(labels, categorical_encoder)`` raises
            :class:`assay.errors.ExperimentError` when the raw label values (a pandas Series) do not fit
            this analysis type; ``categorical_encoder`` says whether the label encoder is categorical.
        description: one line for ``assay info``.
    """

    name: str
    is_classification: bool
    main_metric: str
    higher_is_better: bool
    check_labels: Callable[..., None]
    description: str = ""


class EncoderFamily(abc.ABC):
    """A kind of encoder object the tabular pipeline can validate, fit, persist and invert.

    The pipeline never touches an encoder directly: it asks the family. Fitting always works on a fresh copy,
    so the user's object stays unfitted.
    """

    #: stored with every encoder so it can be loaded back by the same family
    name: str = ""

    @abc.abstractmethod
    def accepts(self, encoder: Any) -> bool:
        """Whether this family handles ``encoder`` (an instance, or a class given by mistake)."""

    @abc.abstractmethod
    def validate(self, encoder: Any, parameter: str) -> None:
        """Raise :class:`assay.errors.EncoderError` naming ``parameter`` if ``encoder`` is unusable."""

    @abc.abstractmethod
    def is_categorical(self, encoder: Any) -> bool:
        """Whether the encoder only maps categories (so it may be fitted on all rows without leakage)."""

    @abc.abstractmethod
    def fit(self, encoder: Any, data: Any) -> Any:
        """Fit a fresh copy of ``encoder`` on ``data`` (a DataFrame of the columns it encodes, or a 2-D numpy
        array for sequence and image data)."""

    def fit_batches(self, encoder: Any, batches: Any) -> Any:
        """Fit a fresh copy of ``encoder`` on 2-D numpy arrays arriving one batch at a time (sequence and
        image data, whose rows are timesteps or pixels and would not fit in memory as one table).

        The default joins the batches and calls :meth:`fit`; a family whose encoders learn incrementally
        (scikit-learn's ``partial_fit``) overrides it so memory stays at one batch.
        """
        import numpy as np

        return self.fit(encoder, np.concatenate(list(batches)))

    @abc.abstractmethod
    def transform(self, fitted: Any, data: Any) -> Any:
        """Encode ``data`` with a fitted encoder; returns a dense 2-D float ndarray."""

    @abc.abstractmethod
    def output_names(self, fitted: Any, columns: list[str]) -> list[str]:
        """Readable names of the output columns (``column=value`` for one-hot outputs)."""

    @abc.abstractmethod
    def inverse_transform(self, fitted: Any, encoded: Any) -> Any:
        """Decode a 2-D array back to original values (used for labels); returns a 1-D ndarray."""

    @abc.abstractmethod
    def dumps(self, encoder: Any) -> bytes:
        """Serialise an encoder (fitted or not)."""

    @abc.abstractmethod
    def loads(self, data: bytes) -> Any:
        """Load an encoder serialised by :meth:`dumps`."""

    #: the format :meth:`safe_dumps` writes (``"skops"``), the suffix of its bundle member; ``None`` when the family
    #: has no format that loads without running code (its bundled encoders then need trust)
    safe_format: str | None = None

    def safe_dumps(self, encoder: Any) -> bytes:
        """Serialise a fitted encoder in :attr:`safe_format`, which loads without running code. Raise any
        exception when this encoder cannot be written so (a bundle then keeps :meth:`dumps` and needs trust)."""
        raise NotImplementedError(f"{type(self).__name__} has no safe format")

    def untrusted(self, data: bytes) -> list[str]:
        """What :meth:`safe_loads` would have to trust in ``data`` (the dotted names of types or functions outside
        the family's allow-list, such as a user's function in a ``FunctionTransformer``); ``[]`` when none."""
        return []

    def safe_loads(self, data: bytes, trusted: list[str]) -> Any:
        """Load :meth:`safe_dumps` bytes, allowing the allow-list plus ``trusted`` (names :meth:`untrusted` gave
        that the user accepted); raise :class:`assay.errors.TrustError` for anything else."""
        raise NotImplementedError(f"{type(self).__name__} has no safe format")

    #: a second bundle format, written beside :attr:`safe_format`, that loads without importing the family's library
    #: (plain data read with numpy): ``assay predict`` then starts faster. ``None`` when the family has none
    portable_format: str | None = None

    def portable_dumps(self, fitted: Any) -> bytes:
        """Serialise a fitted encoder in :attr:`portable_format`. Raise any exception when this encoder has no
        portable form. The export keeps the result only if the loaded object's :meth:`transform` (and, for a
        regression label, :meth:`inverse_transform`) equals the original's exactly on the rows it was fitted on."""
        raise NotImplementedError(f"{type(self).__name__} has no portable format")

    def portable_loads(self, data: bytes) -> Any:
        """Load :meth:`portable_dumps` bytes without importing the family's library; the object goes to this
        family's :meth:`transform`, :meth:`output_names` and :meth:`inverse_transform` like a fitted encoder.
        Raise any exception for damaged data (the bundle names the member)."""
        raise NotImplementedError(f"{type(self).__name__} has no portable format")

    def check_data(self, encoder: Any, data: Any, parameter: str) -> None:
        """Raise :class:`assay.errors.EncoderError` naming ``parameter`` when ``encoder`` cannot encode ``data``
        (a DataFrame of the columns selected for it), e.g. a text vectorizer given numbers or several columns.

        Called before anything is fitted or written. The default accepts everything.
        """
        return None

    def describe(self, encoder: Any) -> dict[str, Any]:
        """A JSON-safe description for display: class name and parameters."""
        return {"class": type(encoder).__name__}


@attrs.frozen
class ModelExport:
    """A model written as a self-contained program (:func:`~assay.hookspecs.assay_model_export`).

    Attributes:
        data: the bytes (a ``torch.export`` program, a ``.keras`` archive).
        format: what they are, given back to :func:`~assay.hookspecs.assay_model_from_export` (``"torch.export"``).
        suffix: the file suffix of the bundle member (``".pt2"``, ``".keras"``).
    """

    data: bytes = attrs.field(repr=False)
    format: str
    suffix: str


class ClassCount(int):
    """What ``fn_build`` receives as ``label_shape`` for multi-class classification: the number of classes.

    It is an ``int`` (``nn.Linear(12, label_shape)``, as AIQC's ordinal multi-class scenarios write it) that
    also reads as the one-tuple ``(class_count,)`` (``Dense(units=label_shape[0])``, as one-hot scenarios
    write it). Ordinal labels are one column per sample, so their sample shape ``(1,)`` could not size an
    output layer; one-hot labels have ``class_count`` columns, so both read the same.
    """

    def __getitem__(self, index: Any) -> Any:
        return (int(self),)[index]

    def __len__(self) -> int:
        return 1

    def __iter__(self):
        return iter((int(self),))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return other == (int(self),)
        return int(self) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = int.__hash__

    def __repr__(self) -> str:
        return f"ClassCount({int(self)})"


def build_label_shape(label_shape: Any, analysis_type: str, class_count: int) -> Any:
    """The ``label_shape`` argument of ``fn_build``: a :class:`ClassCount` for multi-class classification
    (ordinal or one-hot labels alike), the label's sample shape as a tuple otherwise (``None`` unsupervised)."""
    if label_shape is None:
        return None
    if analysis_type == "classification_multi" and class_count > 0 and tuple(label_shape) in ((1,), (class_count,)):
        return ClassCount(class_count)
    return tuple(label_shape)


def features_shape(stored: Any) -> Any:
    """The ``features_shape`` argument of ``fn_build`` from its stored (JSON) form: a tuple for one input, a list
    of tuples (one per input, in order) for a multi-input splitset."""
    values = list(stored)
    if values and isinstance(values[0], (list, tuple)):
        return [tuple(int(size) for size in shape) for shape in values]
    return tuple(values)
