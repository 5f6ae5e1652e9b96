"""The events contract: loading, strict validation, bad contracts, and the compiled checker.

The compiled checker must give the same verdict as jsonschema (with the same strict formats)
on any payload: Hypothesis draws valid payloads from each channel's schema, then damages them.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from simulator.errors import ContractError, IonsimError
from simulator.events.contract import (
    CONTRACT,
    ContractViolation,
    load_contract,
    load_contract_file,
    parse_contract,
)
from simulator.resources import find

CONTRACT_TEXT = Path(find(CONTRACT) or "").read_text()


def customer(**data: Any) -> dict[str, Any]:
    return {
        "eventId": "e-1",
        "documentType": "SyncCustomerPartyMaster",
        "tenantId": "DEMO_TST",
        "timestamp": "2024-05-01T10:15:30.123Z",
        "data": {"customerNumber": "C10001", **data},
    }


def test_channels_messages_and_documents() -> None:
    c = load_contract()
    assert set(c.channels) == {
        "customer/synced",
        "customer/deleted",
        "order/synced",
        "invoice/synced",
        "inventory/synced",
    }
    assert c.channels["customer/synced"].message == "SyncCustomerPartyMaster"
    assert c.channels["customer/deleted"].document == "DeleteCustomerPartyMaster"
    assert c.channels["inventory/synced"].document == "SyncInventory"
    assert c.channels["order/synced"].schema["properties"]["data"]["type"] == "object"
    assert "sales order" in c.channels["order/synced"].description
    assert load_contract() is c  # cached per file


def test_match_wildcards() -> None:
    c = load_contract()
    assert c.match("customer/*") == ["customer/synced", "customer/deleted"]
    assert len(c.match("*")) == 5
    assert c.match("order/synced") == ["order/synced"]
    assert c.match("*/synced") == [n for n in c.channels if n.endswith("/synced")]
    assert c.match("nothing/*") == []


def test_valid_payload_passes_and_extra_properties_are_allowed() -> None:
    c = load_contract()
    payload = customer(lastModified="2024-05-01T10:15:30+02:00", anything={"x": [1, "ü"]})
    payload["correlationId"] = "DEMO_TST-1"
    c.validate("customer/synced", payload)
    assert c.errors("customer/synced", payload) == []


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-05-01",
        "2024-05-01T10:15:30",  # no zone
        "2024-05-01 10:15:30Z",  # space instead of T
        "2024-02-30T10:15:30Z",  # no such day
        "2023-02-29T00:00:00Z",  # not a leap year
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:60:00Z",
        "2024-05-01T10:15:30+25:00",
        "2024-05-01T10:15Z",  # no seconds
        "\uff12\uff10\uff12\uff14-05-01T10:15:30Z",  # full-width digits
        "2024-05-01T10:15:30Z\n",
        "",
    ],
)
def test_date_time_is_strict(stamp: str) -> None:
    c = load_contract()
    with pytest.raises(ContractViolation) as info:
        c.validate("customer/synced", customer(lastModified=stamp))
    assert info.value.pointer == "/data/lastModified"
    assert c.errors("customer/synced", customer(lastModified=stamp))


@pytest.mark.parametrize(
    "day", ["2024-5-01", "2024-13-01", "2024-02-30", "20240501", "2024-05-01T00:00:00Z"]
)
def test_date_is_strict(day: str) -> None:
    c = load_contract()
    payload = {
        "eventId": "e",
        "documentType": "SyncSalesOrder",
        "timestamp": "2024-05-01T00:00:00Z",
    }
    payload["data"] = {"orderDate": day}
    with pytest.raises(ContractViolation) as info:
        c.validate("order/synced", payload)
    assert info.value.pointer == "/data/orderDate"
    payload["data"] = {"orderDate": "2024-02-29"}
    c.validate("order/synced", payload)


def test_types_enum_required_and_wire_values() -> None:
    c = load_contract()
    cases = {
        "/data/customerName": customer(customerName=12),
        "/documentType": {**customer(), "documentType": "SyncSalesOrder"},
        "/": {k: v for k, v in customer().items() if k != "tenantId"},
        "/data/city": customer(city="Stockholm\ud800"),  # lone surrogate
        "/data/extra": customer(extra=math.nan),
    }
    for pointer, payload in cases.items():
        with pytest.raises(ContractViolation) as info:
            c.validate("customer/synced", payload)
        assert (info.value.pointer or "/") == pointer, info.value
        assert isinstance(info.value, IonsimError)
        assert c.errors("customer/synced", payload)
    order = {"eventId": "e", "documentType": "SyncSalesOrder", "timestamp": "2024-05-01T00:00:00Z"}
    for bad in (True, "12", 1.5):
        with pytest.raises(ContractViolation):
            c.validate("order/synced", {**order, "data": {"lineCount": bad}})
    c.validate("order/synced", {**order, "data": {"lineCount": 3, "totalAmount": 10}})


def test_errors_lists_every_problem_with_pointers() -> None:
    c = load_contract()
    payload = customer(customerName=1, lastModified="yesterday")
    del payload["eventId"]
    errors = c.errors("customer/synced", payload)
    assert len(errors) == 3
    assert any(e.startswith("/: ") and "eventId" in e for e in errors)
    assert any(e.startswith("/data/customerName: ") for e in errors)
    assert any(e.startswith("/data/lastModified: ") for e in errors)


def test_unknown_channel() -> None:
    with pytest.raises(ContractViolation, match="no such channel"):
        load_contract().validate("customer/created", customer())


# ---- bad contracts: the file, the pointer and the reason ----


def test_invalid_yaml() -> None:
    with pytest.raises(ContractError) as info:
        parse_contract("channels: [a\n  b: :", "bad.yaml")
    assert info.value.file == "bad.yaml"
    assert "invalid YAML at line" in info.value.reason


@pytest.mark.parametrize("text", ["asyncapi: 2.6.0\n", "channels: {}\n", "- a\n"])
def test_missing_channels(text: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_contract(text)
    assert info.value.pointer in ("", "/channels")


def test_dangling_ref_names_where_it_is() -> None:
    text = CONTRACT_TEXT.replace(
        "$ref: '#/components/messages/SyncSalesOrderEvent'",
        "$ref: '#/components/messages/SyncSalesOrderEvnt'",
    )
    with pytest.raises(ContractError) as info:
        parse_contract(text, "ion.yaml")
    assert info.value.pointer == "/channels/order~1synced/subscribe/message/$ref"
    assert "SyncSalesOrderEvnt" in info.value.reason
    assert str(info.value).startswith("ion.yaml: /channels/order~1synced")


def test_payload_that_is_not_a_json_schema() -> None:
    text = CONTRACT_TEXT.replace(
        "lineCount:\n                type: integer", "lineCount:\n                type: integr"
    )
    with pytest.raises(ContractError) as info:
        parse_contract(text)
    assert info.value.pointer == (
        "/components/messages/SyncSalesOrderEvent/payload/properties/data/properties/lineCount/type"
    )
    assert "invalid schema" in info.value.reason


def test_load_from_data_dir_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    target = tmp_path / CONTRACT
    target.write_text(CONTRACT_TEXT.replace("customer/deleted:", "customer/removed:"))
    assert "customer/removed" in load_contract(tmp_path).channels
    with pytest.raises(ContractError, match="cannot read"):
        load_contract_file(tmp_path / "nope.yaml")


# ---- the compiled checker agrees with jsonschema ----

CHANNELS = sorted(load_contract().channels)


def _damage(payload: Any, data: st.DataObject) -> Any:
    bad = copy.deepcopy(payload)
    target = bad["data"] if isinstance(bad.get("data"), dict) and data.draw(st.booleans()) else bad
    key = data.draw(st.sampled_from(sorted(target) or ["x"]))
    target[key] = data.draw(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=True),
            st.text(max_size=5),
            st.sampled_from(["2024-02-30", "2024-01-01T00:00:00Z", "2024-01-01", "\ud800"]),
            st.lists(st.integers(), max_size=2),
        )
    )
    return bad


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), channel=st.sampled_from(CHANNELS))
def test_compiled_checker_agrees_with_jsonschema(data: st.DataObject, channel: str) -> None:
    c = load_contract()
    payload = data.draw(from_schema(c.channels[channel].schema))
    assert c.errors(channel, payload) == []
    c.validate(channel, payload)
    bad = _damage(payload, data)
    errors = c.errors(channel, bad)
    try:
        c.validate(channel, bad)
    except ContractViolation as exc:
        assert errors, f"compiled checker refused a valid payload: {exc}"
    else:
        assert not errors, f"compiled checker accepted {bad!r}: {errors}"
