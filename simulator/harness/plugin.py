"""The `ionsim` pytest plugin (entry point `pytest11`): fixtures for contract tests against ionsim.

    def test_order(ionsim_client, ionsim_webhook):
        ionsim_client.execute("OIS100MI", "AddBatchHead", CUNO="TEMPLWEB")
        ...

One ionsim per session (per xdist worker), a fresh tenant per test, deleted afterwards, so tests
never see each other's state and can run in parallel. Everything is configured by command-line
options, ini keys or by overriding a fixture (`ionsim_seed`, `ionsim_config`), the way
pytest-httpserver does it.

Nothing heavy is imported here: uvicorn, starlette and httpx load only when a test first asks
for an ionsim fixture, so installing ionsim costs other test suites nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from simulator.harness.client import M3Client
    from simulator.harness.control import Tenant
    from simulator.harness.server import IonsimServer
    from simulator.harness.sink import WebhookSink

DEFAULT_SEED = "demo"
_TRUE = ("1", "true", "yes", "on")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ionsim", "ionsim simulator")
    group.addoption(
        "--ionsim-url",
        dest="ionsim_url",
        default=None,
        help="run against an ionsim already running at URL instead of starting one",
    )
    group.addoption(
        "--ionsim-inprocess",
        dest="ionsim_inprocess",
        action="store_true",
        default=None,
        help="run ionsim in process (ASGI transport, no API socket): faster, same behaviour",
    )
    group.addoption(
        "--ionsim-admin-token",
        dest="ionsim_admin_token",
        default=None,
        help="admin token of a protected --ionsim-url server (sent as X-Ionsim-Admin-Token)",
    )
    parser.addini("ionsim_url", "URL of a running ionsim to use (as --ionsim-url)", default="")
    parser.addini("ionsim_admin_token", "as --ionsim-admin-token", default="")
    parser.addini("ionsim_inprocess", "run ionsim in process (as --ionsim-inprocess)", type="bool")
    parser.addini("ionsim_seed", "default seed of test tenants", default=DEFAULT_SEED)
    parser.addini(
        "ionsim_wait",
        "seconds to wait for the --ionsim-url server to answer /_sim/health",
        default="10",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ionsim_seed(name): seed the test's ionsim tenant with `name` (e.g. 'minimal')",
    )


def _mode(config: pytest.Config) -> tuple[str, str]:
    url = config.getoption("ionsim_url") or config.getini("ionsim_url")
    if url:
        return "remote", str(url)
    inprocess = config.getoption("ionsim_inprocess")
    if inprocess is None:
        inprocess = config.getini("ionsim_inprocess")
    return ("inprocess" if inprocess else "thread"), ""


@pytest.fixture(scope="session")
def ionsim_config() -> Any:
    """The Config of a server the plugin starts (ignored with --ionsim-url). Override to change."""
    from simulator import load_config

    return load_config(env={}, access_log=False)


@pytest.fixture(scope="session")
def ionsim_server(request: pytest.FixtureRequest, ionsim_config: Any) -> Iterator[IonsimServer]:
    """The session's ionsim: `.url`, `.mode`, `.app` (None when remote), `.admin`, `.http`."""
    from simulator.harness import server

    mode, url = _mode(request.config)
    if mode == "remote":
        token = request.config.getoption("ionsim_admin_token") or request.config.getini(
            "ionsim_admin_token"
        )
        wait = float(request.config.getini("ionsim_wait") or 10)
        srv = server.start_remote(url, wait, admin_token=str(token) if token else None)
    elif mode == "inprocess":
        srv = server.start_inprocess(ionsim_config)
    else:
        srv = server.start_thread(ionsim_config)
    with srv:
        yield srv


@pytest.fixture
def ionsim_seed(request: pytest.FixtureRequest) -> str:
    """The seed of the test's tenant: the `ionsim_seed` marker, else the ini `ionsim_seed`."""
    marker = request.node.get_closest_marker("ionsim_seed")
    if marker is not None:
        if len(marker.args) != 1 or not isinstance(marker.args[0], str):
            raise pytest.UsageError('use @pytest.mark.ionsim_seed("name")')
        return str(marker.args[0])
    return str(request.config.getini("ionsim_seed") or DEFAULT_SEED)


@pytest.fixture
def ionsim_tenant(ionsim_server: IonsimServer, ionsim_seed: str) -> Iterator[Tenant]:
    """A fresh tenant for this test, deleted afterwards (with any fault rules it set)."""
    tenant = ionsim_server.new_tenant(ionsim_seed)
    try:
        yield tenant
    finally:
        if tenant.faults_set:
            tenant.faults(None)
        tenant.delete()


@pytest.fixture
def ionsim_ionapi(ionsim_tenant: Tenant, tmp_path: Path) -> Path:
    """The tenant's `.ionapi` file, written to the test's tmp_path: hand it to your client."""
    import json

    path = tmp_path / f"{ionsim_tenant.name}.ionapi"
    path.write_text(json.dumps(ionsim_tenant.ionapi, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def ionsim_client(ionsim_server: IonsimServer, ionsim_ionapi: Path) -> Iterator[M3Client]:
    """An M3Client on the tenant (token from the .ionapi, 401 refresh, 429 retries)."""
    from simulator.harness.client import M3Client

    with M3Client.from_ionapi(ionsim_ionapi, transport=ionsim_server.transport) as client:
        yield client


@pytest.fixture
def ionsim_webhook(ionsim_server: IonsimServer, ionsim_tenant: Tenant) -> Iterator[WebhookSink]:
    """A receiver subscribed to every channel of the tenant; signatures are checked.

    Retries are fast (50 ms, no jitter) so `fail_next` tests take no time. The server must
    reach 127.0.0.1 of this machine: with --ionsim-url, run ionsim on the same host (or
    `docker run --network host`).
    """
    import secrets

    from simulator.harness.sink import WebhookSink

    secret = secrets.token_hex(16)
    with WebhookSink(secret=secret) as sink:
        sink.subscription = ionsim_server.admin.subscribe(
            {
                "url": sink.url,
                "tenant": ionsim_tenant.name,
                "channels": ["*"],
                "secret": secret,
                "retry": {
                    "maxAttempts": 5,
                    "initialDelayMs": 50,
                    "maxDelayMs": 500,
                    "jitter": False,
                },
            }
        )
        sink.explain = lambda: _published(ionsim_tenant)
        try:
            yield sink
        finally:
            ionsim_server.admin.unsubscribe(sink.subscription)


def _published(tenant: Tenant) -> str:
    events = tenant.events()
    if not events:
        return f"ionsim published no event for tenant {tenant.name}"
    lines = [f"ionsim published {len(events)} event(s) for tenant {tenant.name}:"]
    for e in events[-10:]:
        lines.append(f"  {e['channel']} {e['eventId'][:8]} key {e['key']}")
    return "\n".join(lines)


class EventLog(Sequence[dict[str, Any]]):
    """The events ionsim published for one tenant, fetched afresh on every access.

    Items are the event payloads (`eventId`, `documentType`, `tenantId`, `timestamp`, `data`);
    `described()` gives ionsim's full records (channel, key, seq, ...).
    """

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    def described(self, channel: str | None = None) -> list[dict[str, Any]]:
        return self.tenant.events(channel)

    def channel(self, name: str) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.described(name)]

    def _all(self) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.described()]

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self.described())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return list(self) == other

    def __repr__(self) -> str:
        return f"EventLog({self.tenant.name}: {[e['channel'] for e in self.described()]})"


@pytest.fixture
def ionsim_events(ionsim_tenant: Tenant) -> EventLog:
    """Events published for the test's tenant during the test (a live, read-only sequence)."""
    return EventLog(ionsim_tenant)
