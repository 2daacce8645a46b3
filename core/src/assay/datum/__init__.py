"""Built-in datasets shipped inside the package (``datum/files``), for examples and tests. No network.

They come from the AIQC project (BSD 3-Clause); ``files/README.md`` holds the license notice.

>>> from assay import datum
>>> datum.list_datums()[["name", "analysis_type", "label", "rows"]]   # doctest: +SKIP
>>> df = datum.to_pandas("iris.tsv")
>>> features = datum.to_numpy("epilepsy.parquet")          # (1000, 178, 1): samples x timesteps x features
>>> folder = datum.get_image_folder("brain_tumor.csv")     # 80 grayscale images; labels: image_labels(...)
>>> df = datum.to_pandas("spam")          # the suffix may be left out
>>> galaxies = datum.galaxy_morphology()   # a table, an image per galaxy and the labels: Pipeline.make(inputs=...)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from assay import errors

__all__ = ["galaxy_morphology", "get_image_files", "get_image_folder", "get_path", "get_remote_urls", "image_labels",
           "list_datums", "to_numpy", "to_pandas"]

_MULTI = "tabular and image"
# name -> (kind, analysis type, label column, rows, description)
_CATALOG: dict[str, tuple[str, str, str | None, int, str]] = {
    "iris.tsv": ("tabular", "classification_multi", "species", 150, "Iris flowers: 4 measurements, 3 species"),
    "iris_10x.tsv": ("tabular", "classification_multi", "species", 1500,
                     "Iris repeated with noise: enough rows for folds"),
    "sonar.csv": ("tabular", "classification_binary", "object", 208, "Sonar returns (60 bands): rock R or mine M"),
    "heart_failure.parquet": ("tabular", "classification_binary", "died", 299, "Heart failure clinical records"),
    "exoplanets.parquet": ("tabular", "regression", "SurfaceTempK", 433, "Exoplanet surface temperatures"),
    "houses.csv": ("tabular", "regression", "price", 506, "House prices by neighbourhood (12 numeric columns)"),
    "spam.csv": ("text", "classification_binary", "label", 1000, "SMS messages (column TextData): ham or spam"),
    "epilepsy.parquet": ("sequence", "classification_binary", "seizure", 1000, "EEG windows of 178 readings"),
    "delhi_climate.parquet": ("tabular time series", "forecasting", None, 1575, "Daily climate of Delhi"),
    "brain_tumor.csv": ("image", "classification_binary", "status", 80,
                        "Brain MRI slices (grayscale jpg, 120 wide x 160 high): healthy 0 or tumor 1"),
    "galaxies.tsv": (_MULTI, "classification_binary", "morphology", 40,
                     "Galaxies: clarity and viewing angle, and a photo each (grayscale jpeg, 110 wide x 80 high): "
                     "bar or spiral; multi-input (galaxy_morphology())"),
}
# datasets kept in a folder of their own: name -> path under files/
_SUBPATHS = {"brain_tumor.csv": "brain_tumor/brain_tumor.csv", "galaxies.tsv": "galaxy_morphology/galaxies.tsv"}
# other names of a dataset
_ALIASES = {"galaxy_morphology": "galaxies.tsv"}
# sequence datasets as a wide table: name -> (label column, readings per sample)
_SEQUENCES = {"epilepsy.parquet": ("seizure", 178)}


def list_datums() -> pd.DataFrame:
    """A DataFrame describing each built-in dataset: name, kind, analysis type, label, rows, description."""
    records = [
        {"name": name, "kind": kind, "analysis_type": analysis, "label": label, "rows": rows, "description": text}
        for name, (kind, analysis, label, rows, text) in _CATALOG.items()
    ]
    return pd.DataFrame.from_records(records)


def get_path(name: str) -> Path:
    """The file of the built-in dataset ``name`` (e.g. ``"iris.tsv"``, or without the suffix: ``"spam"``)."""
    stems = {**{Path(file).stem: file for file in _CATALOG}, **_ALIASES}
    name = stems.get(name, name) if isinstance(name, str) else name
    if name not in _CATALOG:
        raise errors.ValidationError(
            "name", f"{name!r} is not a built-in dataset; use one of: {', '.join(_CATALOG)} (see list_datums())"
        )
    path = resources.files("assay.datum") / "files" / _SUBPATHS.get(name, name)
    return Path(str(path))


def _kind_check(name: str, kind: str, parameter: str = "name") -> None:
    name = get_path(name).name  # raises for unknown names
    if _CATALOG[name][0] != kind and not (kind == "image" and _CATALOG[name][0] == _MULTI):
        known = [n for n, entry in _CATALOG.items() if entry[0] == kind]
        raise errors.ValidationError(parameter, f"{name!r} is not a {kind} dataset; use one of: {', '.join(known)}")


def to_numpy(name: str) -> np.ndarray:
    """The samples of the built-in sequence dataset ``name``, ready for ``Pipeline.Sequence.make``: a float64
    array of samples x timesteps x features (``epilepsy.parquet``: 1000 x 178 x 1 EEG readings). Its labels
    are ``to_pandas(name)[[label]]`` (``seizure``), one row per sample in the same order."""
    _kind_check(name, "sequence")
    label, _ = _SEQUENCES[name]
    readings = to_pandas(name).drop(columns=[label]).to_numpy(dtype=np.float64)
    return readings.reshape(len(readings), readings.shape[1], 1)


def get_image_folder(name: str) -> Path:
    """The folder of the built-in image dataset ``name`` (``brain_tumor.csv``), ready for
    ``Pipeline.Image.make``. Files are read sorted by name; :func:`image_labels` gives the labels in that order."""
    _kind_check(name, "image")
    return get_path(name).parent / "images"


def get_image_files(name: str) -> list[Path]:
    """The local image files of ``name`` in the order of its label file (``to_pandas(name)``), mapped from the
    file's ``url`` column by file name; nothing is downloaded."""
    _kind_check(name, "image")
    folder = get_image_folder(name)
    return [folder / url.rsplit("/", 1)[-1] for url in to_pandas(name)["url"]]


def get_remote_urls(manifest_name: str) -> list[str]:
    """AIQC's name for the image locations of ``manifest_name`` (its ``url`` column). assay ships those images, so
    these are the local files of :func:`get_image_files`, as strings: ``Dataset.Image.from_urls_pillow`` then
    stores them and nothing is downloaded."""
    return [str(path) for path in get_image_files(manifest_name)]


def galaxy_morphology() -> dict[str, object]:
    """The galaxy scenario of AIQC, ready for ``assay.Pipeline.make(inputs=[...])``: 40 galaxies, each with two
    measurements and a photo, labelled ``bar`` or ``spiral``. Row i of every entry is galaxy i.

    Returns:
        ``{"table": DataFrame (clarity int, angle text "face"/"angle"), "images": [local jpeg paths, in row
        order], "labels": DataFrame (morphology)}``.

    Example::

        galaxies = datum.galaxy_morphology()
        splitset = assay.Pipeline.make(
            inputs=[dict(df_or_path=galaxies["table"], feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(),
                                                                               columns=["angle"])]),
                    dict(feature_folder_or_urls=galaxies["images"], feature_dtype="float32")],
            label_df_or_path=galaxies["labels"], label_column="morphology",
            label_encoder=dict(sklearn_preprocess=OrdinalEncoder()), size_test=0.25)
    """
    table = to_pandas("galaxies.tsv")
    return {"table": table[["clarity", "angle"]], "images": get_image_files("galaxies.tsv"),
            "labels": table[["morphology"]]}


def image_labels(name: str) -> pd.DataFrame:
    """The label table of ``name`` in the order :func:`get_image_folder`'s files are read (natural order of file
    name, ``healthy_2`` before ``healthy_10``; the label files list their images in that order), with a ``file``
    column naming each row's image."""
    table = to_pandas(name)
    table.insert(0, "file", [url.rsplit("/", 1)[-1] for url in table["url"]])
    return table


def to_pandas(name: str) -> pd.DataFrame:
    """Load the built-in dataset ``name`` as a DataFrame (``.tsv``, ``.csv`` or ``.parquet``)."""
    path = get_path(name)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
