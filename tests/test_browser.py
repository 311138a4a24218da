"""Browser tests of the built site: headless Chromium (Debian's) driven by Selenium.

Serves the site (``_build/html``, or the folder in ``$COURSE_SITE``) on 127.0.0.1 and, in one
browser session, loads EVERY page and checks that

* no request leaves the machine, none is answered with an HTTP error, and the JavaScript
  console has no error;
* MathJax typeset every formula of every page that has maths, without a MathJax error;
* the widget manager rendered every widget a page embeds;
* axe-core (the npm package, injected from node_modules) finds no serious or critical
  accessibility violation.

Then: the offline search finds the LSTM chapter; dark mode and print look as the course CSS
says (screenshots of three pages, light and dark, and a print PDF into _build/screenshots);
one slide deck (``course_tools.slides``) loads with reveal.js and MathJax from this machine.
Run after ``make book``; ``make test`` does both (and installs Chromium when missing).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("COURSE_SITE", ROOT / "_build" / "html")).resolve()
SHOTS = ROOT / "_build" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = pytest.mark.browser

CHAPTER = "book/ch01_perceptrons_to_cnns.html"
#: pages photographed in light and dark mode: a chapter with maths and figures, a chapter with
#: a widget, a lab; and what to scroll to for a second picture.
SHOWN = {"ch07": "book/ch07_gru_lstm.html", "ch01": CHAPTER, "ch07_lab": "notebooks/ch07/ch07_lab.html"}
DETAIL = {"ch07": "figure img", "ch01": ".jupyter-widgets .widget-slider"}


def _pages() -> list[str]:
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not {"_static", "_sources", "@jupyter-widgets"} & set(p.parts))


PAGES = _pages() or ["index.html"]  # an unbuilt site fails in the server fixture


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        # Chromium asks every new site for /favicon.ico by itself, at a moment of its choosing
        # (a 404 then lands in whichever page's log is open, e.g. index.html's). The pages never
        # link it, so the test server answers "no content" instead of an error.
        if self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()


def _serve(directory: Path):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail(f"the site is not built in {SITE}: run `make book` first")
    httpd, url = _serve(SITE)
    yield url
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
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                 "--hide-scrollbars", f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _logs(driver) -> dict[str, list[str]]:
    """Requests, HTTP errors and console errors since the last call."""
    found = {"requests": [], "http errors": [], "console errors": []}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            found["requests"].append(msg["params"]["request"]["url"])
        elif msg.get("method") == "Network.responseReceived":
            response = msg["params"]["response"]
            if response.get("status", 200) >= 400:
                found["http errors"].append(f"{response['status']} {response['url']}")
    found["console errors"] = [e["message"] for e in driver.get_log("browser")
                               if e["level"] == "SEVERE"]
    return found


def _offsite(urls: list[str]) -> list[str]:
    return [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname not in ("127.0.0.1", "localhost")]


def _open(driver, url: str, wait_css: str = "main", timeout: float = 40):
    """Load ``url``, wait for ``wait_css`` and for MathJax to finish; return the elements."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _logs(driver)  # drop entries of earlier pages
    driver.get(url)
    WebDriverWait(driver, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, wait_css))
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise.then(() => done(), () => done()) : done();
        document.readyState === 'complete' ? wait() : window.addEventListener('load', wait);""")
    return driver.find_elements(By.CSS_SELECTOR, wait_css)


def _math_status(driver) -> dict[str, int]:
    return driver.execute_script("""
        const formulas = [...document.querySelectorAll('article .math, article .math-wrapper')];
        return {formulas: formulas.length,
                typeset: formulas.filter(f => f.querySelector('mjx-container')).length,
                errors: document.querySelectorAll('mjx-merror, .MathJax_Error').length};""")


def _widget_status(driver, timeout: float = 30) -> tuple[int, int]:
    """(widget views the page embeds, views the widget manager rendered)."""
    from selenium.webdriver.support.ui import WebDriverWait

    count = ("return [document.querySelectorAll("
             "'script[type=\"application/vnd.jupyter.widget-view+json\"]').length, "
             "document.querySelectorAll('.jupyter-widgets.widget-container, "
             ".jupyter-widgets.widget-inline-hbox, .jupyter-widgets.widget-inline-vbox, "
             ".jupyter-widgets.widget-output, .jupyter-widgets.widget-box').length];")
    embedded = driver.execute_script(count)[0]
    if embedded:
        try:
            WebDriverWait(driver, timeout).until(lambda d: d.execute_script(count)[1] >= embedded)
        except Exception:  # noqa: BLE001 - reported by the assertion below
            pass
    return tuple(driver.execute_script(count))


def _axe(driver) -> list[str]:
    """Serious and critical violations axe-core finds on the current page."""
    if not driver.execute_script("return typeof axe !== 'undefined'"):
        driver.execute_script(AXE.read_text())
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
           .then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify(String(e))));""")
    violations = json.loads(result)
    assert isinstance(violations, list), f"axe-core failed: {violations}"
    return [f"{v['id']} ({v['impact']}): {v['help']} -- "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            for v in violations if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="module")
def axe_ready():
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make install` (npm ci installs it)")


@pytest.mark.parametrize("page", PAGES)
def test_page(server, browser, axe_ready, page):
    """One page: offline, no console error, maths typeset, widgets shown, accessible."""
    _open(browser, f"{server}/{page}")
    widgets = _widget_status(browser)
    math = _math_status(browser)
    logs = _logs(browser)
    problems = {
        "requests leaving the machine": _offsite(logs["requests"]),
        "HTTP errors": logs["http errors"],
        "console errors": logs["console errors"],
        "accessibility": _axe(browser),
    }
    assert logs["requests"], "the performance log recorded no request at all"
    assert {k: v for k, v in problems.items() if v} == {}
    source = (SITE / page).read_text(errors="ignore")
    if re.search(r'class="math[ "]', source):
        assert math["formulas"] > 0 and math["typeset"] == math["formulas"], math
    assert math["errors"] == 0, math
    assert widgets[1] >= widgets[0], f"{widgets[0]} widgets embedded, {widgets[1]} rendered"


def test_pages_cover_the_site():
    """Every chapter, lab and the reference pages are among the pages tested above."""
    assert {CHAPTER, "book/intro.html", "book/references.html", "search.html"} <= set(PAGES)
    assert sum(p.startswith("notebooks/") for p in PAGES) >= 10
    assert sum(bool(re.match(r"book/ch\d\d_", p)) for p in PAGES) >= 10


def test_chapter_renders_math_and_widgets(server, browser):
    math = _open(browser, f"{server}/{CHAPTER}", "mjx-container")
    assert len(math) > 10, "MathJax rendered too few formulas"
    embedded, rendered = _widget_status(browser)
    assert embedded > 0 and rendered >= embedded
    sliders = browser.execute_script(
        "return document.querySelectorAll('.jupyter-widgets .widget-slider').length")
    assert sliders > 0, "the chapter's slider widget is not on the page"


def test_search_finds_the_lstm_chapter(server, browser):
    from selenium.webdriver.common.by import By

    _open(browser, f"{server}/search.html?q=LSTM", "#search-results ul.search li a")
    links = [a.get_attribute("href") for a in
             browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")]
    assert any("book/ch07_gru_lstm.html" in href for href in links), links
    logs = _logs(browser)
    assert _offsite(logs["requests"]) == [] and logs["console errors"] == []


def _set_theme(driver, mode: str) -> None:
    """Switch the theme's colour mode the way its button does (saved in localStorage)."""
    driver.execute_script(
        "localStorage.setItem('mode', arguments[0]); localStorage.setItem('theme', arguments[0]);"
        "document.documentElement.dataset.mode = arguments[0];"
        "document.documentElement.dataset.theme = arguments[0];", mode)


def _luminance(css_colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_light_and_dark_screenshots(server, browser, axe_ready):
    """Three pages in both modes; in dark mode the figures keep a white background and axe-core
    finds no serious or critical violation (colour contrast above all)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for mode in ("light", "dark"):
            _open(browser, f"{server}/index.html")
            _set_theme(browser, mode)  # saved for the whole site: each page opens in this mode
            for name, page in SHOWN.items():
                _open(browser, f"{server}/{page}")
                _widget_status(browser)
                assert browser.execute_script("return document.documentElement.dataset.theme") == mode
                body = browser.execute_script(
                    "return getComputedStyle(document.body).backgroundColor")
                assert (_luminance(body) < 0.3) == (mode == "dark"), body
                figures = browser.execute_script(
                    "return [...document.querySelectorAll('.cell_output img, figure img')]"
                    ".map(i => getComputedStyle(i).backgroundColor)")
                if mode == "dark" and name == "ch07":
                    assert figures and all(_luminance(c) > 0.95 for c in figures), figures
                browser.save_screenshot(str(SHOTS / f"{name}-{mode}.png"))
                if mode == "dark":  # light mode is audited on every page by test_page
                    assert _axe(browser) == [], f"{page} in dark mode"
                if name in DETAIL:  # and a figure or a widget, lower down the page
                    browser.execute_script("document.querySelector(arguments[0])"
                                           ".scrollIntoView({block: 'center'})", DETAIL[name])
                    browser.save_screenshot(str(SHOTS / f"{name}-detail-{mode}.png"))
    finally:
        _set_theme(browser, "light")
    assert len(list(SHOTS.glob("*-dark.png"))) >= 3 and len(list(SHOTS.glob("*-light.png"))) >= 3


def test_print_hides_navigation(server, browser):
    """Print media: only the article (no sidebars, header, buttons); a PDF of one chapter."""
    from selenium.webdriver.common.print_page_options import PrintOptions

    _open(browser, f"{server}/{SHOWN['ch07']}")
    visible = ("return [...document.querySelectorAll(arguments[0])]"
               ".filter(e => getComputedStyle(e).display !== 'none').length")
    chrome = ".bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .prev-next-area, .copybtn"
    assert browser.execute_script(visible, chrome) > 0  # on screen they are there
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert browser.execute_script(visible, chrome) == 0
        assert browser.execute_script(visible, "article figure img") > 0
        browser.save_screenshot(str(SHOTS / "ch07-print.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    options = PrintOptions()
    options.background = True
    pdf = base64.b64decode(browser.print_page(options))
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    (SHOTS / "ch07-print.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):  # first two pages as pictures, to look at
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2",
                        str(SHOTS / "ch07-print.pdf"), str(SHOTS / "ch07-print-page")], check=True)


def test_one_slide_deck_loads_offline(browser, tmp_path):
    """A chapter's reveal.js deck: slides, maths and no request leaving the machine."""
    from course_tools import slides

    deck = slides.build(["ch07"], tmp_path, labs=False)[0]
    httpd, url = _serve(tmp_path)
    try:
        _open(browser, f"{url}/{deck.name}", ".reveal .slides section")
        ready = browser.execute_script("return window.Reveal && Reveal.isReady()")
        count = browser.execute_script("return Reveal.getTotalSlides()")
        browser.execute_script("Reveal.slide(3)")
        browser.save_screenshot(str(SHOTS / "ch07-slides.png"))
        math = browser.execute_script("return document.querySelectorAll('mjx-container').length")
        logs = _logs(browser)
    finally:
        httpd.shutdown()
    assert ready and count > 10
    assert math > 10
    assert _offsite(logs["requests"]) == [] and logs["http errors"] == []
    assert logs["console errors"] == []
