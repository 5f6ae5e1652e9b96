"""A short headless Locust run of the shipped scenarios against a real `ionsim serve`.

Locust runs in its own process (gevent must not meet our asyncio), exactly as documented in
docs/load.md; its CSV statistics are then checked: MI endpoints were called, tokens were
fetched, storm events reached the consumer, throttling (a spike-arrest policy set on purpose)
was honoured as waits and not counted as failures, and nothing failed.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from simulator.load import LOCUSTFILE
from tests.test_cli import serving
from tests.webhook import Webhook

# find_spec, not importorskip: importing locust here would monkey-patch this process with gevent.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("locust") is None,
        reason="locust is not installed: pip install 'ionsim[load]'",
    ),
]


def _locust() -> list[str]:
    exe = shutil.which("locust", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "locust"]


def test_headless_locust_run_against_ionsim(tmp_path: Path) -> None:
    with Webhook() as consumer, serving("--no-access-log") as (_, url):
        throttle = {"timePeriodInMilliseconds": 1000, "spikeArrest": {"maxRequestsPerPeriod": 25}}
        assert httpx.put(f"{url}/_sim/tenants/DEMO_TST/throttle", json=throttle).status_code == 200
        prefix = tmp_path / "run"
        cmd = [
            *_locust(),
            "-f", LOCUSTFILE, "--headless", "-u", "8", "-r", "8", "-t", "5s",
            "--host", url, "--consumer-url", consumer.url,
            "--csv", str(prefix), "--only-summary", "--stop-timeout", "5",
        ]  # fmt: skip
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        with (tmp_path / "run_stats.csv").open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))

    stats = {(r["Type"], r["Name"]): r for r in rows}
    names = {name for _, name in stats}
    total = stats[("", "Aggregated")]
    report = run.stderr[-3000:]
    assert int(total["Request Count"]) > 0, report
    assert int(total["Failure Count"]) == 0, report
    assert run.returncode == 0, report
    for mi in ("CRS610MI/GetBasicData", "CRS610MI/LstByNumber", "MMS060MI/List",
               "MMS200MI/GetItmBasic"):  # fmt: skip
        assert int(stats[("GET", mi)]["Request Count"]) > 0, (mi, names)
    assert ("POST", "token password") in stats, names
    assert any(n.startswith("event ") for n in names), names
    assert any(kind.startswith("throttled 429") for kind, _ in stats), names
    assert consumer.received(), "storm users sent nothing to the consumer"


def test_token_keeper_refreshes_before_expiry_and_after_401() -> None:
    """The renewal rules of the MI users, without Locust: refresh grant first, then password."""
    from simulator.load.client import Ionapi, TokenKeeper, retry_after_seconds

    ion = Ionapi("T", "ci", "cs", "http://x/T/as/", "token.oauth2", "saak", "sask")
    now = [0.0]
    calls: list[str] = []
    refresh_ok = [True]

    def fetch(form: object) -> tuple[int, dict[str, object]]:
        grant = dict(form)["grant_type"]  # type: ignore[call-overload]
        calls.append(grant)
        if grant == "refresh_token" and not refresh_ok[0]:
            return 400, {"error": "invalid_grant"}
        return 200, {"access_token": f"a{len(calls)}", "expires_in": 600, "refresh_token": "r"}

    keeper = TokenKeeper(ion, fetch, clock=lambda: now[0])
    assert keeper.token() == "a1" and calls == ["password"]
    now[0] = 500.0  # inside the 60 s margin of a 600 s token: renew by refresh
    assert keeper.token() == "a1"
    now[0] = 541.0
    assert keeper.token() == "a2" and calls[-1] == "refresh_token"
    keeper.invalidate()  # a 401
    refresh_ok[0] = False
    assert keeper.token() == "a4" and calls[-2:] == ["refresh_token", "password"]
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0
    assert retry_after_seconds("999") == 30.0
