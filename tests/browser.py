"""A headless Chromium for the tests that open pages (Debian's chromium and chromium-driver,
driven through Selenium); a test skips with the remedy where either is missing."""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import pytest


@contextmanager
def chromium(width: int = 1400, height: int = 1000):
    """A WebDriver of headless Chromium at ``width`` x ``height``, logging the console."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip("no headless Chromium: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        browser.set_page_load_timeout(120)
        yield browser
    finally:
        browser.quit()


def console_errors(browser) -> list[str]:
    """The page's console errors (and uncaught exceptions) since the last call."""
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE"]


def wait_for(browser, script: str, timeout: float = 60.0):
    """Run ``script`` (a JS expression) until it is truthy; its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(
        lambda driver: driver.execute_script(f"return {script};"))
