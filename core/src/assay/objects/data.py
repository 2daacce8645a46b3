"""The persisted data objects: :class:`Dataset`, :class:`Splitset` and :class:`Fold`.

A :class:`Splitset` wraps the data layer's :class:`~assay.data.read.splitsets.SplitsetData`, which the experiment
engine and inference use directly by id; the public object adds nothing they need, so they never import it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay import errors
from assay.data import ingest, splitting
from assay.data.build import step_by_step
from assay.data.encoding import FittedEncoders
from assay.data.read.splitsets import SplitsetData
from assay.db.models import DatasetRow, FoldRow, SplitsetRow
from assay.db.queries import data as data_queries
from assay.objects.base import Persisted, column
from assay.objects.steps import Feature, Foldset, Label


class Dataset(Persisted):
    """Ingested data: Parquet bytes identified by their sha256, with columns, dtypes, shape and statistics."""

    _row_type = DatasetRow

    kind = column[str]("what the data is: ``tabular`` (text columns included), ``sequence`` or ``image``")
    name = column["str | None"]("the file it was read from, when it came from a file")
    sha256 = column[str]("hash of the stored bytes: the same content twice is one Dataset")
    file_format = column[str]("format of :attr:`blob` (``parquet``)")
    blob = column[bytes]("the stored bytes (read on request; :meth:`to_pandas` decodes them)")
    row_count = column[int]("number of rows")
    column_count = column[int]("number of columns")
    columns = column["list[str]"]("column names, in order (for arrays: the feature or channel names)")
    shape = column["list[int] | None"]("the whole array's shape for sequence and image data; None for tables")
    dtypes = column["dict[str, str]"]("column -> dtype name, as ingested")
    statistics = column["dict[str, Any]"]("per-column statistics (counts, missing values, min/max or distinct)")
    created_at = column[dt.datetime]("when it was stored (UTC)")
    version = column["int | None"]("1, 2, ... among the datasets of its name, in order of storing (None unnamed)")

    def __init__(self, row: DatasetRow, frame: pd.DataFrame | None = None):
        super().__init__(row)
        self._frame = frame

    @classmethod
    def make(cls, df_or_path: Any, name: str | None = None, source_file_format: str | None = None,
             dtype: Any = None) -> Dataset:
        """Store a DataFrame or a .csv/.tsv/.parquet file (or find the identical one already stored).

        Args:
            df_or_path: a DataFrame or the path of a file.
            name: a name to remember it by (default: the file's name).
            source_file_format: ``"csv"``, ``"tsv"`` or ``"parquet"``; by the file's suffix when ``None``.
            dtype: cast the data first: a dtype, or ``{column: dtype}``.
        """
        df, file_name = step_by_step.read(df_or_path, source_file_format, dtype)
        with ingest.serialize(df) as serialized:
            row = data_queries.store_new_dataset(serialized, ingest.dataset_fields(df, name or file_name))
        return cls(row, df)

    class Tabular:
        """AIQC's spelling of :meth:`Dataset.make`: ``Dataset.Tabular.from_path`` / ``from_pandas``."""

        @staticmethod
        def from_path(file_path: str, source_file_format: str | None = None, name: str | None = None,
                      dtype: Any = None) -> Dataset:
            """Store a .csv/.tsv/.parquet file; see :meth:`Dataset.make`."""
            return Dataset.make(file_path, name=name, source_file_format=source_file_format, dtype=dtype)

        @staticmethod
        def from_pandas(dataframe: pd.DataFrame, name: str | None = None, dtype: Any = None) -> Dataset:
            """Store a DataFrame (the caller's frame is never changed); see :meth:`Dataset.make`."""
            return Dataset.make(dataframe, name=name, dtype=dtype)

    class Text(Tabular):
        """AIQC's ``Dataset.Text``: a table with a text column (AIQC names it ``TextData``), spelled
        ``Dataset.Text.from_path`` / ``from_pandas``. assay stores it as a tabular dataset; encode the text column
        with a vectorizer featurecoder, e.g. ``encoderset.make_featurecoder(sklearn_preprocess=CountVectorizer(
        max_features=200), columns=["TextData"])`` (as ``Pipeline.Tabular.make`` encodes text columns)."""

    class Sequence:
        """Sequence samples (samples x timesteps x features), stored as ``Pipeline.Sequence.make`` stores them."""

        @staticmethod
        def from_numpy(ndarray3D_or_npyPath: Any, name: str | None = None, dtype: Any = None) -> Dataset:
            """Store a 3-D numpy array or ``.npy`` file (or find the identical samples already stored).

            The features are named ``feature_0``, ``feature_1``...; AIQC's names ``'0'``, ``'1'``... and indices
            are accepted wherever features are chosen (``make_feature``, ``make_featurecoder(columns=...)``).
            Labels come from a :class:`Dataset.Tabular` of one row per sample.

            Args:
                ndarray3D_or_npyPath: the samples (never modified) or the path of a ``.npy`` file.
                name: a name to remember it by (default: the file's name).
                dtype: cast the samples to this numeric dtype first (``Pipeline.Sequence.make``'s
                    ``feature_dtype``).

            Raises:
                assay.errors.DataError: not 3-D, ragged, not numeric, empty, or an unreadable file.
            """
            from assay.data import sequence

            with _renamed("feature_dtype", "dtype"):
                array, file_name = sequence.read_sequence(ndarray3D_or_npyPath, dtype, "ndarray3D_or_npyPath")
            return Dataset(step_by_step.make_array_dataset("sequence", array, name or file_name))

    class Image:
        """Images (samples x channels x height x width) read with Pillow from local files, stored as
        ``Pipeline.Image.make`` stores them. assay never downloads: AIQC's ``from_urls_pillow`` is refused."""

        @staticmethod
        def from_folder(folder_path: Any, name: str | None = None, dtype: Any = None) -> Dataset:
            """Store the images of a folder (read in natural order of file name, ``img_2`` before ``img_10``;
            hidden files skipped) or of a list of local image files (in that order); every image of one size and
            mode.

            Args:
                folder_path: the folder, or a list of image file paths.
                name: a name to remember it by (default: the folder's name).
                dtype: cast the pixels to this numeric dtype first (default: uint8 as read).

            Raises:
                assay.errors.DataError: an empty folder, a non-image file, images of mixed size or mode, a URL.
            """
            from assay.data import images, sequence

            with _renamed("feature_dtype", "dtype"):
                sequence.check_dtype(dtype)
                paths, folder_name = images.image_paths(folder_path, "folder_path")
                array, _, _ = images.read_images(paths, dtype, "folder_path")
            return Dataset(step_by_step.make_array_dataset("image", array, name or folder_name))

        @staticmethod
        def from_folder_pillow(folder_path: Any, ingest: bool = True, name: str | None = None, dtype: Any = None,
                               column_names: Any = None) -> Dataset:
            """AIQC's spelling of :meth:`from_folder`. assay always stores the pixels (``ingest=False``, AIQC's
            keep-only-the-paths, stores them too); images have no column names to give."""
            _aiqc_image_options(ingest, column_names)
            return Dataset.Image.from_folder(folder_path, name=name, dtype=dtype)

        @staticmethod
        def from_files(file_paths: list[Any], name: str | None = None, dtype: Any = None) -> Dataset:
            """Store a list of local image files, in that order; see :meth:`from_folder`."""
            return Dataset.Image.from_folder(list(file_paths), name=name, dtype=dtype)

        @staticmethod
        def from_urls_pillow(urls: Any, source_path: str | None = None, ingest: bool = True, name: str | None = None,
                             dtype: Any = None, column_names: Any = None) -> Dataset:
            """AIQC's spelling for a list of image locations: local files (and ``file://`` URLs) are stored as
            :meth:`from_files` stores them; a network URL is refused, since assay never downloads (download the
            images, then use :meth:`from_folder`). ``datum.get_remote_urls`` gives the built-in images' local files.
            """
            _aiqc_image_options(ingest, column_names)
            urls = [urls] if isinstance(urls, (str, Path)) else list(urls)
            local = [str(url)[len("file://"):] if str(url).lower().startswith("file://") else url for url in urls]
            with _renamed("folder_path", "urls"):
                return Dataset.Image.from_folder(local, name=name, dtype=dtype)

        @staticmethod
        def from_urls(urls: Any, source_path: str | None = None, ingest: bool = True, name: str | None = None,
                      dtype: Any = None, column_names: Any = None) -> Dataset:
            """AIQC 6's spelling of :meth:`from_urls_pillow` (local files and ``file://`` URLs; nothing is
            downloaded)."""
            return Dataset.Image.from_urls_pillow(urls, source_path, ingest, name, dtype, column_names)

    def make_label(self, columns: Any) -> Label:
        """The label column, ``columns=["name"]`` (step-by-step API; ``Pipeline.Tabular.make``'s ``label_column``).

        Raises:
            assay.errors.DataError: not one existing column, or a column with missing values; a sequence or image
                dataset (their labels come from a :class:`Dataset.Tabular` of one row per sample).
        """
        step_by_step.check_tabular(
            self._row, "labels come from a Dataset.Tabular of one row per sample, in sample order")
        return Label(step_by_step.make_label(self._row, self.to_pandas(), columns))

    def make_feature(self, include_columns: Any = None, exclude_columns: Any = None) -> Feature:
        """The feature columns: ``include_columns``, or every column but ``exclude_columns`` (exclude the label
        column), as ``Pipeline.Tabular.make``'s ``feature_cols_excluded``.

        For sequences they are features (by name ``feature_3``, AIQC's name ``'3'`` or index) as
        ``Pipeline.Sequence.make``'s ``feature_cols_excluded``; an image feature has every channel."""
        if self.kind != "tabular":
            return Feature(step_by_step.make_array_feature(self._row, include_columns, exclude_columns))
        return Feature(step_by_step.make_feature(self._row, self.to_pandas(), include_columns, exclude_columns))

    def to_pandas(self) -> pd.DataFrame:
        """The stored data as a DataFrame (read once, then cached); dtypes are those ingested."""
        step_by_step.check_tabular(self._row, "read its samples with to_numpy()")
        if self._frame is None:
            self._frame = ingest.deserialize(self._column("blob"))
        return self._frame

    def to_numpy(self) -> np.ndarray:
        """The stored samples of a sequence or image dataset, as stored."""
        from assay.data.read.arrays import StoredArray

        if self.kind == "tabular":
            return self.to_pandas().to_numpy()
        row = self._row
        return StoredArray.load(row.id, row.shape, row.dtypes, row.columns).rows(np.arange(row.row_count))

    def _repr_html_(self) -> str:
        """Jupyter's display: size, columns with dtypes and the label's class counts."""
        from assay.objects import display

        return display.dataset_html(self.id)


@contextlib.contextmanager
def _renamed(parameter: str, own: str) -> Iterator[None]:
    """Errors naming a pipeline's parameter (``feature_dtype``) name the step's own (``dtype``) instead."""
    try:
        yield
    except errors.ValidationError as exc:
        if exc.parameter != parameter:
            raise
        raise exc.renamed(own) from None


def _aiqc_image_options(ingest: Any, column_names: Any) -> None:
    """AIQC's image options that assay has no use for: checked, so a value that would mean something is refused."""
    if not isinstance(ingest, bool):
        raise errors.DataError("ingest", f"must be True or False (assay stores the pixels either way), got {ingest!r}")
    if column_names is not None:
        raise errors.DataError("column_names", "images have no column names (their channels are named by mode); "
                               "leave column_names out")


class Fold(Persisted):
    """One cross-validation fold: ``samples["train"]`` and ``samples["validation"]`` (dataset row indices)."""

    _row_type = FoldRow

    splitset_id = column[int]("the :class:`Splitset` it belongs to")
    fold_index = column[int]("its index among the splitset's folds")

    def __init__(self, row: FoldRow):
        super().__init__(row)

    @property
    def samples(self) -> dict[str, list[int]]:
        if "samples" not in self._row.__dict__:
            self._row.samples = self._column("samples")
        return self._row.samples



class _FromData:
    """A read-only attribute of the public :class:`Splitset` answered by its
    :class:`~assay.data.read.splitsets.SplitsetData` and documented there, once."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self.__doc__ = inspect.getdoc(getattr(SplitsetData, name))

    def __get__(self, splitset: Any, owner: type | None = None) -> Any:
        return self if splitset is None else getattr(splitset._data, self._name)

    def __set__(self, splitset: Any, value: Any) -> None:
        raise AttributeError(f"{self._name} is read from the stored splitset and cannot be set")


class Splitset(Persisted):
    """Row indices per split, stratified on the label, optional folds, and the encoders fitted for them.

    Made by :meth:`assay.Pipeline.Tabular.make` (or ``Pipeline.Sequence/Image.make``, or ``Pipeline.make`` for
    several inputs); load a stored one with ``Splitset.get(id)``.
    """

    _row_type = SplitsetRow

    dataset_id = column[int]("the :class:`Dataset` it splits")
    label_id = column["int | None"]("the stored label column (``None`` when unsupervised)")
    feature_id = column[int]("the stored feature columns")
    size_test = column["float | None"]("the test split's share of the rows")
    size_validation = column["float | None"]("the validation split's share of the rows")
    fold_count = column["int | None"]("number of cross-validation folds made on the train split")
    bin_count = column["int | None"]("bins a continuous label was stratified on")
    seed = column[int]("seed of the splits")
    split_sizes = column["dict[str, int]"]("rows per split")
    is_encoded = column[bool]("False while a splitset made step by step waits for its encoders to be fitted")
    created_at = column[dt.datetime]("when it was made (UTC)")

    @classmethod
    def make(cls, feature_ids: Any, label_id: int | None = None, size_test: float | None = None,
             size_validation: float | None = None, bin_count: int | None = None,
             seed: int = splitting.DEFAULT_SEED, unsupervised_stratify_col: str | None = None) -> Splitset:
        """Split a feature's rows, stratified on its label (step-by-step API).

        The splits are those ``Pipeline.Tabular.make`` makes with the same arguments. Add folds with
        :meth:`make_foldset`; encoders come from the label's labelcoder and the feature's encoderset and are
        fitted when the splitset is first queued (``algorithm.make_queue`` or ``Experiment.make``).

        A sequence or image feature takes a label made from a table of one row per sample
        (``Pipeline.Sequence/Image.make``'s ``label_df_or_path``). A feature with forecasting windows
        (``feature.make_window``) is its own label (``label_id=None``), split as ``Pipeline.Tabular.make``'s
        ``feature_window`` splits it: in time order by default.

        Args:
            feature_ids: ``[feature.id]`` (one feature), or several tabular features aligned by row.
            label_id: the label's id; ``None`` for unsupervised data and forecasts.
            size_test, size_validation, bin_count, seed: as in ``Pipeline.Tabular.make``.
            unsupervised_stratify_col: refused (AIQC's): assay stratifies on the label only; forecast windows are
                split in time order, so no window trains on the future. The error says what to do instead.

        Raises:
            assay.errors.SplitError: bad sizes, a label of another dataset (tables) or row count (sequences and
                images), a label with forecasting windows, ``unsupervised_stratify_col``; nothing is stored then.
        """
        return cls(step_by_step.make_splitset(feature_ids, label_id, size_test, size_validation, bin_count, seed,
                                       unsupervised_stratify_col))

    def make_foldset(self, fold_count: int, bin_count: int | None = None) -> Foldset:
        """Cross-validation folds on the train rows, stratified as the splits (``bin_count`` bins a continuous
        label; default the splitset's); only before the splitset is encoded."""
        foldset = Foldset(step_by_step.make_foldset(self.refresh()._row, fold_count, bin_count))
        self._reload()
        return foldset

    @property
    def foldset(self) -> Foldset | None:
        """The folds as one object, ``None`` without folds."""
        from assay.db.queries import steps as step_queries

        row = step_queries.foldset_of(self.id)
        return None if row is None else Foldset(row)

    def _reload(self) -> Splitset:
        self.refresh()
        self._data = SplitsetData.of(self._row)  # its caches belong to the row as it was
        return self

    def __init__(self, row: SplitsetRow, data: SplitsetData | None = None):
        super().__init__(row)
        self._data = data if data is not None else SplitsetData.of(row)

    def _repr_html_(self) -> str:
        """Jupyter's display: rows per split and fold, and the class balance of each."""
        from assay.objects import display

        return display.splitset_html(self.id)

    # what the stored splitset says, answered by its SplitsetData (documented there)
    samples = _FromData()
    features_shape = _FromData()
    label_shape = _FromData()
    feature_columns = _FromData()
    feature_dtypes = _FromData()
    feature_names = _FromData()
    label_column = _FromData()
    label_is_categorical = _FromData()
    label_classes = _FromData()
    kind = _FromData()
    layout = _FromData()
    sample_shape = _FromData()
    window = _FromData()
    interpolaters = _FromData()

    @property
    def inputs(self) -> dict[str, Splitset]:
        """A multi-input splitset's inputs by name, in order, each an (unsupervised) splitset of its own holding
        that input's feature and encoders, with the same splits and folds; ``{}`` for a single input."""
        if self.kind != "multi":
            return {}
        return {name: Splitset(data.row, data) for name, data in self._data.inputs}

    @property
    def folds(self) -> list[Fold]:
        """The folds made on the train split (empty without ``fold_count``), by ``fold_index``."""
        return [Fold(row) for row in self._data.folds]

    def row_indices(self, split: str, fold_index: int | None = None) -> list[int]:
        """Dataset rows of ``split`` in the order :meth:`samples_for` returns them.

        With a fold, ``train`` and ``validation`` are the fold's rows; ``test`` stays the splitset's test rows.
        """
        return self._data.row_indices(split, fold_index)

    def encoders(self, fold_index: int | None = None) -> FittedEncoders:
        """The fitted encoders of the splitset (``fold_index=None``) or of one fold, ready to encode raw rows.

        For a multi-input splitset only the label's; each input's are ``splitset.inputs[name].encoders()``."""
        return self._data.encoders(fold_index)

    def samples_for(self, split: str, fold_index: int | None = None) -> dict[str, np.ndarray | None]:
        """``{"features": float32 (n, *features_shape), "labels": (n, *label_shape) or None}`` of one split;
        for a multi-input splitset ``features`` is a list with one such array per input, in order.

        Encoded with the splitset's encoders, or the fold's when ``fold_index`` is given. Arrays are cached;
        each call returns fresh copies, so a training function may modify them.
        """
        return self._data.samples_for(split, fold_index)

    def raw_labels(self, row_indices: Any) -> np.ndarray:
        """The original label values of these dataset rows."""
        return self._data.raw_labels(row_indices)

    def decode_labels(self, values: Any, fold_index: int | None = None) -> np.ndarray:
        """Classification: class indices to original classes (``label_classes[i]``). Regression: the inverse
        of the label encoder (the fold's when it was fitted per fold)."""
        return self._data.decode_labels(values, fold_index)

    def encode_features(self, df: pd.DataFrame, fold_index: int | None = None) -> np.ndarray:
        """Encode new raw rows (inference) after checking they have the feature columns with fitting dtypes.

        For a multi-input splitset ``df`` holds every input's raw data (a list in input order, or a dict by input
        name) and the result is a list of arrays.

        Raises:
            assay.errors.SchemaMismatchError: a feature column is missing or holds another kind of values.
        """
        return self._data.encode_features(df, fold_index)

    def clear_cache(self) -> None:
        """Forget cached data and encoded arrays (they are read or encoded again on the next request)."""
        self._data.clear_cache()
