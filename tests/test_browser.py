"""Browser smoke test of the built site: headless Chromium, no network beyond this machine.

Serves ``_build/html`` on 127.0.0.1, loads the pages, and checks that MathJax rendered the maths
and the widget manager rendered the widgets, with every request staying on the loopback address.
Run after ``make book``; ``make test`` does both (and installs Chromium when missing).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.browser

CHAPTER = "book/ch01_perceptrons_to_cnns.html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail("the site is not built: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("Chromium/ChromeDriver not installed and could not be installed here "
                    "(tests/install_chromium.sh needs root and Debian's apt-get)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _network(driver) -> tuple[list[str], list[str]]:
    """URLs requested since the last call, and those answered with an HTTP error."""
    urls, failed = [], []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
        elif msg.get("method") == "Network.responseReceived":
            response = msg["params"]["response"]
            if response.get("status", 200) >= 400:
                failed.append(f"{response['status']} {response['url']}")
    return urls, failed


def _load(driver, url: str, wait_css: str, timeout: float = 40):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("performance")  # drop entries of earlier pages
    driver.get(url)
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, wait_css))
    return driver.find_elements(By.CSS_SELECTOR, wait_css)


def _offsite(urls: list[str]) -> list[str]:
    return [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname not in ("127.0.0.1", "localhost")]


def test_chapter_renders_math_and_widget_offline(server, browser):
    math = _load(browser, f"{server}/{CHAPTER}", "mjx-container")
    assert len(math) > 10, "MathJax rendered too few formulas"
    widgets = _load(browser, f"{server}/{CHAPTER}", ".widget-slider, .jupyter-widgets input")
    assert widgets, "the widget manager did not render the widget"
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "ch01.png"))
    requests, failed = _network(browser)
    assert requests, "the performance log recorded no request at all"
    assert _offsite(requests) == []
    assert failed == [], "files the page asked for are missing from the build"


def test_every_page_loads_without_leaving_the_machine(server, browser):
    pages = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                   if "_static" not in p.parts and p.name not in ("genindex.html", "search.html"))
    assert CHAPTER in pages and "book/intro.html" in pages
    for page in pages:
        _load(browser, f"{server}/{page}", "article, main")
        requests, failed = _network(browser)
        assert _offsite(requests) == [], page
        assert failed == [], page
    SHOTS.mkdir(parents=True, exist_ok=True)
    _load(browser, f"{server}/book/intro.html", "article, main")
    browser.save_screenshot(str(SHOTS / "intro.png"))
