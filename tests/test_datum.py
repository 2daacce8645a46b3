"""assay.datum: the built-in datasets shipped inside the core package."""

from __future__ import annotations

import pandas as pd
import pytest

import assay
from assay import datum, errors


def test_list_datums_describes_every_shipped_tabular_dataset():
    table = datum.list_datums()
    assert list(table.columns) == ["name", "kind", "analysis_type", "label", "rows", "description"]
    assert set(table["name"]) == {"iris.tsv", "iris_10x.tsv", "sonar.csv", "heart_failure.parquet",
                                  "exoplanets.parquet", "houses.csv", "spam.csv", "epilepsy.parquet",
                                  "delhi_climate.parquet", "brain_tumor.csv", "galaxies.tsv"}


@pytest.mark.parametrize("record", datum.list_datums().to_dict("records"), ids=lambda r: r["name"])
def test_each_datum_loads_with_the_rows_and_label_listed(record):
    df = datum.to_pandas(record["name"])
    assert isinstance(df, pd.DataFrame)
    assert len(df) == record["rows"]
    if pd.notna(record["label"]):
        assert record["label"] in df.columns


def test_get_path_points_inside_the_installed_package_beside_the_license():
    path = datum.get_path("iris.tsv")
    assert path.is_file()
    assert path.parent.parent == __import__("pathlib").Path(datum.__file__).parent
    assert "BSD 3-Clause" in (path.parent / "README.md").read_text()


def test_iris_keeps_text_species_and_float_measurements():
    df = datum.to_pandas("iris.tsv")
    assert str(df["species"].dtype) == "str"
    assert sorted(df["species"].unique()) == ["setosa", "versicolor", "virginica"]
    assert (df.drop(columns="species").dtypes == "float64").all()


def test_unknown_datum_names_the_known_ones():
    expected = r"name: 'iris.csv' is not a built-in dataset; use one of: iris\.tsv"
    with pytest.raises(errors.ValidationError, match=expected):
        datum.to_pandas("iris.csv")


def test_datum_is_reachable_from_the_top_level_package():
    assert assay.datum is datum
