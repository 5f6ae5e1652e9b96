"""Events from committed M3 changes, checked over HTTP against the state and the contract.

Each test builds its own app with a strict publisher (a contract violation raises) and the
`/_sim/events` route in front of the gateway's catch-all.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from simulator.admin.orders import ROUTES as order_routes
from simulator.events import bod
from simulator.events.contract import ContractViolation, load_contract
from simulator.events.model import Event
from simulator.events.publisher import ROUTES, Publisher
from simulator.m3.engine import Change
from tests.conftest import MI

NS = {"b": bod.NAMESPACE}


def build(log_size: int = 10_000) -> tuple[Any, Publisher, list[Event]]:
    app = create_app(load_config(env={}, access_log=False), clock=ManualClock())
    sink: list[Event] = []
    publisher = Publisher.attach(app.state.sim, sink=sink.append, strict=True, log_size=log_size)
    paths = {getattr(r, "path", "") for r in app.router.routes}
    app.router.routes[0:0] = [r for r in [*ROUTES, *order_routes] if r.path not in paths]
    return app, publisher, sink


@pytest.fixture
def env() -> Iterator[tuple[TestClient, MI, list[Event], Publisher]]:
    app, publisher, sink = build()
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client, MI(client), sink, publisher


def state(client: TestClient) -> Any:
    return client.app.state.sim.tenants["DEMO_TST"].state  # type: ignore[attr-defined]


def test_customer_add_change_delete(env: Any) -> None:
    _, mi, sink, _ = env
    cuno = mi.ok(
        "CRS610MI", "Add", CUTM="TEMPLATE", CUNM="Fjord <&> AB", CUA1="Gata 1", TOWN="Oslo"
    )[0]["CUNO"]
    (ev,) = sink
    assert (ev.channel, ev.key, ev.entity, ev.document) == (
        "customer/synced",
        f"100/{cuno}",
        "100_AAA",
        "SyncCustomerPartyMaster",
    )
    p = ev.payload
    assert p["eventId"] == ev.event_id and p["tenantId"] == "DEMO_TST"
    assert p["logicalId"] == "lid://infor.m3.m3" and p["correlationId"].startswith("DEMO_TST-")
    assert p["timestamp"] == "2023-11-14T22:13:20.000Z"  # the ManualClock's now, UTC
    got = mi.ok("CRS610MI", "GetBasicData", CUNO=cuno)[0]
    assert p["data"]["customerName"] == got["CUNM"] == "Fjord <&> AB"
    assert p["data"]["city"] == "Oslo" and p["data"]["currency"] == got["CUCD"] == "SEK"
    assert p["data"]["lastModified"] == p["timestamp"]
    mi.ok("CRS610MI", "ChgBasicData", CUNO=cuno, CUNM="Fjord AS")
    assert sink[1].payload["data"]["customerName"] == "Fjord AS"
    assert sink[1].correlation != sink[0].correlation
    mi.ok("CRS610MI", "Delete", CUNO=cuno)
    assert (sink[2].channel, sink[2].document, sink[2].action) == (
        "customer/deleted",
        "DeleteCustomerPartyMaster",
        "Delete",
    )
    assert sink[2].payload["data"]["customerNumber"] == cuno
    assert len({e.event_id for e in sink}) == 3
    mi.nok("CRS610MI", "Delete", CUNO=cuno)  # a NOK publishes nothing
    assert len(sink) == 3


def _order(mi: MI, lines: list[tuple[str, str]]) -> str:
    temp = mi.ok("OIS100MI", "AddBatchHead", CUNO="C10001")[0]["ORNO"]
    for itno, qty in lines:
        mi.ok("OIS100MI", "AddBatchLine", ORNO=temp, ITNO=itno, ORQT=qty)
    return str(mi.ok("OIS100MI", "Confirm", ORNO=temp)[0]["ORNO"])


def test_confirm_with_three_lines_yields_one_order_event_and_one_per_balance(env: Any) -> None:
    client, mi, sink, publisher = env
    orno = _order(mi, [("TENT-2P", "2"), ("TENT-2P", "1"), ("BOOT-42", "4")])
    channels = sorted((e.channel, e.key) for e in sink)
    assert channels == [
        ("inventory/synced", "100/001/BOOT-42"),
        ("inventory/synced", "100/001/TENT-2P"),
        ("order/synced", f"100/{orno}"),
    ]
    order = next(e for e in sink if e.channel == "order/synced").payload["data"]
    head = mi.ok("OIS100MI", "GetHead", ORNO=orno)[0]
    assert order["orderNumber"] == orno and order["lineCount"] == 3
    assert order["totalAmount"] == float(head["NTAM"]) == 2 * 2495 + 2495 + 4 * 1795
    assert order["orderStatus"] == head["ORST"] and order["orderDate"] == "2023-11-14"
    tent = next(e for e in sink if e.key == "100/001/TENT-2P").payload["data"]
    row = state(client).tables["item_warehouses"].rows[("100", "001", "TENT-2P")]
    assert (tent["onHand"], tent["allocated"], tent["available"]) == (
        float(row["STQT"]),
        float(row["ALQT"]),
        float(row["AVAL"]),
    )
    assert tent["unitOfMeasure"] == "PCS"
    assert publisher.coalesced >= 3
    for e in sink:
        load_contract().validate(e.channel, e.payload)


def test_deliver_and_invoice_publish_order_inventory_and_invoice(env: Any) -> None:
    client, mi, sink, _ = env
    orno = _order(mi, [("JACKET-M", "2")])
    del sink[:]
    r = client.post(f"/_sim/tenants/DEMO_TST/orders/{orno}/deliver")
    assert r.status_code == 200, r.text
    assert sorted(e.channel for e in sink) == ["inventory/synced", "order/synced"]
    assert next(e for e in sink if e.channel == "inventory/synced").payload["data"]["onHand"] == 23
    del sink[:]
    r = client.post(f"/_sim/tenants/DEMO_TST/orders/{orno}/invoice")
    assert r.status_code == 200, r.text
    inv = next(e for e in sink if e.channel == "invoice/synced")
    assert sorted(e.channel for e in sink) == ["invoice/synced", "order/synced"]
    body = r.json()
    assert inv.key == f"100/AAA/{body['year']}/{body['invoice']}"
    assert inv.payload["data"]["amount"] == 2 * 1295 == float(body["amount"])
    assert inv.payload["data"]["dueDate"] == "2023-12-14"  # TEPY 30


def test_sim_events_route_filters_and_pages(env: Any) -> None:
    client, mi, sink, _ = env
    _order(mi, [("TENT-2P", "1")])
    mi.ok("CRS610MI", "ChgBasicData", CUNO="C10001", CUNM="Nordic Outdoor Group")
    all_events = client.get("/_sim/events").json()
    assert [e["eventId"] for e in all_events["events"]] == [e.event_id for e in sink]
    assert all_events["published"] == {
        "inventory/synced": 1,
        "order/synced": 1,
        "customer/synced": 1,
    }
    customers = client.get("/_sim/events", params={"channel": "customer/*", "tenant": "DEMO_TST"})
    assert [e["channel"] for e in customers.json()["events"]] == ["customer/synced"]
    first = client.get("/_sim/events", params={"limit": 1}).json()
    rest = client.get("/_sim/events", params={"since": first["last"]}).json()
    assert len(first["events"]) == 1 and len(rest["events"]) == 2
    assert client.get("/_sim/events", params={"tenant": "OTHER"}).json()["events"] == []
    assert client.get("/_sim/events", params={"channel": "nope/*"}).status_code == 400
    assert client.get("/_sim/events", params={"since": "x"}).status_code == 400


def test_violation_raises_when_strict_and_is_counted_otherwise() -> None:
    _, publisher, sink = build()
    change = Change("DEMO_TST", "order", "change", ("100", "1"), {}, "OIS100MI", "X", "c-1")
    with pytest.raises(ContractViolation):
        publisher.publish(change, "order/synced", "100/1", {"totalAmount": "12"}, "Replace", "")
    publisher.strict = False
    assert (
        publisher.publish(change, "order/synced", "100/1", {"lineCount": 1.5}, "Replace", "")
        is None
    )
    assert publisher.violations == 2 and sink == [] and not publisher.logs


def test_log_is_a_bounded_ring() -> None:
    _, publisher, sink = build(log_size=3)
    change = Change("DEMO_TST", "customer", "change", ("100", "C"), {}, "CRS610MI", "X", "")
    for i in range(5):
        publisher.publish(change, "customer/synced", f"100/C{i}", {"status": str(i)}, "Replace", "")
    assert [e.key for _, e in publisher.events("DEMO_TST")] == ["100/C2", "100/C3", "100/C4"]
    assert len(sink) == 5 and publisher.published["customer/synced"] == 5


def test_bod_xml_of_published_events(env: Any) -> None:
    _, mi, sink, _ = env
    mi.ok("CRS610MI", "ChgBasicData", CUNO="C10002", CUNM='Berg & "Söner" <AB>\x01')
    orno = _order(mi, [("BOOT-42", "1")])
    customer = ET.fromstring(bod.render(sink[0]))
    assert customer.tag == f"{{{bod.NAMESPACE}}}SyncCustomerPartyMaster"
    assert customer.get("releaseID") == "9.2" and customer.get("versionID") == "2.14.0"
    sender = customer.find("b:ApplicationArea/b:Sender", NS)
    assert (
        sender is not None and sender.findtext("b:LogicalID", namespaces=NS) == "lid://infor.m3.m3"
    )
    assert sender.findtext("b:ComponentID", namespaces=NS) == "M3BE"
    assert customer.findtext("b:ApplicationArea/b:BODID", namespaces=NS) == (
        "infor-nid:DEMO_TST:100_AAA::C10002:?CustomerPartyMaster&verb=Sync"
    )
    sync = customer.find("b:DataArea/b:Sync", NS)
    assert sync is not None and sync.findtext("b:AccountingEntityID", namespaces=NS) == "100_AAA"
    action = sync.find("b:ActionCriteria/b:ActionExpression", NS)
    assert action is not None and action.get("actionCode") == "Replace"
    noun = customer.find("b:DataArea/b:CustomerPartyMaster", NS)
    assert noun is not None and noun.findtext("b:Name", namespaces=NS) == 'Berg & "Söner" <AB>'
    assert noun.findtext("b:Location/b:Address/b:CityName", namespaces=NS) == "Göteborg"
    order = ET.fromstring(bod.render(next(e for e in sink if e.channel == "order/synced")))
    assert order.tag.endswith("}SyncSalesOrder")
    total = order.find("b:DataArea/b:SalesOrder/b:SalesOrderHeader/b:TotalAmount", NS)
    assert total is not None and (total.text, total.get("currencyID")) == ("1795", "SEK")
    assert order.findtext(".//b:SalesOrderHeader/b:DocumentID/b:ID", namespaces=NS) == orno
    stock = ET.fromstring(bod.render(next(e for e in sink if e.channel == "inventory/synced")))
    assert stock.tag.endswith("}SyncInventoryCount")
    assert (
        stock.findtext(".//b:InventoryCountLine/b:Item/b:ItemID/b:ID", namespaces=NS) == "BOOT-42"
    )
    mi.ok("CRS610MI", "Delete", CUNO="W000001")
    gone = ET.fromstring(bod.render(sink[-1]))
    assert gone.tag.endswith("}SyncCustomerPartyMaster")
    assert gone.find(".//b:ActionExpression", NS).get("actionCode") == "Delete"  # type: ignore[union-attr]


# ---- property: random MI sequences yield exactly the right events ----

CUSTOMERS = ["C10001", "C10002", "C10003", "W000001"]
ITEMS = ["TENT-2P", "BOOT-42", "JACKET-M", "SLBAG-3S", "BACKP-45"]
op = st.one_of(
    st.tuples(st.just("add"), st.text("ABCÅÄÖ &<>'", min_size=1, max_size=12)),
    st.tuples(
        st.just("change"), st.sampled_from(CUSTOMERS), st.text("abc xyzé", min_size=1, max_size=10)
    ),
    st.tuples(st.just("delete"), st.sampled_from(CUSTOMERS)),
    st.tuples(
        st.just("order"),
        st.sampled_from(["C10001", "C10003"]),
        st.lists(st.tuples(st.sampled_from(ITEMS), st.integers(1, 30)), min_size=1, max_size=4),
    ),
)


def _expected(
    client: TestClient, mi: MI, action: tuple[Any, ...], added: list[str]
) -> set[tuple[str, str]]:
    """Runs one operation; answers the (channel, key) set it must publish."""
    kind = action[0]
    if kind == "add":
        r = mi.call("CRS610MI", "Add", CUTM="TEMPLATE", CUNM=action[1], CUA1="Road 1")
        if "errorMessage" in r:
            return set()
        added.append(r["records"][0]["CUNO"])
        return {("customer/synced", f"100/{added[-1]}")}
    if kind in ("change", "delete"):
        cuno = action[1] if not added or kind == "change" else added[-1]
        fields = {"CUNM": action[2]} if kind == "change" else {}
        r = mi.call(
            "CRS610MI", "ChgBasicData" if kind == "change" else "Delete", CUNO=cuno, **fields
        )
        if "errorMessage" in r:
            return set()
        return {(f"customer/{'synced' if kind == 'change' else 'deleted'}", f"100/{cuno}")}
    head = mi.call("OIS100MI", "AddBatchHead", CUNO=action[1])
    if "errorMessage" in head:  # the customer was deleted by an earlier step
        return set()
    temp = head["records"][0]["ORNO"]
    for itno, qty in action[2]:
        mi.call("OIS100MI", "AddBatchLine", ORNO=temp, ITNO=itno, ORQT=qty)
    r = mi.call("OIS100MI", "Confirm", ORNO=temp)
    if "errorMessage" in r:
        return set()
    orno = r["records"][0]["ORNO"]
    allocated = {
        f"100/{line['WHLO']}/{line['ITNO']}"
        for line in mi.ok("OIS100MI", "LstLine", ORNO=orno)
        if float(line.get("ALQT") or 0) > 0
    }
    return {("order/synced", f"100/{orno}")} | {("inventory/synced", k) for k in allocated}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=8))
def test_random_mi_sequences_publish_exactly_the_right_events(ops: list[tuple[Any, ...]]) -> None:
    app, publisher, sink = build()
    contract = load_contract()
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        mi, added = MI(client), []
        for action in ops:
            before = len(sink)
            want = _expected(client, mi, action, added)
            got = sink[before:]
            assert sorted((e.channel, e.key) for e in got) == sorted(want), action
            for e in got:
                contract.validate(e.channel, e.payload)
                data = e.payload["data"]
                if e.channel == "customer/synced":
                    row = mi.ok("CRS610MI", "GetBasicData", CUNO=data["customerNumber"])[0]
                    assert (data["customerName"], data["status"]) == (row["CUNM"], row["STAT"])
                elif e.channel == "order/synced":
                    head = mi.ok("OIS100MI", "GetHead", ORNO=data["orderNumber"])[0]
                    assert data["totalAmount"] == float(head["NTAM"])
                    assert data["orderStatus"] == head["ORST"]
                elif e.channel == "inventory/synced":
                    bal = state(client).tables["item_warehouses"].rows[tuple(e.key.split("/"))]
                    assert data["allocated"] == float(bal["ALQT"])
                    assert data["onHand"] == float(bal["STQT"])
        assert len({e.event_id for e in sink}) == len(sink) == sum(publisher.published.values())
