"""The pages in a real browser: headless Chromium driven over the Chrome DevTools Protocol, against the
real app served by uvicorn on a loopback port with the demo case loaded into a temporary SQLite file.

Chromium runs with every host name except 127.0.0.1 unresolvable, so a page that needed a CDN would
fail here; the tests also check that every request a page made went to the service itself.
Screenshots and a PDF print of the case page are kept under artifacts/ (git-ignored) for a person to look at.

Needs the Debian package `chromium` (apt-get install -y chromium); without it these tests fail, they
do not skip.
"""

import asyncio
import base64
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from app.config import Settings
from app.db import make_engine
from app.demo import CASE_ID, load_demo
from app.migrate import upgrade_engine
from app.sessions import make_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
START_TIMEOUT = 60.0  # safety nets for slow machines, never assertions about speed
CALL_TIMEOUT = 60.0
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Record every CSP violation from the first moment of each document (CDP-injected, so CSP does not apply).
WATCH_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' blocked ' + e.blockedURI));"
)
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> bytes:
    with NO_PROXY.open(url, timeout=10) as response:
        return response.read()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _load_demo(database_url: str) -> None:
    engine = make_engine(Settings(database_url=database_url))
    try:
        await upgrade_engine(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            assert await load_demo(session) > 0
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn, as an operator would run it, with the demo case loaded."""
    directory = tmp_path_factory.mktemp("browser-server")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CASETRACK_") and k != "DATABASE_URL"}
    env |= {
        "DATABASE_URL": f"sqlite:///{directory / 'casetrack.db'}",
        "CASETRACK_RATE_LIMIT_PER_ADDRESS": "",
        "CASETRACK_RATE_LIMIT_PER_TOKEN": "",
        "PYTHONUNBUFFERED": "1",
    }
    asyncio.run(_load_demo(env["DATABASE_URL"]))
    port = _free_port()
    log = directory / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1"]
            + ["--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"the server exited:\n{log.read_text(errors='replace')}"
            try:
                _get(f"{url}/openapi.json")
                break
            except OSError:
                assert time.monotonic() < deadline, f"the server did not answer:\n{log.read_text(errors='replace')}"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


class DevTools:
    """A minimal Chrome DevTools Protocol client for one page: commands, and the events seen meanwhile."""

    def __init__(self, websocket_url: str) -> None:
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(websocket_url, max_size=None, proxy=None, open_timeout=CALL_TIMEOUT)
        )
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        call_id = self.last_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + CALL_TIMEOUT
        while True:
            message = self._receive(deadline, f"an answer to {method}")
            if message.get("id") == call_id:
                assert "error" not in message, f"{method} failed: {message['error']}"
                return message.get("result", {})

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"Chromium sent no {waiting_for} within {CALL_TIMEOUT} s")
        try:
            message = json.loads(self.ws.recv(timeout=remaining))
        except TimeoutError:
            raise AssertionError(f"Chromium sent no {waiting_for} within {CALL_TIMEOUT} s") from None
        if "method" in message:
            self.events.append(message)
        return message

    def wait_for_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + CALL_TIMEOUT
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method:
                    return event
            seen = len(self.events)
            self._receive(deadline, f"{method} event")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, f"{expression!r} threw: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_until(self, expression: str, what: str) -> Any:
        deadline = time.monotonic() + CALL_TIMEOUT
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"the page never showed {what} ({expression})"
            time.sleep(0.2)

    def navigate(self, url: str) -> None:
        self.events.clear()
        result = self.call("Page.navigate", url=url)
        assert not result.get("errorText"), f"navigating to {url}: {result['errorText']}"
        self.wait_for_event("Page.loadEventFired")

    def follow(self, expression: str) -> None:
        """Run script that leaves the page (a click, a form submission) and wait for the next page to load."""
        self.events.clear()
        self.evaluate(expression)
        self.wait_for_event("Page.loadEventFired")

    def press(self, key: str, code: str, key_code: int, text: str | None = None) -> None:
        common = {"key": key, "code": code, "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code}
        self.call("Input.dispatchKeyEvent", type="keyDown", **common, **({"text": text} if text else {}))
        self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def problems(self) -> list[str]:
        """Script errors, failed loads and CSP violations seen since the last navigation."""
        found = [
            f"exception: {e['params']['exceptionDetails'].get('exception', {}).get('description', e['params'])}"
            for e in self.events
            if e["method"] == "Runtime.exceptionThrown"
        ]
        found += [
            f"failed load: {e['params'].get('errorText')} {e['params'].get('blockedReason', '')}"
            for e in self.events
            if e["method"] == "Network.loadingFailed" and not e["params"].get("canceled")
        ]
        found += [f"CSP: {v}" for v in self.evaluate("window.__csp || []")]
        return found

    def screenshot(self, name: str, max_height: int = 6000) -> Path:
        metrics = self.call("Page.getLayoutMetrics")
        height = min(int(metrics["cssContentSize"]["height"]), max_height)
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=height, deviceScaleFactor=1, mobile=False)
        shot = self.call("Page.captureScreenshot", format="png")
        self.call("Emulation.clearDeviceMetricsOverride")
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        self._stack.close()


def _chromium_binary() -> str:
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium is not installed, and tests/test_browser.py needs a real browser: "
        "install the Debian package with `apt-get install -y chromium`.",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    binary = _chromium_binary()
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = profile.parent / "chromium.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--window-size=1280,900",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                # No network: every host name but the loopback address fails to resolve.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "about:blank",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    devtools = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None, f"Chromium exited at start:\n{log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"Chromium did not start:\n{log.read_text(errors='replace')}"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(_get(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Network"):
            devtools.call(f"{domain}.enable")
        devtools.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH_CSP)
        yield devtools
    finally:
        if devtools is not None:
            devtools.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _days(earliest: str, latest: str) -> int:
    return (dt.date.fromisoformat(latest) - dt.date.fromisoformat(earliest)).days


def _only_local(urls: list[str], server: str) -> list[str]:
    return [u for u in urls if not (u.startswith(server + "/") or u.startswith(("data:", "blob:", "about:")))]


def test_case_page_in_a_browser(browser: DevTools, server: str) -> None:
    timeline = json.loads(_get(f"{server}/api/v1/cases/{CASE_ID}/timeline"))["items"]
    browser.navigate(f"{server}/cases/{CASE_ID}")

    assert browser.evaluate("document.documentElement.lang") == "en"
    assert browser.evaluate("document.querySelector('h1').innerText") == "Vladimir Kozlov: the Zhanaozen unrest case"
    # The stylesheet loaded under the page's CSP (the summary box has its tinted background).
    assert browser.evaluate("getComputedStyle(document.querySelector('.glance')).backgroundColor") == (
        "rgb(244, 246, 249)"
    )
    glance = browser.evaluate("document.querySelector('.glance').innerText")
    assert "Vladimir Kozlov" in glance and "7 years 6 months" in glance
    denial = browser.evaluate(
        "(() => { const d = document.querySelector('.decisions .tone-adverse');"
        " const kind = d.querySelector('.decision-kind');"
        " return {text: d.innerText, colour: getComputedStyle(kind).color,"
        " height: d.getBoundingClientRect().height}; })()"
    )
    assert "Parole denied" in denial["text"] and "December 8, 2015" in denial["text"], denial
    assert denial["colour"] == "rgb(165, 15, 21)" and denial["height"] > 0, denial

    # The chronology: one entry per timeline item, in the API's order, laid out top to bottom.
    rows = browser.evaluate(
        "[...document.querySelectorAll('ol.chronology > li')].map(li => ({id: li.id,"
        " earliest: li.dataset.earliest, latest: li.dataset.latest, top: li.getBoundingClientRect().top}))"
    )
    assert [r["id"].split("-")[2] for r in rows] == [i["id"] for i in timeline]
    # (the timeline's rule: by the latest possible day, then the earliest)
    assert [(r["latest"], r["earliest"]) for r in rows] == sorted((r["latest"], r["earliest"]) for r in rows)
    assert all(a["top"] < b["top"] for a, b in zip(rows, rows[1:], strict=False)), rows
    # The drawn timeline: marks further right for later dates, ranges drawn with a width.
    # (A day is a dot centred on it, a range a hatched bar from its earliest day.)
    marks = browser.evaluate(
        "[...document.querySelectorAll('svg.case-timeline g.item')].map(g => {"
        " const dot = g.querySelector('circle'), r = g.querySelector('circle, rect.span').getBoundingClientRect();"
        " return {earliest: g.dataset.earliest, latest: g.dataset.latest,"
        " x: dot ? r.left + r.width / 2 : r.left, width: r.width}; })"
    )
    assert len(marks) == len(timeline)
    by_date = sorted(marks, key=lambda m: m["earliest"])
    assert all(a["x"] <= b["x"] + 0.5 for a, b in zip(by_date, by_date[1:], strict=False)), by_date
    ranges = [m for m in marks if m["earliest"] != m["latest"]]
    assert ranges and all(m["width"] > 0 for m in ranges)
    # ...as wide as the days they span: the same scale for every range, within rounding and stroke.
    scales = [
        m["width"] / (_days(m["earliest"], m["latest"]) + 1) for m in ranges if _days(m["earliest"], m["latest"]) > 300
    ]
    assert max(scales) / min(scales) < 1.05, scales

    # Keyboard: the first Tab reaches the skip link, Enter moves to the content.
    browser.press("Tab", "Tab", 9)
    assert browser.evaluate("document.activeElement.className") == "skip-link"
    assert browser.evaluate("document.activeElement.getBoundingClientRect().top") >= 0
    browser.press("Enter", "Enter", 13, "\r")
    browser.wait_until("location.hash === '#main'", "the skip link followed")

    # A citation leads, by keyboard, to its source in the list of sources.
    target = browser.evaluate(
        "(() => { const a = document.querySelector('.chronology .tone-adverse a.cite'); a.focus();"
        " return a.getAttribute('href'); })()"
    )
    assert target.startswith("#source-")
    browser.press("Enter", "Enter", 13, "\r")
    browser.wait_until(f"location.hash === {json.dumps(target)}", "the source link followed")
    cited = browser.evaluate("document.querySelector(':target').innerText")
    assert "Facebook" in cited or "Kazakhstan: Jailed Opposition Leader Refused Parole" in cited, cited

    assert browser.problems() == []
    assert _only_local(browser.requested_urls(), server) == []

    # Print: the navigation goes, the timeline stays.
    browser.call("Emulation.setEmulatedMedia", media="print")
    assert browser.evaluate("getComputedStyle(document.querySelector('.site-header nav')).display") == "none"
    assert browser.evaluate("getComputedStyle(document.querySelector('svg.case-timeline')).display") != "none"
    pdf = browser.call("Page.printToPDF", printBackground=False, preferCSSPageSize=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "case-page.pdf").write_bytes(base64.b64decode(pdf["data"]))
    browser.call("Emulation.setEmulatedMedia", media="")

    browser.evaluate("window.scrollTo(0, 0)")
    shot = browser.screenshot("case-page.png")
    assert shot.stat().st_size > 10_000

    # The JSON the page was made from is one click away.
    browser.follow("document.querySelector('.data-links a[href$=\"/timeline\"]').click()")
    assert browser.evaluate("location.pathname") == f"/api/v1/cases/{CASE_ID}/timeline"
    shown = json.loads(browser.evaluate("document.body.innerText"))
    assert [i["id"] for i in shown["items"]] == [i["id"] for i in timeline]


def test_case_list_search_in_a_browser(browser: DevTools, server: str) -> None:
    browser.navigate(f"{server}/")
    assert browser.evaluate("document.querySelector('h1').innerText") == "Cases"
    browser.follow("document.querySelector('#q').value = 'Zhanaozen'; document.querySelector('form').submit()")
    assert browser.evaluate("new URLSearchParams(location.search).get('q')") == "Zhanaozen"
    titles = browser.evaluate("[...document.querySelectorAll('.case-list h2 a')].map(a => a.innerText)")
    assert titles == ["Vladimir Kozlov: the Zhanaozen unrest case"]
    browser.follow("document.querySelector('.case-list h2 a').click()")
    assert browser.evaluate("location.pathname") == f"/cases/{CASE_ID}"
    assert browser.problems() == []


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/docs", "document.querySelectorAll('.opblock-summary').length > 20"),
        ("/redoc", "document.body.innerText.includes('Get case timeline svg')"),
    ],
)
def test_api_documentation_works_offline(browser: DevTools, server: str, path: str, ready: str) -> None:
    browser.navigate(f"{server}{path}")
    browser.wait_until(ready, f"the operations on {path}")
    text = browser.evaluate("document.body.innerText")
    for operation in ("List cases", "Get case", "Get case timeline", "Get case timeline svg"):
        assert operation in text, f"{operation!r} is not on {path}"
    urls = browser.requested_urls()
    assert f"{server}/openapi.json" in urls
    assert _only_local(urls, server) == [], "the documentation page asked for something outside the service"
    assert browser.problems() == []
    browser.screenshot(f"docs{path.replace('/', '-')}.png", max_height=2000)
