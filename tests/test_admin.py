"""Test control under /_sim/: tenants, isolation, reset, seed, snapshot round trip, the clock."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import MI


def test_health(client: TestClient) -> None:
    r = client.get("/_sim/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_created_tenants_are_isolated_with_their_own_credentials(client: TestClient) -> None:
    r = client.post("/_sim/tenants", json={"name": "SHOP_TST", "seed": "minimal"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["credentials"]["ti"] == "SHOP_TST"
    demo = MI(client)
    shop = MI(client, "SHOP_TST")
    assert shop.ionapi["ci"] != demo.ionapi["ci"]
    shop.ok("CRS610MI", "Add", CUTM="TEMPLATE", CUNM="Only in shop", CUA1="x", CUNO="SHOP1")
    assert shop.ok("CRS610MI", "GetBasicData", CUNO="SHOP1")
    assert demo.nok("CRS610MI", "GetBasicData", CUNO="SHOP1")["errorCode"] == "WCU0203"
    assert shop.nok("CRS610MI", "GetBasicData", CUNO="C10001")["errorCode"] == "WCU0203"
    names = [t["name"] for t in client.get("/_sim/tenants").json()["tenants"]]
    assert names == ["DEMO_TST", "SHOP_TST"]


def test_tenant_without_a_name_gets_one_and_random_credentials_differ(client: TestClient) -> None:
    a = client.post("/_sim/tenants", json={}).json()
    b = client.post("/_sim/tenants", json={"random_credentials": True}).json()
    assert a["name"] != b["name"]
    again = client.get(f"/_sim/tenants/{b['name']}/ionapi").json()
    assert again["cs"] == b["credentials"]["cs"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "DEMO_TST"}, 409),
        ({"name": "bad name!"}, 400),
        ({"name": 5}, 400),
        ({"seed": "no-such-seed"}, 400),
        ({"colour": "red"}, 400),
        ({"throttle": {"timePeriodInMilliseconds": 0}}, 400),
        ([1], 400),
    ],
)
def test_bad_tenant_requests_are_4xx(client: TestClient, body: Any, status: int) -> None:
    r = client.post("/_sim/tenants", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]


def test_unknown_tenant_routes_are_404(client: TestClient) -> None:
    for path in ("/_sim/tenants/NOPE", "/_sim/tenants/NOPE/ionapi", "/_sim/tenants/NOPE/snapshot"):
        assert client.get(path).status_code == 404
    assert client.post("/_sim/tenants/NOPE/reset").status_code == 404


def test_reset_goes_back_to_the_seed(mi: MI) -> None:
    mi.ok("CRS610MI", "Delete", CUNO="C10003")
    assert mi.nok("CRS610MI", "GetBasicData", CUNO="C10003")
    assert mi.client.post("/_sim/tenants/DEMO_TST/reset").status_code == 200
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10003")


def test_reseed_with_another_seed(mi: MI) -> None:
    r = mi.client.post("/_sim/tenants/DEMO_TST/seed", json={"seed": "minimal"})
    assert r.status_code == 200, r.text
    assert mi.nok("CRS610MI", "GetBasicData", CUNO="C10001")["errorCode"] == "WCU0203"
    assert mi.client.post("/_sim/tenants/DEMO_TST/seed", json={"seed": "nope"}).status_code == 400


def test_snapshot_round_trip_is_exact(mi: MI) -> None:
    mi.ok("CRS610MI", "Add", CUTM="TEMPLATE", CUNM="Snap AB", CUA1="Road 9")
    mi.client.put(
        "/_sim/tenants/DEMO_TST/throttle",
        json={"spikeArrest": {"maxRequestsPerPeriod": 500}, "timePeriodInMilliseconds": 1000},
    )
    before = mi.client.get("/_sim/tenants/DEMO_TST/snapshot").json()
    mi.client.post("/_sim/tenants/DEMO_TST/reset")
    mi.client.put("/_sim/tenants/DEMO_TST/throttle", json={})
    assert mi.client.get("/_sim/tenants/DEMO_TST/snapshot").json() != before
    r = mi.client.put("/_sim/tenants/DEMO_TST/snapshot", json=before)
    assert r.status_code == 200, r.text
    assert mi.client.get("/_sim/tenants/DEMO_TST/snapshot").json() == before
    names = [row["CUNM"] for row in mi.ok("CRS610MI", "LstByName", CUNM="Snap")]
    assert "Snap AB" in names


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nope",
        b"{}",
        b'{"version": 1, "state": {"tables": {"customers": {"rows": []}}}}',
        b'{"version": 1, "state": {"tables": 5}}',
        b'{"version": 2, "state": {}}',
    ],
)
def test_bad_snapshots_are_400_and_change_nothing(client: TestClient, body: bytes) -> None:
    before = client.get("/_sim/tenants/DEMO_TST/snapshot").json()
    r = client.put("/_sim/tenants/DEMO_TST/snapshot", content=body)
    assert r.status_code == 400, r.text
    assert client.get("/_sim/tenants/DEMO_TST/snapshot").json() == before


def test_delete_tenant_revokes_its_tokens(client: TestClient) -> None:
    client.post("/_sim/tenants", json={"name": "GONE_TST", "seed": "minimal"})
    gone = MI(client, "GONE_TST")
    assert client.delete("/_sim/tenants/GONE_TST").status_code == 204
    assert gone.raw("CRS610MI", "GetBasicData", CUNO="TEMPLATE").status_code == 401


def test_clock_advance(client: TestClient) -> None:
    now = client.get("/_sim/clock").json()["now"]
    r = client.post("/_sim/clock/advance", json={"seconds": 7200})
    assert r.json()["now"] == now + 7200
    for bad in ({"seconds": -1}, {"seconds": "x"}, {"seconds": True}, {}, {"seconds": 4e16}):
        assert client.post("/_sim/clock/advance", json=bad).status_code == 400


def test_openapi_document_lists_mi_operations(client: TestClient) -> None:
    doc = client.get("/_sim/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert any("CRS610MI/GetBasicData" in p for p in doc["paths"])


def test_snapshot_keeps_pending_deliveries(mi: MI) -> None:
    import time

    r = mi.client.post(
        "/_sim/subscriptions",
        json={
            "url": "http://127.0.0.1:9/nobody-listens",
            "channels": ["customer/*"],
            "tenant": "DEMO_TST",
        },
    )
    assert r.status_code == 201, r.text
    mi.ok("CRS610MI", "Add", CUTM="TEMPLATE", CUNM="Pending AB", CUA1="Road 3")
    deadline = time.monotonic() + 5
    snap: dict[str, Any] = {}
    while time.monotonic() < deadline:
        snap = mi.client.get("/_sim/tenants/DEMO_TST/snapshot").json()
        if snap["pendingDeliveries"]:
            break
        time.sleep(0.02)
    pending = snap["pendingDeliveries"]
    assert len(pending) == 1 and "Pending AB" in str(pending[0])
    r = mi.client.put("/_sim/tenants/DEMO_TST/snapshot", json=snap)
    assert r.status_code == 200, r.text
    assert r.json()["pendingDeliveries"]["restored"] == 1
    bad = {**snap, "pendingDeliveries": "nope"}
    assert mi.client.put("/_sim/tenants/DEMO_TST/snapshot", json=bad).status_code == 400
