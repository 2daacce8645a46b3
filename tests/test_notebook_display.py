"""Objects display themselves in Jupyter: ``_repr_html_`` of Queue, Predictor, Splitset and Dataset, and
``examples/notebook.ipynb`` executed end to end by a real Jupyter kernel (nbclient)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dashboard_helpers import XSS_CLASSES, XSS_COLUMN, XSS_HP_VALUE

import assay

NOTEBOOK = Path(__file__).parent.parent / "examples" / "notebook.ipynb"


def test_a_queue_shows_its_progress_and_the_top_of_its_leaderboard(dashboard_database):
    assay.setup(dashboard_database["url"])
    queue = assay.Queue.get(dashboard_database["finished"])
    shown = queue._repr_html_()
    board = queue.leaderboard()
    assert "8/8 done" in shown
    assert "<b>8</b> succeeded" in shown
    ranked = [int(found) for found in re.findall(r">#(\d+)</td>", shown)]
    assert ranked == board["best_predictor_id"].astype(int).tolist()[:5]
    assert f"{board.iloc[0]['accuracy_mean']:.4f}" in shown


def test_a_queue_with_failures_shows_the_errors_escaped(dashboard_database):
    assay.setup(dashboard_database["url"])
    shown = assay.Queue.get(dashboard_database["failing"])._repr_html_()
    assert "<b>1</b> failed" in shown
    assert "always fails: fail=True &lt;and its message has &lt;markup&gt;&gt;" in shown


def test_a_predictor_shows_metrics_per_split_and_a_learning_curve_thumbnail(dashboard_database):
    assay.setup(dashboard_database["url"])
    predictor = assay.Predictor.get(dashboard_database["best_predictor"])
    shown = predictor._repr_html_()
    for split, metrics in predictor.metrics.items():
        assert f">{split}</th>" in shown
        assert f"{metrics['accuracy']:.4f}" in shown
    assert 'class="assay-learning-curve" src="data:image/png;base64,' in shown
    assert XSS_HP_VALUE not in shown


def test_a_splitset_and_its_dataset_show_sizes_and_class_balance_as_text(dashboard_database):
    assay.setup(dashboard_database["url"])
    splitset = assay.Splitset.get(dashboard_database["xss_splitset"])
    shown = splitset._repr_html_()
    for split, rows in splitset.samples.items():
        assert re.search(rf">{split}</td><td[^>]*>{len(rows)}</td>", shown)
    dataset = assay.Dataset.get(splitset.dataset_id)
    dataset_shown = dataset._repr_html_()
    assert "60 rows" in dataset_shown
    for shown_html in (shown, dataset_shown):
        for raw in (XSS_COLUMN, *XSS_CLASSES):
            assert raw not in shown_html
    assert "&lt;script&gt;window.__xss_column = 1&lt;/script&gt;" in dataset_shown
    assert "<td style" in dataset_shown
    assert ">30</td>" in dataset_shown  # 30 rows of each class


def test_the_example_notebook_runs_in_a_real_kernel_and_displays_html(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("assay_torch")
    monkeypatch.setenv("ASSAY_DATABASE_URL", f"sqlite:///{tmp_path / 'notebook.sqlite3'}")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    html = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output
            text = output.get("data", {}).get("text/html")
            if text:
                kind = re.search(r'class="assay-repr assay-(\w+)"', text)
                html[kind.group(1) if kind else "other"] = text
    assert set(html) >= {"splitset", "dataset", "queue", "predictor"}
    assert "4/4 done" in html["queue"]
    assert ">validation</th>" in html["predictor"]
    assert "data:image/png;base64," in html["predictor"]
    assert re.search(r">train</td><td[^>]*>99</td>", html["splitset"])
    assert "species" in html["dataset"]
