"""The dashboard in a real headless Chromium (Debian's ``chromium`` driven through its ``chromedriver``).

Nothing downloads a browser: the tests skip when ``chromium`` and ``chromedriver`` are not installed
(``.ci/run`` installs them). Each page's screenshot is saved under ``tests/screenshots/`` (kept out of git;
``ASSAY_SCREENSHOTS`` chooses another folder) for a reviewer to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")

from dashboard_helpers import XSS_CLASSES, XSS_COLUMN, iris_splitset, make_queue  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import assay  # noqa: E402

TESTS = Path(__file__).parent
SCREENSHOTS = Path(os.environ.get("ASSAY_SCREENSHOTS") or TESTS / "screenshots")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1000"]


def _find(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = _find("chromium", "chromium-browser")
    driver_binary = _find("chromedriver")
    if binary is None or driver_binary is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in [*BROWSER_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_binary))
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _environment() -> dict[str, str]:
    # the queues' model functions live in tests/dashboard_helpers.py: the server and workers import them
    paths = [str(TESTS), *[path for path in sys.path if path]]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@contextlib.contextmanager
def dashboard_server(url: str):
    """``assay dashboard --port 0`` in its own process; yields the address it prints once it listens."""
    command = [sys.executable, "-c", "import sys; from assay.cli import main; sys.exit(main())",
               "dashboard", "--url", url, "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=_environment())
    try:
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if found is None:
            process.kill()
            raise AssertionError(f"the dashboard did not start: {line!r} {process.stderr.read()}")
        assert "read-only" in line
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


@pytest.fixture(scope="module")
def site(dashboard_database):
    with dashboard_server(dashboard_database["url"]) as address:
        yield address


def severe_console_messages(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for_images(driver, timeout: float = 90) -> list[dict]:
    """Waits until every image finished loading; returns those that failed (src and natural width)."""
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return Array.from(document.images).every((image) => image.complete)"))
    return driver.execute_script(
        "return Array.from(document.images).filter((image) => !image.naturalWidth).map((image) => image.src)")


def screenshot(driver, name: str) -> Path:
    """A full-page screenshot: the window is made as tall as the page first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height, 600) + 20, 6000))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    return path


def open_page(driver, address: str, path: str) -> None:
    driver.get(address + path.lstrip("/"))
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def test_every_page_loads_with_its_images_and_no_console_errors(browser, site, dashboard_database):
    ids = dashboard_database
    pages = {"queues": "/", "queue": f"/queues/{ids['finished']}", "queue-failed": f"/queues/{ids['failing']}",
             "queue-adaptive-search": f"/queues/{ids['adaptive']}",
             "predictor": f"/predictors/{ids['best_predictor']}",
             "compare": f"/compare?ids={ids['predictors'][0]},{ids['predictors'][3]},{ids['best_predictor']}",
             "splitset": f"/splitsets/{ids['iris_splitset']}", "splitset-markup": f"/splitsets/{ids['xss_splitset']}"}
    browser.get_log("browser")  # start with an empty log
    for name, path in pages.items():
        open_page(browser, site, path)
        assert wait_for_images(browser) == [], name
        assert severe_console_messages(browser) == [], name
        assert screenshot(browser, name).stat().st_size > 10_000
    open_page(browser, site, f"/predictors/{ids['best_predictor']}")
    images = browser.execute_script("return Array.from(document.images).map((image) => image.src)")
    assert any("learning_curve.svg" in src for src in images)
    assert any("confusion_matrix.svg" in src for src in images)
    assert any("/importance/validation/3.svg" in src for src in images)


def leaderboard_predictors(driver) -> list[int]:
    links = driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr a[href^='/predictors/']")
    return [int(link.get_attribute("href").rsplit("/", 1)[1]) for link in links]


def header(driver, text: str):
    return next(cell for cell in driver.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")
                if cell.text.strip() == text)


def test_a_click_on_a_column_sorts_the_leaderboard_and_the_filter_hides_rows(browser, site, dashboard_database):
    queue_id = dashboard_database["finished"]
    assay.setup(dashboard_database["url"])
    board = assay.Queue.get(queue_id).leaderboard()
    open_page(browser, site, f"/queues/{queue_id}")
    browser.execute_script("window.__same_page = 'yes'")
    assert leaderboard_predictors(browser) == board["best_predictor_id"].astype(int).tolist()

    click_header(browser, "Accuracy")  # higher is better: the first click puts the best first
    assert header(browser, "Accuracy").get_attribute("aria-sort") == "descending"
    assert _column_values(browser, "Accuracy") == sorted(board["accuracy_mean"].round(4).tolist(), reverse=True)
    click_header(browser, "Accuracy")
    assert header(browser, "Accuracy").get_attribute("aria-sort") == "ascending"
    ascending = board.sort_values("accuracy_mean", kind="stable")
    assert _column_values(browser, "Accuracy") == ascending["accuracy_mean"].round(4).tolist()
    assert leaderboard_predictors(browser) == ascending["best_predictor_id"].astype(int).tolist()

    click_header(browser, "neuron_count")
    assert _column_values(browser, "neuron_count") == sorted(board["neuron_count"].astype(float).tolist())
    assert "sort=neuron_count" in browser.current_url  # the view is in the address, so it can be shared

    browser.find_element(By.ID, "board-filter").send_keys("neuron_count=12")
    WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: set(_column_values(d, "neuron_count")) == {12.0})
    expected = board[board["neuron_count"] == 12]["best_predictor_id"].astype(int)
    assert sorted(leaderboard_predictors(browser)) == sorted(expected.tolist())
    assert browser.execute_script("return window.__same_page") == "yes"  # sorted and filtered without a reload
    assert severe_console_messages(browser) == []
    screenshot(browser, "queue-sorted-filtered")


def click_header(driver, text: str) -> None:
    """Clicks a column's header and waits until the table was swapped for the sorted one."""
    table = driver.find_element(By.ID, "leaderboard")
    header(driver, text).find_element(By.TAG_NAME, "a").click()
    WebDriverWait(driver, 30).until(lambda d: _stale(table))


def _stale(element) -> bool:
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    return False


def _column_values(driver, name: str) -> list[float]:
    headers = [cell.text.strip() for cell in driver.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")]
    index = headers.index(name) + 1
    cells = driver.find_elements(By.CSS_SELECTOR, f"#leaderboard tbody tr td:nth-child({index})")
    return [float(cell.text.split()[0]) for cell in cells]


def test_the_compare_page_shows_the_predictors_ticked_in_the_leaderboard(browser, site, dashboard_database):
    open_page(browser, site, f"/queues/{dashboard_database['finished']}")
    boxes = browser.find_elements(By.CSS_SELECTOR, "#leaderboard input[name=id]")
    button = browser.find_element(By.ID, "compare-button")
    assert not button.is_enabled()
    boxes[0].click()
    boxes[-1].click()
    chosen = [boxes[0].get_attribute("value"), boxes[-1].get_attribute("value")]
    assert button.is_enabled()
    button.click()
    WebDriverWait(browser, 60).until(lambda d: "/compare" in d.current_url)
    assert wait_for_images(browser) == []
    shown = [cell.get_attribute("data-predictor")
             for cell in browser.find_elements(By.CSS_SELECTOR, "#compare th[data-predictor]")]
    assert shown == chosen
    assert severe_console_messages(browser) == []


def test_markup_in_column_and_class_names_is_shown_as_text(browser, site, dashboard_database):
    open_page(browser, site, f"/splitsets/{dashboard_database['xss_splitset']}")
    for marker in ("__xss_column", "__xss_class", "__xss_img"):
        assert browser.execute_script(f"return window.{marker} === undefined"), marker
    text = browser.find_element(By.TAG_NAME, "main").text
    assert XSS_COLUMN in text
    assert all(name in text for name in XSS_CLASSES)
    open_page(browser, site, f"/queues/{dashboard_database['xss']}")
    assert browser.execute_script("return window.__xss_column === undefined && window.__xss_img === undefined")


def test_progress_rises_while_a_worker_runs_without_a_reload(browser, tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    assay.setup(url)
    queue = make_queue(iris_splitset(), {"neuron_count": [4], "epoch_count": [2], "sleep": [0.5],
                                         "batch_size": [8, 16, 32, 64]})
    with dashboard_server(url) as address:
        open_page(browser, address, f"/queues/{queue.id}")
        count = browser.find_element(By.CSS_SELECTOR, '[data-count="finished"]')
        assert count.text == "0"
        browser.execute_script("window.__same_page = 'yes'")
        worker = subprocess.Popen(
            [sys.executable, "-c", "import sys, assay; assay.setup(sys.argv[1]); "
             "assay.Queue.get(int(sys.argv[2])).run_jobs(progress=False)", url, str(queue.id)],
            env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            seen = {0}
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                seen.add(int(browser.find_element(By.CSS_SELECTOR, '[data-count="finished"]').text))
                if 4 in seen:
                    break
                time.sleep(0.2)
            assert worker.wait(timeout=240) == 0, worker.stderr.read()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=30)
            worker.stderr.close()
        assert max(seen) == 4, seen
        assert len(seen) >= 2, seen
        assert browser.execute_script("return window.__same_page") == "yes"  # never reloaded
        # the leaderboard arrived with the results, also without a reload
        WebDriverWait(browser, 30).until(lambda d: len(leaderboard_predictors(d)) == 4)
        assert browser.execute_script("return window.__same_page") == "yes"
        assert wait_for_images(browser) == []
        assert severe_console_messages(browser) == []
        screenshot(browser, "queue-live")
