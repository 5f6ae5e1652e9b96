"""Shared pieces of the reliability tests: a served ionsim, tokens, paging, accounting.

The soak and SIGTERM tests run `ionsim serve` as a real process (uvicorn, real clock, real
sockets on 127.0.0.1) because what they check (shutdown drain, the pending file, RSS) only
exists in a real server.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx

from tests.conftest import password_grant
from tests.test_cli import serving


@contextmanager
def served(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`ionsim serve --port 0 --no-access-log ARGS`; yields (process, base URL)."""
    with serving("--no-access-log", *args) as running:
        yield running


def token(url: str, tenant: str = "DEMO_TST") -> str:
    ion = httpx.get(f"{url}/_sim/tenants/{tenant}/ionapi").json()
    r = httpx.post(
        ion["pu"] + ion["ot"],
        data=password_grant(ion),
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


class PublishedIds:
    """Every event id `GET /_sim/events` shows, read as it goes: the server keeps the newest
    10,000 per tenant, so a long run must be followed with `since`, not read once at the end."""

    def __init__(self, tenant: str = "DEMO_TST") -> None:
        self.tenant, self.since, self.ids = tenant, 0, []  # type: str, int, list[str]

    def poll(self, client: httpx.Client) -> int:
        """Reads what is new; returns how many ids it added."""
        added = 0
        for _ in range(10_000):
            body = client.get("/_sim/events", params={"tenant": self.tenant, "since": self.since,
                                                       "limit": 1000}).json()  # fmt: skip
            self.ids += [e["eventId"] for e in body["events"]]
            added += len(body["events"])
            if not body["events"]:
                return added
            self.since = body["last"]
        raise AssertionError("GET /_sim/events did not end")

    def follow(self, url: str, stop: threading.Event) -> None:
        with httpx.Client(base_url=url, timeout=10) as c:
            while not stop.is_set():
                self.poll(c)
                time.sleep(0.1)


def published_ids(client: httpx.Client, tenant: str = "DEMO_TST") -> list[str]:
    """Every event id `GET /_sim/events` still holds for the tenant (short runs only)."""
    ids = PublishedIds(tenant)
    ids.poll(client)
    return ids.ids


def dead_letter_ids(client: httpx.Client) -> set[str]:
    body = client.get("/_sim/dlq", params={"limit": 100_000}).json()
    assert len(body["deadLetters"]) == body["total"], "DLQ listing truncated"
    return {d["eventId"] for d in body["deadLetters"]}


def stock_invariant_violations(snapshot: dict[str, Any]) -> list[dict[str, str]]:
    """Balance rows where on-hand != allocated + available (M3's MITBAL/MITLOC identity)."""
    bad = []
    for name in ("balances", "item_warehouses"):
        for row in snapshot["state"]["tables"].get(name, {}).get("rows", []):
            if not {"STQT", "ALQT", "AVAL"} <= set(row):
                continue
            stqt, alqt, aval = (Decimal(row[k] or "0") for k in ("STQT", "ALQT", "AVAL"))
            if stqt != alqt + aval or alqt < 0 or aval < 0:
                bad.append({"table": name, **row})
    return bad


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def route_exists(client: httpx.Client, method: str, path: str, **kw: Any) -> bool:
    """True when the server has the `/_sim/` route: an unknown one falls to the gateway's
    catch-all `/{ti}/...` (401 without a token) or answers 404/405."""
    return client.request(method, path, **kw).status_code not in (401, 404, 405)
