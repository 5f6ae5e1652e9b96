"""The webshop connector against ionsim: what it must do, and what M3 and ION do to it."""

from __future__ import annotations

import pytest
from connector import M3Error

NEW_CUSTOMER = {
    "name": "Jane Doe",
    "email": "jane@example.com",
    "address": "Storgatan 9",
    "city": "Lund",
    "postal_code": "22100",
    "country": "SE",
}
KNOWN_CUSTOMER = {  # in the demo seed as C10001
    "name": "Nordic Outdoor AB",
    "email": "orders@nordic-outdoor.example",
    "address": "Storgatan 1",
}


def order(order_id: str, customer: dict[str, str], *lines: tuple[str, int]) -> dict:
    return {
        "id": order_id,
        "customer": customer,
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
    }


def test_new_customer_is_created_and_order_confirmed(connector, ionsim_client, ionsim_webhook):
    orno = connector.place_order(order("WEB-1001", NEW_CUSTOMER, ("TENT-2P", 2), ("BOOT-42", 1)))

    synced = ionsim_webhook.wait_for(
        "order/synced", where=lambda e: e["data"]["orderNumber"] == orno
    )
    assert synced["data"]["customerOrderNumber"] == "WEB-1001"
    assert synced["data"]["lineCount"] == 2
    customer = ionsim_webhook.wait_for(
        "customer/synced", where=lambda e: e["data"]["email"] == "jane@example.com"
    )
    cuno = customer["data"]["customerNumber"]
    assert synced["data"]["customerNumber"] == cuno
    assert ionsim_client.execute("CRS610MI", "GetBasicData", CUNO=cuno)[0]["TOWN"] == "Lund"

    # The second order of the same shopper finds the customer instead of creating another.
    again = connector.place_order(order("WEB-1002", NEW_CUSTOMER, ("BOOT-42", 1)))
    second = ionsim_webhook.wait_for(
        "order/synced", where=lambda e: e["data"]["orderNumber"] == again
    )
    assert second["data"]["customerNumber"] == cuno
    ionsim_webhook.assert_no("customer/synced", where=lambda e: e["data"]["customerNumber"] != cuno)


def test_known_customer_is_matched_by_email(connector, ionsim_events):
    orno = connector.place_order(order("WEB-2001", KNOWN_CUSTOMER, ("JACKET-M", 1)))
    orders = [e["data"] for e in ionsim_events.channel("order/synced")]
    assert [(o["orderNumber"], o["customerNumber"]) for o in orders] == [(orno, "C10001")]
    assert ionsim_events.channel("customer/synced") == []


def test_unknown_item_names_the_item_and_m3s_code(connector):
    with pytest.raises(M3Error) as info:
        connector.place_order(order("WEB-3001", KNOWN_CUSTOMER, ("TENT-2P", 1), ("NO-SUCH-SKU", 1)))
    assert info.value.code == "WIT0103"
    assert info.value.api == "OIS100MI/AddBatchLine"
    assert "NO-SUCH-SKU" in str(info.value)
    assert "WIT0103" in str(info.value)


def test_throttled_calls_wait_for_retry_after(connector, ionsim_tenant):
    # Two MI calls a minute: placing an order takes six, so the connector meets 429s.
    ionsim_tenant.throttle(
        {"timePeriodInMilliseconds": 60000, "spikeArrest": {"maxRequestsPerPeriod": 2}}
    )
    orno = connector.place_order(order("WEB-4001", KNOWN_CUSTOMER, ("BOOT-42", 1)))
    assert orno
    totals = ionsim_tenant.throttle()["counters"]["totals"]
    assert totals["rejectedSpikeArrest"] >= 2


def test_token_expiring_mid_run_is_renewed(connector, ionsim_tenant):
    connector.place_order(order("WEB-5001", KNOWN_CUSTOMER, ("BOOT-42", 1)))
    ionsim_tenant.advance_clock(7201)  # past the token's 7200 s lifetime
    assert connector.place_order(order("WEB-5002", KNOWN_CUSTOMER, ("BOOT-42", 1)))
    assert connector.m3.logins == 2


def test_duplicate_inventory_event_changes_the_shop_once(connector, ionsim_webhook):
    ionsim_webhook.on_event(connector.handle_event)
    # The connector handles the event but its answer is lost: ION delivers it again.
    ionsim_webhook.fail_next(1, status=500, process=True, channel="inventory/synced")

    connector.place_order(order("WEB-6001", KNOWN_CUSTOMER, ("TENT-2P", 3)))

    event = ionsim_webhook.wait_for(
        "inventory/synced", where=lambda e: e["data"]["partNumber"] == "TENT-2P"
    )
    attempts = [d.status for d in ionsim_webhook.deliveries if d.event_id == event["eventId"]]
    assert attempts == [500, 200]
    assert connector.shop.updates == [("TENT-2P", 37.0)]  # 40 on hand, 3 now allocated
    assert connector.handle_event(event) is False  # a third copy is ignored too
