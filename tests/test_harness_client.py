"""The harness building blocks outside pytest's fixtures: M3Client, the servers, WebhookSink.

The client is tested the way a connector uses it: against a real ionsim (in process here, one
real-socket case too), with time moved by the simulator's clock instead of sleeping.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.errors import MIError
from simulator.harness import M3Client, WebhookSink, start_inprocess, start_thread
from simulator.harness.client import GatewayHTTPError
from simulator.harness.control import AdminError, Tenant
from simulator.harness.server import IonsimServer


@pytest.fixture(scope="module")
def server() -> Iterator[IonsimServer]:
    with start_inprocess() as srv:
        yield srv


@pytest.fixture
def tenant(server: IonsimServer) -> Iterator[Tenant]:
    t = server.new_tenant("minimal")
    yield t
    t.delete()


@pytest.fixture
def client(server: IonsimServer, tenant: Tenant) -> Iterator[M3Client]:
    with M3Client.from_ionapi(tenant.ionapi, transport=server.transport) as c:
        yield c


def test_execute_returns_records(client: M3Client) -> None:
    rows = client.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
    assert rows[0]["CUNM"] == "Template customer"
    assert client.token_fetches == 1


def test_nok_raises_mierror_with_code_and_field(client: M3Client) -> None:
    with pytest.raises(MIError) as info:
        client.execute("CRS610MI", "GetBasicData", CUNO="NOPE")
    assert (info.value.code, info.value.field, info.value.type) == (
        "WCU0203",
        "CUNO",
        "ServerReturnedNOK",
    )
    assert "CRS610MI/GetBasicData" in str(info.value)
    assert "NOPE" in str(info.value)


def test_execute_raw_keeps_the_nok(client: M3Client) -> None:
    result = client.execute_raw("CRS610MI", "GetBasicData", CUNO="NOPE")
    assert result["errorCode"] == "WCU0203"
    assert result["records"] == []


def test_bulk_keeps_order_and_noks(client: M3Client) -> None:
    results = client.bulk(
        "CRS610MI", [("GetBasicData", {"CUNO": "TEMPLATE"}), ("GetBasicData", {"CUNO": "NOPE"})]
    )
    assert results[0]["records"][0]["CUNO"] == "TEMPLATE"
    assert results[1]["errorCode"] == "WCU0203"
    with pytest.raises(MIError):
        client.bulk("CRS610MI", [("GetBasicData", {"CUNO": "NOPE"})], raise_on_nok=True)


def test_expired_token_is_refreshed_once(client: M3Client, tenant: Tenant) -> None:
    client.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
    tenant.advance_clock(7201)
    client.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
    assert client.token_fetches == 2


def test_429_waits_retry_after_on_the_simulated_clock(server: IonsimServer, tenant: Tenant) -> None:
    tenant.throttle({"timePeriodInMilliseconds": 10000, "spikeArrest": {"maxRequestsPerPeriod": 2}})
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        tenant.advance_clock(seconds)

    with M3Client.from_ionapi(tenant.ionapi, transport=server.transport, sleep=sleep) as c:
        for _ in range(3):
            c.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
    assert waits == [10.0]


def test_429_retries_are_bounded(server: IonsimServer, tenant: Tenant) -> None:
    tenant.throttle({"timePeriodInMilliseconds": 60000, "spikeArrest": {"maxRequestsPerPeriod": 1}})
    waits: list[float] = []
    with M3Client.from_ionapi(
        tenant.ionapi, transport=server.transport, sleep=waits.append, max_retries=2
    ) as c:
        c.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
        with pytest.raises(GatewayHTTPError) as info:
            c.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
    assert info.value.status == 429
    assert len(waits) == 2


def test_wrong_credentials_fail_clearly(server: IonsimServer, tenant: Tenant) -> None:
    bad = {**tenant.ionapi, "cs": "wrong"}
    with (
        M3Client.from_ionapi(bad, transport=server.transport) as c,
        pytest.raises(GatewayHTTPError, match="invalid_client"),
    ):
        c.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")


def test_from_ionapi_reads_a_file(server: IonsimServer, tenant: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "t.ionapi"
    path.write_text(json.dumps(tenant.ionapi), encoding="utf-8")
    with M3Client.from_ionapi(path, transport=server.transport) as c:
        assert c.tenant == tenant.name
        assert c.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")


def test_tenant_snapshot_restore_and_reset(client: M3Client, tenant: Tenant) -> None:
    snap = tenant.snapshot()
    client.execute("CRS610MI", "Add", CUTM="TEMPLATE", CUNM="Snap Shot", CUA1="x", CUNO="SNAP1")
    tenant.restore(snap)
    with pytest.raises(MIError):
        client.execute("CRS610MI", "GetBasicData", CUNO="SNAP1")
    client.execute("CRS610MI", "Add", CUTM="TEMPLATE", CUNM="Snap Shot", CUA1="x", CUNO="SNAP1")
    tenant.reset()
    with pytest.raises(MIError):
        client.execute("CRS610MI", "GetBasicData", CUNO="SNAP1")


def test_admin_errors_carry_the_reason(server: IonsimServer) -> None:
    with pytest.raises(AdminError, match="does not exist"):
        server.admin.delete_tenant("NO_SUCH_TENANT")


def test_thread_server_stops_its_thread() -> None:
    before = set(threading.enumerate())
    with start_thread() as srv:
        assert srv.admin.health()["status"] == "ok"
        with urllib.request.urlopen(f"{srv.url}/_sim/health") as r:  # a plain socket client
            assert r.status == 200
    assert set(threading.enumerate()) <= before


# ---- WebhookSink ----


def _post(url: str, channel: str, event: dict[str, object]) -> int:
    req = urllib.request.Request(
        url,
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json", "X-Ionsim-Channel": channel},
    )
    try:
        with urllib.request.urlopen(req) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_sink_wait_for_and_near_misses() -> None:
    with WebhookSink() as sink:
        _post(sink.url, "order/synced", {"eventId": "e1", "data": {"orderNumber": "1"}})
        _post(sink.url, "customer/synced", {"eventId": "e2", "data": {"customerNumber": "C1"}})
        got = sink.wait_for("order/synced", where=lambda e: e["data"]["orderNumber"] == "1")
        assert got["eventId"] == "e1"
        with pytest.raises(AssertionError) as info:
            sink.wait_for(
                "order/synced", where=lambda e: e["data"]["orderNumber"] == "2", timeout=0.1
            )
    text = str(info.value)
    assert 'e["data"]["orderNumber"] == "2"' in text
    assert '"orderNumber": "1"' in text
    assert "on other channels" in text
    assert "customer/synced" in text


def test_sink_fail_next_and_consumer() -> None:
    seen: list[str] = []
    with WebhookSink() as sink:
        sink.on_event(lambda e: seen.append(str(e["eventId"])))
        sink.fail_next(1, status=503)
        sink.fail_next(1, status=500, process=True)
        assert _post(sink.url, "order/synced", {"eventId": "a"}) == 503
        assert _post(sink.url, "order/synced", {"eventId": "b"}) == 500
        assert _post(sink.url, "order/synced", {"eventId": "c"}) == 200
        assert [e["eventId"] for e in sink.received()] == ["c"]
        sink.assert_no("order/synced", where=lambda e: e["eventId"] == "a")
        with pytest.raises(AssertionError, match="expected no event"):
            sink.assert_no("order/synced")
    assert seen == ["b", "c"]


def test_sink_rejects_a_bad_signature() -> None:
    with WebhookSink(secret="s3cret") as sink:
        assert _post(sink.url, "order/synced", {"eventId": "x"}) == 401
        assert sink.deliveries[0].signature_ok is False
        assert sink.received() == []


def test_sink_close_joins_keep_alive_threads() -> None:
    import http.client

    before = set(threading.enumerate())
    sink = WebhookSink()
    host, port = sink.url.split("//")[1].split("/")[0].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("POST", "/ion", body=b"{}", headers={"X-Ionsim-Channel": "x"})
    assert conn.getresponse().read()
    sink.close()  # the connection is still open (keep-alive): close must not hang
    conn.close()
    assert set(threading.enumerate()) <= before


def test_remote_server_with_an_admin_token() -> None:
    from simulator import load_config
    from simulator.harness import start_remote

    with start_thread(load_config(env={}, access_log=False, admin_token="tok-1")) as srv:
        with start_remote(srv.url, 5) as anonymous, pytest.raises(AdminError, match="401"):
            anonymous.new_tenant("minimal")
        with start_remote(srv.url, 5, admin_token="tok-1") as remote:
            tenant = remote.new_tenant("minimal")
            with M3Client.from_ionapi(tenant.ionapi) as client:  # the gateway needs no admin token
                assert client.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
            tenant.delete()


def test_lazy_names_match_all() -> None:
    import simulator.harness as harness

    assert sorted(harness.__all__) == sorted(harness._WHERE)
    for name in harness.__all__:
        assert getattr(harness, name) is not None
