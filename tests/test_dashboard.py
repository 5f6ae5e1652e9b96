"""The dashboard in a real headless browser (Playwright driving Debian's chromium).

As a user would: start `ionsim serve`, open `/_sim/ui`, run an order through the MI API and
see it appear, watch a failing webhook fill the dead-letter queue, replay one with its button
and see the count drop, and save a screenshot (to `docs/dashboard.png` as well with
`IONSIM_UPDATE_SCREENSHOT=1`). A second test feeds the page the documented `/_sim/stats` and
`/_sim/journal` bodies, hostile strings included, to pin rendering, escaping and the admin
token header. Without chromium or the playwright module the tests skip and say which is missing
(they fail instead with `IONSIM_REQUIRE_BROWSER=1`, as CI sets it after installing the browser).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_e2e_events import mi, token
from tests.webhook import Webhook

CHROMIUM = os.environ.get("IONSIM_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
    *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
]
DOCS_SHOT = Path(__file__).resolve().parents[1] / "docs" / "dashboard.png"
WAIT_MS = 15_000

# `ionsim serve` itself; the dashboard routes are added when app.py does not wire them yet.
LAUNCH = """
import sys
import simulator.app as a
from simulator.admin import dashboard
_create = a.create_app
def create_app(*args, **kwargs):
    app = _create(*args, **kwargs)
    if not any(getattr(r, "path", None) == "/_sim/ui" for r in app.router.routes):
        app.router.routes[0:0] = dashboard.ROUTES
    return app
a.create_app = create_app
from simulator.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _why_no_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright module is not installed (pip install playwright)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no browser at {CHROMIUM} (apt-get install -y chromium, or set IONSIM_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = _why_no_browser()
    if why and os.environ.get("IONSIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"IONSIM_REQUIRE_BROWSER=1 but {why}")  # CI installs it: a miss is a bug
    if why:
        pytest.skip(f"dashboard browser test skipped: {why}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"the page threw: {errors}"


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """`ionsim serve --port 0` in a subprocess; yields its base URL once it is ready."""
    cmd = [sys.executable, "-c", LAUNCH, "serve", "--port", "0", "--no-access-log", *args]
    with (
        tempfile.TemporaryFile("w+") as log,
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True) as proc,
    ):
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            log.seek(0)
            assert line.startswith("ionsim ready on http://127.0.0.1:"), (line, log.read())
            yield line.split()[-1]
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def until(predicate: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def screenshot(page: Any, name: str) -> Path:
    path = Path(tempfile.gettempdir()) / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("IONSIM_UPDATE_SCREENSHOT") == "1":
        DOCS_SHOT.parent.mkdir(exist_ok=True)
        DOCS_SHOT.write_bytes(path.read_bytes())
    return path


def test_an_order_and_a_dead_letter_seen_and_replayed_in_the_browser(page: Any) -> None:
    from playwright.sync_api import expect

    with Webhook() as hook, serving() as url:
        hook.status = 500  # the receiver is broken: every event ends in the DLQ
        retry = {"maxAttempts": 2, "initialDelayMs": 1000, "jitter": False}
        body = {"url": hook.url, "tenant": "DEMO_TST", "retry": retry}
        sub = httpx.post(f"{url}/_sim/subscriptions", json=body)
        assert sub.status_code == 201, sub.text
        page.goto(f"{url}/_sim/ui")
        expect(page.get_by_test_id("connection")).to_contain_text("live")
        expect(page.get_by_test_id("sub-row")).to_have_attribute("data-id", sub.json()["id"])
        expect(page.get_by_test_id("dlq-count")).to_have_text("0")
        # The page's own traffic (favicon included) is not gateway traffic: it shows none.
        expect(page.get_by_test_id("kpi-requests")).to_have_text("0")
        expect(page.get_by_test_id("kpi-401")).to_have_text("0")

        auth = token(url)
        temp = mi(url, auth, "OIS100MI", "AddBatchHead", CUNO="C10001")["ORNO"]
        mi(url, auth, "OIS100MI", "AddBatchLine", ORNO=temp, ITNO="TENT-2P", ORQT="3")
        final = mi(url, auth, "OIS100MI", "Confirm", ORNO=temp)["ORNO"]

        # The confirmed order shows in the state browser (orders, newest first) with its status.
        order = page.locator(f'[data-testid="state-row"][data-key="100/{final}"]')
        expect(order).to_contain_text("C10001")
        expect(order).to_contain_text("allocated")
        order.click()
        expect(page.get_by_test_id("state-detail")).to_contain_text(f"orders 100/{final}")

        # The MI calls, with their request and answer, when the server keeps a journal.
        if httpx.get(f"{url}/_sim/journal", params={"kind": "mi"}).status_code == 200:
            confirm = page.get_by_test_id("mi-row").filter(has_text="OIS100MI/Confirm").first
            expect(confirm).to_be_visible()
            confirm.click()
            expect(page.get_by_test_id("mi-detail-title")).to_have_text("OIS100MI/Confirm")
            expect(page.get_by_test_id("mi-detail-request")).to_contain_text(temp)
        else:
            expect(page.get_by_test_id("mi-note")).to_contain_text("not available")

        # Retries follow the simulated clock: push it past them instead of sleeping.
        def stats() -> dict[str, Any]:
            return dict(httpx.get(f"{url}/_sim/deliveries/stats").json())

        def failed() -> int:
            return sum(c["failed"] for c in stats()["channels"].values())

        until(lambda: failed() > 0, "a failed delivery")
        deadline = time.monotonic() + 15
        while stats()["pending"]:
            assert time.monotonic() < deadline, stats()
            httpx.post(f"{url}/_sim/clock/advance", json={"seconds": 30})
            time.sleep(0.05)
        dead = stats()["deadLetters"]
        assert dead > 0
        expect(page.get_by_test_id("dlq-count")).to_have_text(str(dead))
        expect(page.get_by_test_id("kpi-dlq")).to_have_text(str(dead))
        flow = page.locator('[data-testid="flow-row"][data-channel="order/synced"]')
        expect(flow).to_be_visible()

        # The receiver is back: replay one dead letter with its button, then the rest.
        hook.status = 200
        first = page.get_by_test_id("dlq-row").first
        replayed_id = first.get_attribute("data-id")
        first.get_by_test_id("dlq-replay").click()
        expect(page.get_by_test_id("dlq-count")).to_have_text(str(dead - 1))
        expect(page.get_by_test_id("dlq-msg")).to_have_text("replayed 1")
        expect(page.locator(f'[data-testid="dlq-row"][data-id="{replayed_id}"]')).to_have_count(0)
        hook.wait_count(1)
        shot = screenshot(page, "ionsim-dashboard.png")
        assert shot.stat().st_size > 20_000

        if dead > 1:
            page.get_by_test_id("dlq-replay-all").click()
            expect(page.get_by_test_id("dlq-count")).to_have_text("0")
            expect(page.get_by_test_id("dlq-replay-all")).to_be_disabled()
        hook.wait_count(dead)


STATS = {
    "now": "2025-01-02T03:04:05.678Z",
    "gateway": {
        "requests": 12345,
        "requestsPerSecond": 41.5,
        "status": {"200": 12000, "401": 7, "429": 300, "503": 38},
        "tokens": {"issued": 9, "refused": 2},
    },
    "mi": {"calls": 11800, "nok": 12, "byProgram": {"OIS100MI/Confirm": {"ok": 10, "nok": 5}}},
    "events": {
        "byChannel": {
            "order/synced": {"published": 20, "delivered": 17, "failed": 4, "retried": 3,
                             "deadLettered": 1, "latencyMsP50": 3.2, "latencyMsP95": 18.9},
            "<img src=x onerror=alert(1)>": {"published": 1, "delivered": 0, "failed": 0,
                                             "retried": 0, "deadLettered": 0},
        }
    },
    "faults": {"fired": 5},
}  # fmt: skip
EVIL = "<b>bold</b><script>window.pwned=1</script>"
JOURNAL = {
    "entries": [
        {"seq": 7, "at": "2025-01-02T03:04:05.001Z", "kind": "mi", "tenant": "DEMO_TST",
         "method": "GET", "path": "/DEMO_TST/M3/m3api-rest/v2/execute/OIS100MI/Confirm",
         "status": 200, "durationMs": 4.2, "clientId": "DEMO_TST~abc", "program": "OIS100MI",
         "transaction": "Confirm", "request": {"ORNO": "0000000042", "NOTE": EVIL},
         "response": {"records": 0, "errorCode": "WRN0203",
                      "errorMessage": "Order is locked " + EVIL},
         "throttle": None, "fault": 0},
        {"seq": 8, "at": "2025-01-02T03:04:05.101Z", "kind": "mi", "tenant": "DEMO_TST",
         "method": "GET", "path": "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData",
         "status": 503, "durationMs": 0.4, "clientId": "DEMO_TST~abc", "program": "CRS610MI",
         "transaction": "GetBasicData", "request": {"CUNO": "C10001"},
         "response": {"error": "service_unavailable", "message": "backend down"},
         "throttle": {"allowed": True, "delayMs": 250.0, "reason": "rateSmoothing", "count": 7},
         "fault": None},
    ],
    "last": 8,
}  # fmt: skip


def test_documented_stats_and_journal_render_escaped_with_the_admin_token(page: Any) -> None:
    from playwright.sync_api import Route, expect

    seen: list[tuple[str, str | None]] = []

    def fake(route: Route) -> None:
        seen.append((route.request.url, route.request.headers.get("x-ionsim-admin-token")))
        if "/_sim/stats" in route.request.url:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(STATS))
        else:
            since = "since=" in route.request.url
            body = {"entries": [], "last": 8} if since else JOURNAL
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    with serving("--admin-token", "s3cret") as url:
        assert httpx.get(f"{url}/_sim/ui").status_code == 401
        assert httpx.get(f"{url}/_sim/ui/app.js").status_code == 401
        page.route("**/_sim/stats", fake)
        page.route("**/_sim/journal*", fake)
        page.goto(f"{url}/_sim/ui?token=s3cret")
        # The real server checks the token on every call the page makes (and on its assets).
        expect(page.get_by_test_id("connection")).to_contain_text("live")
        expect(page.get_by_test_id("state-row").first).to_be_visible()
        expect(page.get_by_test_id("kpi-rps")).to_have_text("41.5")
        expect(page.get_by_test_id("kpi-429")).to_have_text("300")
        expect(page.get_by_test_id("kpi-401")).to_have_text("7")
        expect(page.get_by_test_id("kpi-5xx")).to_have_text("38")
        expect(page.get_by_test_id("kpi-tokens")).to_have_text("9")
        expect(page.get_by_test_id("kpi-tokens-foot")).to_have_text("2 refused")
        expect(page.get_by_test_id("kpi-mi")).to_have_text("11,800")
        expect(page.get_by_test_id("kpi-mi-foot")).to_have_text("12 NOK")
        expect(page.get_by_test_id("kpi-faults")).to_have_text("5")
        expect(page.get_by_test_id("clock")).to_have_text("2025-01-02 03:04:05 UTC")
        row = page.locator('[data-testid="flow-row"][data-channel="order/synced"]')
        expect(row.locator("td")).to_have_text(
            ["order/synced", "20", "17", "4", "3", "1", "—", "3.2", "18.9"]
        )
        evil_channel = page.locator('[data-testid="flow-row"]').filter(has_text="<img src=x")
        expect(evil_channel).to_have_count(1)

        rows = page.get_by_test_id("mi-row")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("CRS610MI/GetBasicData")  # newest first
        expect(rows.first).to_contain_text("delayed 250 ms")
        expect(rows.first).to_contain_text("backend down")
        nok = rows.filter(has_text="OIS100MI/Confirm")
        expect(nok).to_contain_text("NOK WRN0203")
        expect(nok).to_contain_text("fault rule #0")
        nok.click()
        expect(page.get_by_test_id("mi-detail-request")).to_contain_text(EVIL)
        expect(page.get_by_test_id("mi-detail-response")).to_contain_text("Order is locked <b>")

        # Hostile text stayed text: no element was made from it, no script ran.
        assert page.locator("main img, main script, main b").count() == 0
        assert page.evaluate("window.pwned") is None
        page.screenshot(path=str(Path(tempfile.gettempdir()) / "ionsim-dashboard-stats.png"))

        # A server without /_sim/stats: the page falls back to the delivery counters.
        page.unroute("**/_sim/stats")
        page.route("**/_sim/stats", lambda route: route.fulfill(status=404, body="{}"))
        expect(page.get_by_test_id("flow-source")).to_contain_text("no /_sim/stats")
        expect(page.get_by_test_id("kpi-rps")).to_have_text("—")

    api_calls = [(u, t) for u, t in seen if "/_sim/" in u]
    assert api_calls and all(t == "s3cret" for _, t in api_calls), api_calls
