"""Built-in datasets shipped inside the package (``datum/files``), for examples and tests. No network.

They come from the AIQC project (BSD 3-Clause); ``files/README.md`` holds the license notice.

>>> from assay import datum
>>> datum.list_datums()[["name", "analysis_type", "label", "rows"]]   # doctest: +SKIP
>>> df = datum.to_pandas("iris.tsv")
>>> df = datum.to_pandas("spam")          # the suffix may be left out
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from assay import errors

__all__ = ["get_path", "list_datums", "to_pandas"]

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
}


def list_datums() -> pd.DataFrame:
    """A DataFrame describing each built-in dataset: name, kind, analysis type, label, rows, description."""
    records = [
        {"name": name, "kind": kind, "analysis_type": analysis, "label": label, "rows": rows, "description": text}
        for name, (kind, analysis, label, rows, text) in _CATALOG.items()
    ]
    return pd.DataFrame.from_records(records)


def get_path(name: str) -> Path:
    """The file of the built-in dataset ``name`` (e.g. ``"iris.tsv"``, or without the suffix: ``"spam"``)."""
    stems = {Path(file).stem: file for file in _CATALOG}
    name = stems.get(name, name) if isinstance(name, str) else name
    if name not in _CATALOG:
        raise errors.ValidationError(
            "name", f"{name!r} is not a built-in dataset; use one of: {', '.join(_CATALOG)} (see list_datums())"
        )
    path = resources.files("assay.datum") / "files" / name
    return Path(str(path))


def to_pandas(name: str) -> pd.DataFrame:
    """Load the built-in dataset ``name`` as a DataFrame (``.tsv``, ``.csv`` or ``.parquet``)."""
    path = get_path(name)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
