"""The public objects declare what they store, and ``assay`` exposes exactly its public names.

The layering itself (imports point down, no cycles) is checked by import-linter in ``nox -s lint``.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from sqlalchemy import inspect as inspect_mapper

import assay
from assay.objects.base import column

PUBLIC_CLASSES = ["Dataset", "Splitset", "Fold", "Algorithm", "Queue", "Job", "Predictor", "Prediction", "Label",
                  "Feature", "Encoderset", "Coder", "Foldset", "Hyperparamset"]


@pytest.mark.parametrize("name", PUBLIC_CLASSES)
def test_every_stored_column_is_a_declared_documented_attribute(name):
    cls = getattr(assay, name)
    mapper = inspect_mapper(cls._row_type)
    table = cls._row_type.__table__
    # each column as the row names it (a row may name a column otherwise); a legacy column holds nothing to show
    stored = [mapper.get_property_by_column(c).key for c in table.columns if not c.info.get("legacy")]
    missing = [key for key in stored if not hasattr(cls, key)]
    assert not missing, f"{name} does not declare {missing}: add `name = column[type](doc)` to the class"
    for attribute_name, attribute in vars(cls).items():
        if isinstance(attribute, column):
            assert attribute_name in stored, f"{name}.{attribute_name} is not a column of {table.name}"
            assert attribute.__doc__, f"{name}.{attribute_name} has no description"


def test_declared_columns_read_like_attributes_and_refuse_writes(db):
    from sklearn.preprocessing import OrdinalEncoder

    from assay import datum

    splitset = assay.Pipeline.Tabular.make(df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
                                           label_encoder=dict(sklearn_preprocess=OrdinalEncoder()), size_test=0.2)
    dataset = assay.Dataset.get(assay.Splitset.get(splitset.id).dataset_id)
    assert (dataset.row_count, dataset.columns[-1]) == (150, "species")
    assert isinstance(dataset.blob, bytes)  # deferred: read on request
    assert len(dataset.blob) > 0
    assert splitset.size_test == 0.2
    assert "rows" in inspect.getdoc(assay.Dataset.row_count)
    with pytest.raises(AttributeError, match="stored"):
        dataset.row_count = 3


def test_assay_exposes_each_public_name_lazily_and_in_dir():
    assert set(assay.__all__) == {"__version__", "errors", "setup", *assay._LAZY}
    assert set(dir(assay)) == set(assay.__all__)
    for name in assay._LAZY:
        assert getattr(assay, name) is not None


def test_prediction_plots_draw_any_prediction_data_without_a_database_or_a_model():
    import attrs
    import numpy as np

    from assay.contracts import PredictionData
    from assay.evaluation import plots

    @attrs.frozen
    class Plain:
        """Predictions a plugin author computed elsewhere: the Protocol is all a plot reads."""

        id: int = 0
        split: str = "test"
        metrics: dict = attrs.field(factory=lambda: {"roc_auc": 0.75})
        predictions: np.ndarray = attrs.field(factory=lambda: np.array(["a", "b", "b", "a"]))
        labels: np.ndarray = attrs.field(factory=lambda: np.array(["a", "b", "a", "a"]))
        probabilities: np.ndarray = attrs.field(factory=lambda: np.array([0.2, 0.9, 0.6, 0.3]))
        classes: list = attrs.field(factory=lambda: ["a", "b"])

    prediction = Plain()
    assert isinstance(prediction, PredictionData)
    counts = plots.plot_confusion_matrix(prediction).axes[0].images[0].get_array()
    assert np.asarray(counts).tolist() == [[2, 1], [0, 1]]  # rows: true a, b; columns: predicted a, b
    assert plots.plot_roc_curve(prediction).axes[0].get_title() == "ROC curve, test split"


# --- SQL lives in assay/db/ (issue 11): every other layer calls a function of assay.db.queries ------------------

CORE = Path(assay.__file__).parent
#: what builds a statement; importing sqlalchemy for its errors or URLs (the CLI) is fine
STATEMENT_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "and_", "or_", "exists", "case",
                      "bindparam", "literal", "literal_column", "union", "union_all", "join", "outerjoin"}
#: what runs a statement or writes a row, called on a session
SESSION_CALLS = {"add", "add_all", "execute", "scalars", "scalar", "query", "delete", "merge", "flush", "get"}


def _outside_db() -> list[Path]:
    return [path for path in sorted(CORE.rglob("*.py")) if path.relative_to(CORE).parts[0] != "db"]


def _statement_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            if node.module.startswith(("sqlalchemy.sql", "sqlalchemy.future")):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            found += [f"line {node.lineno}: from {node.module} import {alias.name}" for alias in node.names
                      if alias.name in STATEMENT_BUILDERS]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in {"sqlalchemy", "sa"} and node.attr in STATEMENT_BUILDERS:
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def _session_calls(tree: ast.AST) -> list[str]:
    return [f"line {node.lineno}: session.{node.func.attr}(...)" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "session"
            and node.func.attr in SESSION_CALLS]


def test_no_module_outside_db_builds_sql():
    offenders = {str(path.relative_to(CORE)): found for path in _outside_db()
                 if (found := _statement_imports(ast.parse(path.read_text(), str(path))))}
    assert not offenders, f"SQL is built outside assay/db/ (move it into a db/queries function): {offenders}"


def test_no_module_outside_db_runs_statements_on_a_session():
    offenders = {str(path.relative_to(CORE)): found for path in _outside_db()
                 if (found := _session_calls(ast.parse(path.read_text(), str(path))))}
    assert not offenders, f"rows written outside assay/db/ (move them into a db/queries function): {offenders}"


def test_the_scan_sees_sql_it_must_refuse():
    # the scan itself must be able to fail
    tree = ast.parse("from sqlalchemy import select, update\nsession.add(row)\nsession.execute(select(x))\n")
    assert len(_statement_imports(tree)) == 2
    assert [call.split(": ")[1] for call in _session_calls(tree)] == ["session.add(...)", "session.execute(...)"]
