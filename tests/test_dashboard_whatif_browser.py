"""The what-if form in a real headless Chromium: change a value, the prediction changes without a reload; a hostile
value typed into a field, and markup in the class names, are shown as text (see ``test_dashboard_browser.py`` for
how Chromium is driven; the tests skip without Debian's ``chromium`` and ``chromium-driver``)."""

from __future__ import annotations

import pytest

pytest.importorskip("selenium.webdriver")
pytest.importorskip("assay_torch")

from dashboard_helpers import XSS_CLASSES  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from test_dashboard_browser import (  # noqa: E402, F401  (browser is a fixture)
    browser,
    dashboard_server,
    open_page,
    screenshot,
    severe_console_messages,
)
from whatif_helpers import whatif_queue  # noqa: E402

import assay  # noqa: E402
from assay.db import engine as db_engine  # noqa: E402

HOSTILE = '<img src=x onerror="window.__whatif_xss = 1">'


@pytest.fixture(scope="module")
def whatif_site(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('whatif') / 'whatif.sqlite3'}"
    assay.setup(url)
    predictor_id = whatif_queue().predictors[0].id
    db_engine.dispose()
    with dashboard_server(url) as address:
        yield address, predictor_id


def answered(driver, after: int) -> bool:
    return int(driver.find_element(By.ID, "whatif").get_attribute("data-answered") or 0) > after


def probabilities(driver) -> list[str]:
    return [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#whatif-probabilities tr")]


def test_changing_a_value_changes_the_prediction_and_hostile_text_stays_text(browser, whatif_site):  # noqa: F811
    address, predictor_id = whatif_site
    open_page(browser, address, f"/predictors/{predictor_id}")
    before = probabilities(browser)
    assert len(before) == 2
    assert {row.rsplit(" ", 1)[0] for row in before} == set(XSS_CLASSES)  # class names with markup, as text

    size = browser.find_element(By.CSS_SELECTOR, "#whatif input[data-column='size']")
    size.clear()
    size.send_keys("260")
    WebDriverWait(browser, 30).until(lambda d: answered(d, 0))
    after = probabilities(browser)
    assert after != before
    assert browser.find_element(By.ID, "whatif-error").text == ""
    assert browser.current_url.rstrip("/").endswith(str(predictor_id))  # no reload, no navigation

    # a select offers the training categories; a hostile value posted anyway comes back as text in the error
    browser.execute_script(
        "const select = document.querySelector(\"#whatif select[data-column='color']\");"
        "const option = new Option(arguments[0], arguments[0]); select.add(option); select.value = arguments[0];"
        "select.dispatchEvent(new Event('change', {bubbles: true}));", HOSTILE)
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "whatif-error").text != "")
    error = browser.find_element(By.ID, "whatif-error").text
    assert "color" in error
    assert "onerror" in error  # shown, not run
    assert browser.execute_script("return window.__whatif_xss === undefined")
    assert browser.execute_script("return document.querySelectorAll('#whatif-section img').length") == 0
    screenshot(browser, "whatif")
    # the only console message allowed: the refused value's 400 answer
    assert all("/whatif" in message and "400" in message for message in severe_console_messages(browser))
