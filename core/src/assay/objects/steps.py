"""The objects of the step-by-step data API (AIQC's low-level API): :class:`Label`, :class:`Feature`,
:class:`Encoderset`, :class:`Coder` and :class:`Foldset`.

They are made from a :class:`~assay.Dataset` and a :class:`~assay.Splitset` (``dataset.make_label``,
``dataset.make_feature``, ``splitset.make_foldset``...) and checked and written by :mod:`assay.data.build.step_by_step`.
"""

from __future__ import annotations

from typing import Any

from assay import errors
from assay.data.build import step_by_step
from assay.data.windows import Window
from assay.db.models import CoderRow, EncodersetRow, FeatureRow, FoldsetRow, LabelRow
from assay.db.queries import data as data_queries
from assay.db.queries import steps as queries
from assay.objects.base import Persisted, column


class Label(Persisted):
    """The label column of a dataset. Give it an encoder with :meth:`make_labelcoder`."""

    _row_type = LabelRow

    dataset_id = column[int]("the :class:`~assay.Dataset` it belongs to")
    dtype = column[str]("its dtype, as ingested")
    is_categorical = column[bool]("whether its values are classes (by its encoder, else its dtype)")
    classes = column["list[Any] | None"]("the classes in encoded order, once a splitset of it is encoded")
    class_counts = column["dict[str, int] | None"]("rows per class, once a splitset of it is encoded")
    interpolater = column["dict[str, Any] | None"]("its ``label_interpolater`` spec (a float label with gaps)")
    column = column[str]("the label column")  # last: the name shadows the declaration helper below it

    def make_labelinterpolater(self, interpolate_kwargs: dict[str, Any] | None = None,
                               process_separately: bool = True) -> dict[str, Any]:
        """Fill this float label's gaps with ``pandas.DataFrame.interpolate`` (AIQC's LabelInterpolater):
        ``Pipeline.Tabular.make``'s ``label_interpolater=dict(interpolate_kwargs=...)``, checked by the same code.

        Make it before ``Splitset.make``: the splits are stratified on the label with its gaps filled (linearly,
        over the whole column, only to choose each row's split). When a queue first encodes the splitset, each split
        (and each fold's part) is interpolated among its own rows, so no split borrows another's label values; the
        metrics compare predictions with those interpolated labels.

        Args:
            interpolate_kwargs: ``pandas.DataFrame.interpolate`` arguments (default ``method="linear",
                limit_direction="both"``; AIQC's default adds ``limit_area=None, axis=0, order=1``, which change
                nothing).
            process_separately: AIQC's; assay always interpolates each split among its own rows: ``False`` is
                refused.

        Returns:
            the ``label_interpolater`` spec as stored.

        Raises:
            assay.errors.DataError: a label that is not float, an argument pandas refuses, a second interpolater,
                or one made after a splitset of the label; nothing is stored then.
        """
        if process_separately is not True:
            raise errors.DataError("process_separately", "assay interpolates each split among its own rows so no "
                                   "split borrows values from another; leave process_separately=True")
        spec = {} if interpolate_kwargs is None else dict(interpolate_kwargs=interpolate_kwargs)
        self._row = step_by_step.make_labelinterpolater(self._row, spec)
        return dict(self._row.interpolater)

    def make_labelcoder(self, sklearn_preprocess: Any) -> Coder:
        """Encode this label with ``sklearn_preprocess`` (e.g. ``OneHotEncoder()``, ``PowerTransformer()``).

        Categorical encoders are fitted on all rows, others on the train rows (and each fold's), as
        ``Pipeline.Tabular.make(label_encoder=dict(sklearn_preprocess=...))`` fits them.

        Raises:
            assay.errors.EncoderError: not a usable encoder, a second labelcoder, or one that would make a label
                categorical (or continuous) after splitsets were stratified on it the other way.
        """
        return Coder(step_by_step.make_labelcoder(self._row, sklearn_preprocess))


class Feature(Persisted):
    """The feature columns of a dataset. Encode them with :meth:`make_encoderset`, then its featurecoders."""

    _row_type = FeatureRow

    dataset_id = column[int]("the :class:`~assay.Dataset` it belongs to")
    columns = column["list[str]"]("the feature columns, in order")
    columns_excluded = column["list[str]"]("the dataset's other columns")
    dtypes = column["dict[str, str]"]("feature column -> dtype name")
    kind = column[str]("``tabular``, ``sequence`` or ``image``: the kind of its dataset")
    sample_shape = column["list[int] | None"]("one sample's shape, for sequences and images")
    reshape_indices = column["Any"]("how sample columns were reshaped, for sequences and images")
    layout = column["str | None"]("the array layout of sequences and images")
    interpolaters = column["list[dict[str, Any]] | None"]("its ``feature_interpolaters`` specs (tables, sequences)")
    window = column["dict[str, Any] | None"]("its ``feature_window`` spec (tables)")

    def make_interpolaterset(self) -> Interpolaterset:
        """This feature's interpolation steps (AIQC's Interpolaterset): add them with
        :meth:`Interpolaterset.make_featureinterpolater`."""
        return Interpolaterset(self)

    def make_window(self, size_window: int, size_shift: int, record_shifted: bool = True,
                    time_ordered: bool = True) -> Window:
        """Forecasting windows over this table's rows (AIQC's ``Window.from_feature``): ``Pipeline.Tabular.make``'s
        ``feature_window=dict(size_window=..., size_shift=..., record_shifted=..., time_ordered=...)``.

        The samples of a splitset of this feature are then windows of ``size_window`` rows, each labelled with
        the window ``size_shift`` rows later (make the splitset with ``label_id=None``), split in time order
        (test last) unless ``time_ordered=False``. Make it before ``Splitset.make``.

        Raises:
            assay.errors.DataError: a window longer than the series, a feature with non-numeric columns, a
                sequence or image feature (use ``Pipeline.Sequence.make(feature_window=...)``), a second window, or
                one made after a splitset of the feature.
        """
        spec = dict(size_window=size_window, size_shift=size_shift, record_shifted=record_shifted,
                    time_ordered=time_ordered)
        window = step_by_step.make_window(self._row, spec)
        self.refresh()
        return window

    def make_featureshaper(self, reshape_indices: Any) -> Feature:
        """Reshape this sequence or image feature's encoded samples: ``Pipeline.Sequence/Image.make``'s
        ``feature_reshape_indices`` (AIQC's ``FeatureShaper``), e.g. ``(0, 2, 3)`` drops the channel axis of
        grayscale images. The shape is checked when a queue first fits a splitset of the feature.

        Raises:
            assay.errors.DataError: a tabular feature, indices that are not AIQC's spelling, or a feature whose
                splitsets are encoded already.
        """
        self._row = step_by_step.make_featureshaper(self._row, reshape_indices)
        return self

    def make_encoderset(self) -> Encoderset:
        """An empty, ordered set of feature encoders for this feature (one per feature)."""
        if queries.encodersets(self.id):
            raise errors.EncoderError("encoderset", f"feature {self.id} has its encoderset already")
        return Encoderset(queries.store_encoderset(self.id))


class Interpolaterset:
    """The interpolation steps of a tabular or sequence feature (AIQC's Interpolaterset), stored on the feature:
    ``Pipeline.Tabular.make``'s (or ``Pipeline.Sequence.make``'s) ``feature_interpolaters``. A table's splits are
    each interpolated among their own rows, a sequence's samples each along their own timesteps, when a queue first
    encodes a splitset of the feature; inference interpolates new rows or samples the same way."""

    def __init__(self, feature: Feature):
        self.feature_id = feature.id

    def make_featureinterpolater(self, interpolate_kwargs: dict[str, Any] | None = None, dtypes: Any = None,
                                 columns: Any = None, process_separately: bool = True,
                                 verbose: bool = False) -> dict[str, Any]:
        """Add an interpolation step: a ``feature_interpolaters`` entry ``dict(interpolate_kwargs=..., dtypes=...,
        columns=...)`` (float columns; neither selector takes every float column no earlier step took).

        Of a sequence feature, the step fills each sample's gaps along its own timesteps, as
        ``Pipeline.Sequence.make(feature_interpolaters=...)`` does: ``columns`` choose features (``"feature_0"``,
        AIQC's ``"0"``, or indices) and ``dtypes`` must be the samples' own float dtype (AIQC's
        ``dtypes="float64"``: every feature no earlier step took).

        Args:
            interpolate_kwargs: ``pandas.DataFrame.interpolate`` arguments (default ``method="linear",
                limit_direction="both"``).
            dtypes, columns: selectors, as in ``Pipeline.Tabular.make`` (or ``Pipeline.Sequence.make``).
            process_separately: AIQC's; assay always interpolates each split (and fold part) among its own rows,
                so no split borrows values from another: ``False`` is refused.
            verbose: accepted for AIQC scripts.

        Returns:
            the step as stored.

        Raises:
            assay.errors.DataError: the checks of ``Pipeline.Tabular.make`` (non-float or unknown columns, a
                column an earlier step interpolates...) or of ``Pipeline.Sequence.make``, or an image feature;
                nothing is stored then.
        """
        if process_separately is not True:
            raise errors.DataError("process_separately", "assay interpolates each split among its own rows so no "
                                   "split borrows values from another; leave process_separately=True")
        spec = {key: value for key, value in dict(interpolate_kwargs=interpolate_kwargs, dtypes=dtypes,
                                                   columns=columns).items() if value is not None}
        feature = step_by_step.make_featureinterpolater(data_queries.row(FeatureRow, self.feature_id), spec)
        return feature.interpolaters[-1]

    @property
    def featureinterpolaters(self) -> list[dict[str, Any]]:
        """The steps, in the order they apply."""
        return list(data_queries.row(FeatureRow, self.feature_id).interpolaters or [])


class Encoderset(Persisted):
    """Feature encoders applied in order, each to the columns its selectors match among those earlier ones left."""

    _row_type = EncodersetRow

    feature_id = column[int]("the :class:`Feature` it encodes")

    def make_featurecoder(self, sklearn_preprocess: Any, include: bool = True, dtypes: Any = None,
                          columns: Any = None, verbose: bool = False, axis: str | None = None) -> Coder:
        """Add a feature encoder: ``Pipeline.Tabular.make``'s ``feature_encoders`` entry
        ``dict(sklearn_preprocess=..., dtypes=..., columns=..., include=...)``.

        Args:
            sklearn_preprocess: the encoder (e.g. ``StandardScaler()``); fitted on train rows (and each fold's),
                categorical ones on all rows.
            include: ``True`` encodes the remaining columns matching ``dtypes``/``columns``; ``False`` those that
                do not match.
            dtypes, columns: selectors; neither selects every remaining column.
            verbose: accepted for AIQC scripts; the columns chosen are on the returned coder's splitset later.
            axis: images only: ``"channel"`` (default) or ``"pixel"``, as in ``Pipeline.Image.make``.

        A featurecoder of a sequence feature is ``Pipeline.Sequence.make``'s ``feature_encoders`` entry: it sees one
        row per timestep; ``columns=[...]`` (names ``feature_0``, AIQC's ``'0'``, or indices; ``include=False``
        for the others) limits it to those features, which it must keep in number (the others pass through). One
        of an image feature is ``Pipeline.Image.make``'s entry (every channel, ``axis=``; no selectors).

        Raises:
            assay.errors.EncoderError: the same checks as ``Pipeline.Tabular.make`` (or ``Pipeline.Sequence/Image
                .make``), against the feature's columns and the earlier featurecoders; nothing is stored then.
        """
        feature = data_queries.row(FeatureRow, self.feature_id)
        spec = dict(sklearn_preprocess=sklearn_preprocess, dtypes=dtypes, columns=columns, include=include, axis=axis)
        if feature.kind not in (None, "tabular") and include is True:
            del spec["include"]  # the default; image encoders see every channel and take no include
        return Coder(step_by_step.make_featurecoder(self.id, feature, {k: v for k, v in spec.items() if v is not None}))

    @property
    def featurecoders(self) -> list[Coder]:
        """The featurecoders, in the order they apply."""
        return [Coder(row) for row in queries.coders(encoderset_id=self.id)]


class Coder(Persisted):
    """An encoder specification: a label's labelcoder or one featurecoder of an encoderset."""

    _row_type = CoderRow

    label_id = column["int | None"]("the :class:`Label` it encodes (labelcoder)")
    encoderset_id = column["int | None"]("the :class:`Encoderset` it belongs to (featurecoder)")
    position = column[int]("its place among the encoderset's featurecoders")
    family = column[str]("the encoder family that handles it (``sklearn``)")
    class_name = column[str]("the encoder's class")
    params = column["dict[str, Any]"]("the encoder's parameters")
    dtypes = column["list[str] | None"]("dtypes selector")
    columns_selected = column["list[str] | None"]("columns selector")
    include = column[bool]("``False``: it encodes the columns that do not match its selectors")
    is_categorical = column[bool]("whether it only maps categories (fitted on all rows)")
    axis = column["str | None"]("the 2-D view an array encoder sees (``feature``, ``channel`` or ``pixel``)")
    blob = column[bytes]("the unfitted encoder (its family's bytes)")


class Foldset(Persisted):
    """The cross-validation folds of a splitset, made by :meth:`assay.Splitset.make_foldset`."""

    _row_type = FoldsetRow

    splitset_id = column[int]("the :class:`~assay.Splitset` whose train rows it folds")
    fold_count = column[int]("number of folds")
    bin_count = column["int | None"]("bins a continuous label was stratified on")


__all__ = ["Coder", "Encoderset", "Feature", "Foldset", "Interpolaterset", "Label"]
