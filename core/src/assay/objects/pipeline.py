"""``assay.Pipeline``: the public entry points that turn raw data into a persisted :class:`Splitset`.

Each ``make`` is a signature, its documentation and one call into :mod:`assay.data.build`, which plans, fits and
writes the kind of data it names (tables, sequences, images, several inputs at once).
"""

from __future__ import annotations

from typing import Any

from assay.data import splitting
from assay.data.build import arrays as build_arrays
from assay.data.build import multi_input as build_multi_input
from assay.data.build import tabular as build_tabular
from assay.data.read.splitsets import SplitsetData
from assay.objects.data import Splitset


def _public(data: SplitsetData) -> Splitset:
    """The public Splitset of a splitset the data layer just stored."""
    return Splitset(data.row, data)


class Pipeline:
    """Pipelines that turn raw data into a persisted :class:`~assay.Splitset`: ``Pipeline.Tabular``,
    ``Pipeline.Sequence`` (3-D samples), ``Pipeline.Image`` (4-D samples), and ``Pipeline.make`` for several
    inputs of those kinds at once (a multi-input splitset)."""

    @staticmethod
    def make(
        inputs: list[dict[str, Any]],
        label_df_or_path: Any = None,
        label_column: str | None = None,
        label_encoder: dict[str, Any] | None = None,
        size_test: float | None = None,
        size_validation: float | None = None,
        fold_count: int | None = None,
        bin_count: int | None = None,
        seed: int = splitting.DEFAULT_SEED,
        label_dtype: Any = None,
        key_column: str | None = None,
    ) -> Splitset:
        """A multi-input splitset: several feature inputs and one label, aligned by sample (row i of every input
        and of the label table is sample i).

        The splits and folds are made once, stratified on the label, and shared by every input; each input's
        encoders are fitted on those same train rows (and each fold's). ``splitset.samples_for(split)["features"]``
        is a list with one array per input, in order, ``features_shape`` a list of shapes (``fn_build`` receives
        it: build a model with one input per entry, e.g. a Keras functional model with several ``Input`` layers,
        or a torch module whose ``forward`` takes one tensor per input).

        Args:
            inputs: two or more dicts, one per input, in the order the model takes them. A table:
                ``dict(df_or_path=..., feature_cols_excluded=..., feature_encoders=[...])``; sequences:
                ``dict(feature_ndarray3D_or_npyPath=..., feature_dtype=..., feature_cols_excluded=...,
                feature_encoders=[...], feature_reshape_indices=...)``; images: ``dict(feature_folder_or_urls=...,
                feature_dtype=..., feature_encoders=[...], feature_reshape_indices=...)`` (the options mean what
                they mean in ``Pipeline.Tabular/Sequence/Image.make``). Each may add ``name=`` (default: its kind),
                used in importance and inference (``"<name>: <column>"``).
            label_df_or_path: a DataFrame or .csv/.tsv/.parquet file, one row per sample in sample order.
            label_column: its label column (may be omitted when the table has one column).
            label_encoder, size_test, size_validation, fold_count, bin_count, seed: as for
                :meth:`Pipeline.Tabular.make`.
            label_dtype: cast the label column to this dtype first.
            key_column: a column of sample ids in the label table and in every table input: each table's ids must
                equal the label table's row by row (checked before anything is written), and the column is no
                feature. Sequences and images carry no ids; they are aligned by position.

        Raises:
            assay.errors.ValidationError: (a subclass naming the parameter, e.g. ``inputs[1].feature_encoders``)
                inputs of different sample counts, labels of another count, a text column without an encoder...
                Nothing is written then.
        """
        return _public(build_multi_input.make(inputs, label_df_or_path, label_column, label_dtype, label_encoder,
                                              size_test, size_validation, fold_count, bin_count, seed, key_column))

    class Tabular:
        """Tabular data: a DataFrame or a .csv/.tsv/.parquet file."""

        @staticmethod
        def make(
            df_or_path: Any,
            label_column: str | None = None,
            label_encoder: dict[str, Any] | None = None,
            feature_cols_excluded: str | list[str] | None = None,
            feature_encoders: list[dict[str, Any]] | None = None,
            size_test: float | None = None,
            size_validation: float | None = None,
            fold_count: int | None = None,
            bin_count: int | None = None,
            seed: int = splitting.DEFAULT_SEED,
            feature_interpolaters: list[dict[str, Any]] | None = None,
            label_interpolater: dict[str, Any] | None = None,
            feature_window: dict[str, Any] | None = None,
        ) -> Splitset:
            """Ingest, split, fit encoders and persist everything; returns the :class:`~assay.Splitset`.

            Args:
                df_or_path: a DataFrame, or the path of a ``.csv``, ``.tsv``, ``.parquet``/``.pq`` file.
                label_column: the column to predict; ``None`` for unsupervised data (no labels, no stratification).
                label_encoder: ``dict(sklearn_preprocess=OneHotEncoder())`` or another transformer. Categorical
                    encoders are fitted on all rows, others (scalers for regression) on the train rows only.
                feature_cols_excluded: column(s) that are not features; the label column never is one.
                feature_encoders: list of ``dict(sklearn_preprocess=..., dtypes=[...], columns=[...])``, applied
                    in order, each to the columns that match its dtypes and/or columns (all remaining columns when
                    neither is given) among those earlier encoders left. Remaining columns pass through as they
                    are and must be numeric. Non-categorical encoders are fitted on train rows only, and per fold.
                size_test: fraction of all rows held out for testing.
                size_validation: fraction of all rows for validation (needs ``size_test``; not with folds).
                fold_count: number of stratified cross-validation folds made on the train split.
                bin_count: quantile bins used to stratify a continuous label (default 4).
                seed: seed of the shuffling, so the same call gives the same splits.
                feature_interpolaters: list of ``dict(interpolate_kwargs=dict(method="linear", ...), dtypes=[...],
                    columns=[...])``: float feature columns whose gaps ``pandas.DataFrame.interpolate`` fills
                    (default arguments ``method="linear", limit_direction="both"``). Each split is interpolated
                    among its own rows, in dataset order, so no split borrows values from another; encoders are
                    fitted on the interpolated train rows, and inference interpolates the new rows the same way.
                label_interpolater: ``dict(interpolate_kwargs=...)`` for a float label column with gaps, applied
                    split by split like the feature interpolaters.
                feature_window: ``dict(size_window=..., size_shift=..., record_shifted=True, time_ordered=True)``
                    for forecasting: the rows (in order) of a time series become windows of ``size_window``
                    rows, the samples of the splitset, with features of shape ``(size_window, width)``; each
                    window's label is the window ``size_shift`` rows later (no ``label_column``). Splits are in
                    time order by default (test last, validation before it, a gap at each boundary so no
                    training window overlaps a window it is evaluated on); ``time_ordered=False`` shuffles
                    windows instead. See :mod:`assay.data.windows`.

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for unusable input; nothing is
                    written then.
            """
            return _public(build_tabular.make(
                df_or_path, label_column, label_encoder, feature_cols_excluded, feature_encoders, size_test,
                size_validation, fold_count, bin_count, seed, feature_interpolaters, label_interpolater,
                feature_window))


    class Sequence:
        """Sequence data: samples x timesteps x features, as a numpy array or a ``.npy`` file."""

        @staticmethod
        def make(
            feature_ndarray3D_or_npyPath: Any,
            feature_dtype: Any = None,
            feature_cols_excluded: int | str | list[int | str] | None = None,
            feature_encoders: list[dict[str, Any]] | None = None,
            feature_reshape_indices: tuple[Any, ...] | None = None,
            label_df_or_path: Any = None,
            label_dtype: Any = None,
            label_column: str | None = None,
            label_encoder: dict[str, Any] | None = None,
            size_test: float | None = None,
            size_validation: float | None = None,
            fold_count: int | None = None,
            bin_count: int | None = None,
            seed: int = splitting.DEFAULT_SEED,
            feature_window: dict[str, Any] | None = None,
            feature_interpolaters: list[dict[str, Any]] | None = None,
            label_interpolater: dict[str, Any] | None = None,
        ) -> Splitset:
            """Store the samples, split them, fit encoders and persist everything; returns the Splitset.

            ``splitset.samples_for(split)["features"]`` is float32 samples x timesteps x features, as Keras
            ``LSTM``/``Conv1D`` and ``torch.nn.LSTM(batch_first=True)`` take them; ``fn_build`` receives
            ``features_shape = (timesteps, features)``.

            Args:
                feature_ndarray3D_or_npyPath: a 3-D numpy array (samples x timesteps x features) or the path of a
                    ``.npy`` file holding one (memory-mapped while stored). Never modified.
                feature_dtype: cast the samples to this numeric dtype before storing (e.g. ``"float32"``).
                feature_cols_excluded: feature indices (or names ``"feature_3"``) left out.
                feature_encoders: list of ``dict(sklearn_preprocess=...)`` applied in order. A transformer sees one
                    column per feature over every timestep (``(samples*timesteps, features)``); non-categorical
                    ones are fitted on train (and each fold's train) samples only, batch by batch when they have
                    ``partial_fit``. Samples holding NaNs need an imputer among them.
                feature_reshape_indices: reshape the encoded samples, AIQC's spelling: each item an axis index of
                    the encoded array (0 = samples, first), a size as a string (``"1"``), or a tuple of axis
                    indices whose sizes multiply. E.g. ``(0, 1, 2, "1")`` adds a trailing channel axis.
                label_df_or_path: a DataFrame or .csv/.tsv/.parquet file, one row per sample in sample order;
                    ``None`` for unsupervised data.
                label_dtype: cast the label column to this dtype first.
                label_column: the label column (may be omitted when the table has one column).
                label_encoder, size_test, size_validation, fold_count, bin_count, seed: as for
                    :meth:`Pipeline.Tabular.make`; splits are stratified on the label the same way.
                feature_window: ``dict(size_window=..., size_shift=..., record_shifted=True, time_ordered=True)``:
                    each sample is one time series; windows of ``size_window`` timesteps run along it (the same in
                    every series) and become the samples, labelled with the window ``size_shift`` timesteps later
                    (no labels given). Time-ordered splits take the last windows of every series for test, as for
                    :meth:`Pipeline.Tabular.make`; encoders must keep the features' number (scalers).
                feature_interpolaters: list of ``dict(interpolate_kwargs=dict(method="linear", ...),
                    columns=[...], dtypes=...)``: features whose gaps ``pandas.DataFrame.interpolate`` fills in each
                    sample along its own timesteps (default arguments ``method="linear", limit_direction="both"``),
                    before the encoders, as AIQC's FeatureInterpolater did. No sample borrows another's values, so
                    no split borrows another split's; inference and bundles interpolate new samples the same way.
                    ``columns`` choose features as ``feature_encoders`` do; ``dtypes`` must name the samples' own
                    float dtype (every feature has it); neither takes the features no earlier step took. Float
                    samples only. With ``feature_window`` each window (and each label window) is filled from its
                    own timesteps, so no window borrows values from another, nor a split from another split. A
                    feature with no value at all in a sample (or window) stays missing there (impute it with an
                    encoder, or the sample is refused).
                label_interpolater: ``dict(interpolate_kwargs=...)`` for a float label column with gaps: filled
                    split by split (each split's labels among themselves, in sample order), as in
                    :meth:`Pipeline.Tabular.make`; splits are stratified on the label filled over the whole series.

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for unusable input: a 2-D or
                    ragged array, NaNs no encoder imputes, a label table whose row count differs from the sample
                    count, encoders that do not fit the shape... Nothing is written then.
            """
            return _public(build_arrays.make_sequence(
                feature_ndarray3D_or_npyPath, feature_dtype, feature_cols_excluded, feature_encoders,
                feature_reshape_indices, label_df_or_path, label_dtype, label_column, label_encoder, size_test,
                size_validation, fold_count, bin_count, seed, feature_window, feature_interpolaters,
                label_interpolater))

    class Image:
        """Image data: a folder of image files (in natural order of file name) or a list of local image files, read
        with Pillow."""

        @staticmethod
        def make(
            feature_folder_or_urls: Any,
            feature_dtype: Any = None,
            feature_encoders: list[dict[str, Any]] | None = None,
            feature_reshape_indices: tuple[Any, ...] | None = None,
            label_df_or_path: Any = None,
            label_column: str | None = None,
            label_encoder: dict[str, Any] | None = None,
            size_test: float | None = None,
            size_validation: float | None = None,
            fold_count: int | None = None,
            bin_count: int | None = None,
            seed: int = splitting.DEFAULT_SEED,
            label_interpolater: dict[str, Any] | None = None,
            label_dtype: Any = None,
            feature_window: dict[str, Any] | None = None,
            feature_interpolaters: list[dict[str, Any]] | None = None,
        ) -> Splitset:
            """Read the images, store them, split them, fit encoders and persist everything; returns the Splitset.

            Images are samples x channels x height x width (grayscale: 1 channel, RGB: 3), channels first. That
            is what ``samples_for`` returns and what PyTorch's ``nn.Conv2d`` takes; the Keras backend moves the
            channels last (and gives ``fn_build`` ``features_shape = (height, width, channels)``), so neither
            user transposes by hand. ``feature_reshape_indices`` opts out: its shape reaches every library as is.

            Args:
                feature_folder_or_urls: a folder of image files (read in natural order of file name, ``img_2`` before
                    ``img_10``; hidden files skipped) or a list of local image file paths (in that order). URLs are
                    refused: nothing is downloaded. All images need one size and one mode; resize or convert them
                    first otherwise.
                feature_dtype: cast the pixels to this numeric dtype before storing (default: uint8 as read).
                feature_encoders: list of ``dict(sklearn_preprocess=..., axis="channel" | "pixel")``: per channel
                    a transformer sees ``(samples*height*width, channels)``, per pixel ``(samples,
                    channels*height*width)``. Fitted on train (and each fold's train) samples only.
                feature_reshape_indices: reshape the encoded samples (see :meth:`Pipeline.Sequence.make`), e.g.
                    ``(0, 2, 3)`` drops the channel axis of grayscale images.
                label_df_or_path: a DataFrame or .csv/.tsv/.parquet file, one row per image in sample order;
                    ``None`` for unsupervised data.
                label_column, label_encoder, size_test, size_validation, fold_count, bin_count, seed: as for
                    :meth:`Pipeline.Tabular.make`.
                label_interpolater, label_dtype: as for :meth:`Pipeline.Sequence.make`.
                feature_window: ``dict(size_window=..., size_shift=..., record_shifted=True, time_ordered=True)``:
                    the images, in order, are the frames of one series (a video, a satellite pass); windows of
                    ``size_window`` frames become the samples, ``(size_window, channels, height, width)``, each
                    labelled with the window ``size_shift`` frames later (no labels given). Splits are in time
                    order as for :meth:`Pipeline.Tabular.make`; encoders work frame by frame and must keep the
                    frame's shape, so forecasts decode back to pixels. ``feature_reshape_indices`` then index the
                    5-D windows (AIQC's ``(0, 3, 4)`` keeps height x width of one grayscale frame).
                feature_interpolaters: accepted for AIQC's signature; images have no interpolation, so anything
                    but ``None`` is refused.

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for an empty folder, a non-image
                    file, images of mixed size or mode, a URL, a label table of the wrong length, encoders that
                    do not fit the shape... Nothing is written then.
            """
            return _public(build_arrays.make_image(
                feature_folder_or_urls, feature_dtype, feature_encoders, feature_reshape_indices, label_df_or_path,
                label_column, label_encoder, size_test, size_validation, fold_count, bin_count, seed,
                label_interpolater, label_dtype, feature_window, feature_interpolaters))
