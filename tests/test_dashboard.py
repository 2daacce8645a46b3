"""The dashboard's pages and files, requested in-process over HTTP (Starlette's test client), on real data.

What a browser does with them (sorting, live progress, images, console errors) is in
``test_dashboard_browser.py``; these tests check what the server answers.
"""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")  # starlette.testclient's HTTP client (plain httpx is deprecated there)

from dashboard_helpers import XSS_CLASSES, XSS_COLUMN, XSS_HP_VALUE  # noqa: E402

import assay  # noqa: E402
from assay.db.queries import dashboard as queries  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def client(dashboard_database):
    from starlette.testclient import TestClient

    from assay import dashboard

    app = dashboard.create_app(dashboard_database["url"])
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def retry_client(tmp_path, dashboard_database):
    """A dashboard allowed to retry, over a copy of the database (retrying writes)."""
    import shutil

    from starlette.testclient import TestClient

    from assay import dashboard

    source = dashboard_database["url"].removeprefix("sqlite:///")
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(source, copy)
    app = dashboard.create_app(f"sqlite:///{copy}", allow_retry=True)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_every_page_answers_with_html_and_a_strict_content_security_policy(client, dashboard_database):
    ids = dashboard_database
    paths = ["/", f"/queues/{ids['finished']}", f"/queues/{ids['failing']}", f"/queues/{ids['xss']}",
             f"/predictors/{ids['best_predictor']}", f"/predictors/{ids['best_predictor']}?split=test&page=2",
             f"/compare?ids={ids['predictors'][0]},{ids['best_predictor']}", f"/splitsets/{ids['iris_splitset']}",
             f"/splitsets/{ids['xss_splitset']}"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'self'" in policy
        # the page's wall and CPU milliseconds (what benchmarks/leaderboard.py reads)
        assert re.fullmatch(r"app;dur=\d+\.\d, cpu;dur=\d+\.\d", response.headers["server-timing"])
        # nothing from another site: every src and href is local
        assert not re.search(r'(src|href)="(https?:)?//', response.text), path


def test_the_queue_list_shows_progress_and_the_best_score(client, dashboard_database):
    page = client.get("/").text
    assert f'href="/queues/{dashboard_database["failing"]}"' in page
    row = page.split(f'data-queue="{dashboard_database["failing"]}"')[1].split("</tr>")[0]
    assert re.search(r'data-count="succeeded">1<', row)
    assert re.search(r'data-count="failed">1<', row)


def test_the_queue_page_ranks_combinations_like_the_python_leaderboard(client, dashboard_database):
    queue_id = dashboard_database["finished"]
    assay.setup(dashboard_database["url"])
    board = assay.Queue.get(queue_id).leaderboard()
    page = client.get(f"/queues/{queue_id}").text
    linked = [int(found) for found in re.findall(r'<a href="/predictors/(\d+)">#', page.split('id="leaderboard"')[1])]
    assert linked == [int(value) for value in board["best_predictor_id"]]
    assert "8</b>/<span data-count=\"total\">8" in page.replace("\n", "")


def test_the_leaderboard_follows_the_split_and_metric_chosen(client, dashboard_database):
    queue_id = dashboard_database["finished"]
    page = client.get(f"/queues/{queue_id}?split=test&metric=log_loss").text
    assert "<b>Log loss</b> on the <b>test</b> split (lower is better)" in page
    assert client.get(f"/queues/{queue_id}?split=nonsense").status_code == 200
    assert "is not an evaluated split" in client.get(f"/queues/{queue_id}?split=nonsense").text


def test_failed_jobs_show_their_error_and_traceback_escaped(client, dashboard_database):
    page = client.get(f"/queues/{dashboard_database['failing']}").text
    assert "this combination always fails: fail=True &lt;and its message has &lt;markup&gt;&gt;" in page
    assert "Traceback (most recent call last)" in page
    assert "ValueError" in page


def test_user_strings_are_escaped_everywhere(client, dashboard_database):
    ids = dashboard_database
    for path in [f"/splitsets/{ids['xss_splitset']}", f"/queues/{ids['xss']}", f"/queues/{ids['finished']}",
                 f"/predictors/{ids['best_predictor']}", "/",
                 f"/predictors/{assay_predictor_of(ids['url'], ids['xss'])}?split=test"]:
        page = client.get(path).text
        for raw in [XSS_COLUMN, *XSS_CLASSES, XSS_HP_VALUE]:
            assert raw not in page, (path, raw)
    # the plots are SVG documents a browser could open directly: their text is escaped XML too
    xss_predictor = assay_predictor_of(ids["url"], ids["xss"])
    for name in ("confusion_matrix", "roc_curve"):
        svg = client.get(f"/predictors/{xss_predictor}/plots/test/{name}.svg").text
        assert "<script" not in svg
        assert "<img" not in svg
        assert "&lt;script&gt;" in svg
    splitset_page = client.get(f"/splitsets/{ids['xss_splitset']}").text
    assert "&lt;script&gt;window.__xss_column = 1&lt;/script&gt;" in splitset_page
    assert "&lt;img src=x onerror=&#34;window.__xss_img = 1&#34;&gt;" in splitset_page


def assay_predictor_of(url: str, queue_id: int) -> int:
    assay.setup(url)
    return assay.Queue.get(queue_id).predictors[0].id


def test_the_predictor_page_shows_metrics_plots_and_predictions(client, dashboard_database):
    predictor_id = dashboard_database["best_predictor"]
    assay.setup(dashboard_database["url"])
    predictor = assay.Predictor.get(predictor_id)
    page = client.get(f"/predictors/{predictor_id}").text
    accuracy = f"{predictor.metrics['validation']['accuracy']:.4f}"
    assert accuracy in page.split('id="metrics"')[1].split("</table>")[0]
    for name in ("confusion_matrix", "roc_curve", "precision_recall"):
        assert f"/predictors/{predictor_id}/plots/validation/{name}.svg" in page
    # importance was stored for validation: it is shown; for test it is not, and the page says how to compute it
    assert f"/predictors/{predictor_id}/importance/validation/3.svg" in page
    test_page = client.get(f"/predictors/{predictor_id}?split=test").text
    assert 'feature_importance(split="test")' in test_page
    rows = test_page.split('id="predictions"')[1].split("<tbody>")[1].split("</tbody>")[0].count("<tr")
    assert rows == min(len(predictor.predictions["test"].predictions), 50)
    # the combination's other repeat is one click away
    siblings = page.split('id="siblings"')[1].split("</table>")[0]
    assert siblings.count("<tr") == 1 + 2
    assert "(this one)" in siblings


def test_importance_stored_for_a_row_sample_is_shown_with_its_sample(client, dashboard_database):
    predictor_id = dashboard_database["best_predictor"]
    page = client.get(f"/predictors/{predictor_id}?split=train")
    assert page.status_code == 200
    assert f"/predictors/{predictor_id}/importance/train/2.svg" in page.text
    svg = client.get(f"/predictors/{predictor_id}/importance/train/2.svg")
    assert svg.status_code == 200
    assert b"mean of 2 permutations" in svg.content
    assert b"10 of " in svg.content  # the legend says the bars average a sample of the rows


def test_images_are_the_python_api_figures_as_svg_and_png(client, dashboard_database):
    predictor_id, queue_id = dashboard_database["best_predictor"], dashboard_database["finished"]
    svg = client.get(f"/predictors/{predictor_id}/learning_curve.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content[:400]
    assert b"Learning curve of predictor" in svg.content
    png = client.get(f"/queues/{queue_id}/performance.png")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    matrix = client.get(f"/predictors/{predictor_id}/plots/test/confusion_matrix.svg")
    assert matrix.status_code == 200
    assert b"Confusion matrix" in matrix.content


def test_requests_never_name_files_or_unknown_plots(client, dashboard_database):
    predictor_id = dashboard_database["best_predictor"]
    assert client.get("/static/dashboard.js").status_code == 200
    for path in ["/static/..%2Fapp.py", "/static/../app.py", "/static/templates", "/static/%2Fetc%2Fpasswd",
                 f"/predictors/{predictor_id}/plots/test/..%2F..%2Fx.svg",
                 f"/predictors/{predictor_id}/plots/test/not_a_plot.svg",
                 f"/predictors/{predictor_id}/plots/nosplit/confusion_matrix.svg",
                 f"/predictors/{predictor_id}/learning_curve.pdf",
                 f"/predictors/{predictor_id}/importance/test/3.svg"]:
        assert client.get(path).status_code == 404, path


def test_missing_objects_and_bad_compare_requests_get_a_clear_page(client, dashboard_database):
    assert client.get("/queues/999").status_code == 404
    assert "there is no queue 999" in client.get("/queues/999").text
    assert client.get("/predictors/999").status_code == 404
    assert client.get("/splitsets/999").status_code == 404
    one = client.get(f"/compare?ids={dashboard_database['best_predictor']}")
    assert one.status_code == 400
    assert "choose 2 to 4 different predictors" in one.text
    assert client.get("/compare?ids=1,x").status_code == 400
    assert client.get(f"/compare?ids=1,{dashboard_database['best_predictor']},999").status_code == 404


def test_compare_shows_the_chosen_predictors_side_by_side(client, dashboard_database):
    chosen = [dashboard_database["predictors"][0], dashboard_database["best_predictor"]]
    page = client.get(f"/compare?id={chosen[0]}&id={chosen[1]}").text
    header = page.split('id="compare"')[1].split("</thead>")[0]
    assert re.findall(r'data-predictor="(\d+)"', header) == [str(value) for value in chosen]
    assert "differs" in page  # neuron_count or epoch_count differ between these two


def test_a_bundle_downloads_and_predicts(client, dashboard_database, tmp_path):
    from assay import datum

    response = client.get(f"/predictors/{dashboard_database['best_predictor']}/bundle")
    assert response.status_code == 200
    assert 'filename="predictor-' in response.headers["content-disposition"]
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    path = tmp_path / "model.assay"
    path.write_bytes(response.content)
    predictions = assay.load_bundle(str(path)).predict(datum.to_pandas("iris.tsv").head(5))
    assert len(predictions) == 5


def test_predictions_download_as_csv(client, dashboard_database):
    predictor_id = dashboard_database["best_predictor"]
    response = client.get(f"/predictors/{predictor_id}/predictions/test.csv")
    frame = pd.read_csv(io.StringIO(response.text))
    assert list(frame.columns[:4]) == ["row", "label", "prediction", "correct"]
    assert len(frame) == len(assay.Predictor.get(predictor_id).predictions["test"].predictions)


def test_the_dashboard_is_read_only_without_the_retry_flag(client, dashboard_database):
    queue_id = dashboard_database["failing"]
    response = client.post(f"/queues/{queue_id}/retry", data={"token": "anything"})
    assert response.status_code == 403
    assert "read-only" in response.text
    assert queries.job_counts_by_queue([queue_id])[queue_id]["failed"] == 1
    assert "Retry the" not in client.get(f"/queues/{queue_id}").text


def test_with_the_retry_flag_failed_jobs_are_queued_again_only_with_the_page_token(retry_client, dashboard_database):
    queue_id = dashboard_database["failing"]
    page = retry_client.get(f"/queues/{queue_id}").text
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    refused = retry_client.post(f"/queues/{queue_id}/retry", data={"token": "forged"})
    assert refused.status_code == 403
    assert queries.job_counts_by_queue([queue_id])[queue_id]["failed"] == 1
    done = retry_client.post(f"/queues/{queue_id}/retry", data={"token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/queues/{queue_id}"
    counts = queries.job_counts_by_queue([queue_id])[queue_id]
    assert counts["failed"] == 0
    assert counts["queued"] == 1


def test_other_host_names_are_refused(dashboard_database):
    from starlette.testclient import TestClient

    from assay import dashboard

    app = dashboard.create_app(dashboard_database["url"])
    with TestClient(app, base_url="http://attacker.example") as other:
        assert other.get("/").status_code == 400


def test_progress_json_counts_every_state(client, dashboard_database):
    data = client.get(f"/api/progress?ids={dashboard_database['failing']}").json()
    progress = data[str(dashboard_database["failing"])]
    assert progress["counts"] == {"succeeded": 1, "failed": 1, "running": 0, "queued": 0}
    assert progress["total"] == 2
    assert progress["finished"] == 2
    assert progress["active"] is False
    assert progress["signature"]


def test_the_splitset_page_shows_split_fold_sizes_and_class_balance(client, dashboard_database):
    assay.setup(dashboard_database["url"])
    splitset = assay.Splitset.get(dashboard_database["xss_splitset"])
    page = client.get(f"/splitsets/{splitset.id}").text
    splits = page.split('id="splits"')[1].split("</table>")[0]
    assert f">{len(splitset.samples['train'])}<" in splits
    assert f">{len(splitset.samples['test'])}<" in splits
    folds = page.split('id="folds"')[1].split("</table>")[0]
    assert folds.count("<tr>") == 1 + len(splitset.folds)
    balance = page.split('id="balance"')[1].split("</table>")[0]
    labels = pd.Series(splitset.raw_labels(splitset.samples["train"])).value_counts()
    assert all(f">{count} <" in balance for count in labels.tolist())


def test_db_queries_return_the_queue_facts(dashboard_database):
    assay.setup(dashboard_database["url"])
    summaries = {summary["id"]: summary for summary in queries.queue_summaries()}
    finished = summaries[dashboard_database["finished"]]
    assert finished["counts"] == {"succeeded": 8, "failed": 0, "running": 0, "queued": 0}
    assert finished["library"] == "torch"
    assert finished["label_column"] == "species"
    failed = queries.failed_jobs(dashboard_database["failing"])
    assert len(failed) == 1
    assert failed[0]["hyperparameters"]["fail"] is True
    assert failed[0]["traceback"]
    assert queries.existing_predictor_ids([999, dashboard_database["best_predictor"]]) == [
        dashboard_database["best_predictor"]]
    assert [row["status"] for row in queries.job_timeline(dashboard_database["failing"])].count("failed") == 1


def test_the_server_sorts_filters_and_pages_the_whole_leaderboard(client, dashboard_database):
    from assay.dashboard import board as boards

    queue_id = dashboard_database["finished"]
    assay.setup(dashboard_database["url"])
    board = assay.Queue.get(queue_id).leaderboard()

    def linked(query: str) -> list[int]:
        page = client.get(f"/queues/{queue_id}/live{query}").text
        return [int(found) for found in re.findall(r'<a href="/predictors/(\d+)">#', page)]

    ascending = board.sort_values("accuracy_mean", kind="stable")["best_predictor_id"].astype(int).tolist()
    assert linked("?sort=accuracy_mean&order=asc") == ascending
    assert linked("?sort=accuracy_mean&order=desc")[0] == int(board.iloc[0]["best_predictor_id"])
    twelve = board[board["neuron_count"] == 12]["best_predictor_id"].astype(int).tolist()
    assert sorted(linked("?filter=neuron_count%3D12")) == sorted(twelve)
    assert linked("?filter=no-such-value") == []
    assert linked("?sort=nonsense&order=sideways&page=x") == board["best_predictor_id"].astype(int).tolist()

    many = pd.concat([board] * 30, ignore_index=True)
    many.attrs.update(board.attrs)
    table = boards.leaderboard_table(many, boards.BoardView(page=3))
    assert table["page"] == 3
    assert table["page_count"] == -(-len(many) // boards.PAGE_ROWS)
    assert len(table["rows"]) == min(boards.PAGE_ROWS, len(many) - 2 * boards.PAGE_ROWS)
    assert table["previous"] == "?page=2"


def test_assay_dashboard_serves_on_127_0_0_1_until_stopped(dashboard_database):
    import subprocess
    import sys
    import urllib.request

    command = [sys.executable, "-c", "import sys; from assay.cli import main; sys.exit(main())", "dashboard",
               "--url", dashboard_database["url"], "--port", "0"]
    # the with block closes the pipes too (else a ResourceWarning, an error in the tests)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline()
            address = re.search(r"http://127\.0\.0\.1:\d+/", line)
            assert address, line + process.stderr.read()
            assert "read-only" in line
            with urllib.request.urlopen(address.group(0) + "api/progress", timeout=30) as response:
                assert str(dashboard_database["finished"]) in response.read().decode()
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_wrong_port_is_refused_before_serving(dashboard_database, capsys):
    from assay.cli import main

    assert main(["dashboard", "--url", dashboard_database["url"], "--port", "70000"]) == 1
    assert "port" in capsys.readouterr().err


def test_an_adaptive_search_shows_its_history_and_hyperparameter_importance(client, dashboard_database):
    queue_id = dashboard_database["adaptive"]
    page = client.get(f"/queues/{queue_id}").text
    assert 'id="search"' in page
    assert "tpe" in page.split('id="search"')[1].split("</h2>")[0]
    for name in ("search_history", "hyperparameter_importance"):
        assert f"/queues/{queue_id}/search/{name}.png" in page
        image = client.get(f"/queues/{queue_id}/search/{name}.png")
        assert image.status_code == 200
        assert image.content.startswith(b"\x89PNG")
    assert 'id="search"' not in client.get(f"/queues/{dashboard_database['finished']}").text  # a grid has none


def test_a_hyperparameter_of_many_values_lists_the_first_ones_and_how_many_more(db):
    import dashboard_helpers
    from starlette.testclient import TestClient

    from assay import dashboard
    from assay.dashboard import pages

    splitset = dashboard_helpers.iris_splitset()
    queue = dashboard_helpers.make_queue(splitset, {"seed": list(range(120)), "neuron_count": [3],
                                                    "epoch_count": [1]})
    with TestClient(dashboard.create_app(db), base_url="http://127.0.0.1") as client:
        page = client.get(f"/queues/{queue.id}").text
    cell = page.split('<span class="hp-name">seed</span>')[1].split("</tr>")[0]
    assert cell.count("<code>") == pages.GRID_VALUES_SHOWN
    assert "<code>0</code>" in cell
    assert f"<code>{pages.GRID_VALUES_SHOWN - 1}</code>" in cell
    assert f"and {120 - pages.GRID_VALUES_SHOWN} more (120 values)" in cell
    short = page.split('<span class="hp-name">neuron_count</span>')[1].split("</tr>")[0]
    assert "<code>3</code>" in short
    assert "more" not in short


def test_a_star_set_from_python_shows_on_the_next_view(retry_client, dashboard_database):
    path = f"/queues/{dashboard_database['finished']}"

    def first_row(text):
        return text.split("<tbody>", 1)[1].split("</tr>", 1)[0]

    last = re.findall(r'<a href="/predictors/(\d+)">#', retry_client.get(path).text)[-1]
    assert f'href="/predictors/{last}"' not in first_row(retry_client.get(path).text)
    assert assay.Predictor.get(int(last)).flip_star() is True  # another process's star, as far as the app knows
    # the stars are read on every view (the cached leaderboard does not hold them)
    assert f'href="/predictors/{last}"' in first_row(retry_client.get(path).text)
    assert assay.Predictor.get(int(last)).flip_star() is False
    assert f'href="/predictors/{last}"' not in first_row(retry_client.get(path).text)
