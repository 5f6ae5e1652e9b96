"""End to end, as a new user would: a real `ionsim serve`, a real webhook, an order's whole life.

Subscribe a webhook, run an order through AddBatchHead/AddBatchLine/Confirm and the deliver and
invoice actions, and receive the right order/synced, inventory/synced and invoice/synced events,
each valid against the contract. Then take the receiver down mid-way: every event is delivered
after it returns or sits in the dead-letter queue, and a replay delivers those too.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from simulator.events.contract import load_contract
from tests.test_cli import serving
from tests.webhook import Webhook


def token(url: str) -> dict[str, str]:
    ion = httpx.get(f"{url}/_sim/tenants/DEMO_TST/ionapi").json()
    tok = httpx.post(
        ion["pu"] + ion["ot"],
        data={"grant_type": "password", "username": ion["saak"], "password": ion["sask"]},
        auth=(ion["ci"], ion["cs"]),
    ).json()["access_token"]
    return {"Authorization": f"Bearer {tok}"}


def mi(url: str, auth: dict[str, str], program: str, trx: str, **fields: str) -> dict[str, str]:
    r = httpx.get(
        f"{url}/DEMO_TST/M3/m3api-rest/v2/execute/{program}/{trx}", params=fields, headers=auth
    )
    result = r.json()["results"][0]
    assert "errorMessage" not in result, result
    return result["records"][0] if result["records"] else {}


def wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_order_flows_to_a_webhook_and_nothing_is_lost_when_it_goes_down() -> None:
    contract = load_contract()
    with Webhook() as hook, serving("--no-access-log", "--subscribe", hook.url) as (_, url):
        auth = token(url)
        temp = mi(url, auth, "OIS100MI", "AddBatchHead", CUNO="C10001")["ORNO"]
        mi(url, auth, "OIS100MI", "AddBatchLine", ORNO=temp, ITNO="TENT-2P", ORQT="3")
        final = mi(url, auth, "OIS100MI", "Confirm", ORNO=temp)["ORNO"]
        assert final != temp
        assert httpx.post(f"{url}/_sim/tenants/DEMO_TST/orders/{final}/deliver").status_code == 200
        inv = httpx.post(f"{url}/_sim/tenants/DEMO_TST/orders/{final}/invoice")
        assert inv.status_code == 200, inv.text

        def by_channel() -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {}
            for r in hook.received():
                out.setdefault(r.headers["x-ionsim-channel"], []).append(r.json())
            return out

        wait(lambda: "invoice/synced" in by_channel())
        events = by_channel()
        for channel, payloads in events.items():
            for payload in payloads:
                contract.validate(channel, payload)
        orders = [e["data"] for e in events["order/synced"] if e["data"]["orderNumber"] == final]
        assert orders and orders[-1]["orderStatus"] == "77"
        assert [o["orderStatus"] for o in orders][:1] == ["33"]
        tents = [
            e["data"] for e in events["inventory/synced"] if e["data"]["partNumber"] == "TENT-2P"
        ]
        assert tents[0]["allocated"] == 3 and tents[0]["onHand"] == 40
        assert tents[-1]["onHand"] == 37 and tents[-1]["allocated"] == 0
        invoice = events["invoice/synced"][0]["data"]
        assert invoice["customerNumber"] == "C10001"
        assert invoice["invoiceNumber"] == str(inv.json()["invoice"])

        # The receiver goes down: new events wait and retry; some may be dead-lettered.
        hook.down()
        for i in range(5):
            mi(url, auth, "CRS610MI", "Add", CUTM="TEMPLATE", CUNM=f"Offline {i}", CUA1="Road")
        wait(lambda: stats(url)["pending"] > 0)
        hook.up()
        # Back-offs follow the simulated clock: push it past every retry, nobody sleeps.
        while stats(url)["pending"]:
            httpx.post(f"{url}/_sim/clock/advance", json={"seconds": 120})
            time.sleep(0.05)
        dead = {d["eventId"] for d in httpx.get(f"{url}/_sim/dlq").json()["deadLetters"]}
        if dead:
            assert httpx.post(f"{url}/_sim/dlq/replay").status_code == 200
            wait(lambda: dead <= acknowledged(hook))
        published = {
            e["eventId"]
            for e in httpx.get(f"{url}/_sim/events", params={"limit": 10000}).json()["events"]
        }
        assert published and published == acknowledged(hook)
        names = {
            r.json()["data"].get("customerName")
            for r in hook.received()
            if r.headers["x-ionsim-channel"] == "customer/synced"
        }
        assert {f"Offline {i}" for i in range(5)} <= names


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_sim/deliveries/stats").json())


def acknowledged(hook: Webhook) -> set[str]:
    return {r.json()["eventId"] for r in hook.received()}
