"""Generated events: valid in both modes, M3-shaped when realistic, reproducible, fast."""

from __future__ import annotations

import re
from collections import Counter

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.events import strategy
from simulator.events.contract import load_contract
from simulator.events.corpus import EventSource, parse_weights
from simulator.events.generate import draw_examples
from simulator.events.realistic_values import COUNTRIES, CURRENCIES, ORDER_STATUSES

CONTRACT = load_contract()
CHANNELS = sorted(CONTRACT.channels)


@pytest.mark.parametrize("mode", ["realistic", "edge"])
@pytest.mark.parametrize("channel", CHANNELS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_generated_event_validates(channel: str, mode: str, data: st.DataObject) -> None:
    payload = data.draw(strategy(channel, mode))
    CONTRACT.validate(channel, payload)
    assert CONTRACT.errors(channel, payload) == []
    assert orjson.loads(orjson.dumps(payload)) == payload  # valid UTF-8 JSON, round trip


def test_realistic_values_are_m3_shaped() -> None:
    orders = draw_examples("order/synced", "realistic", 150, 1)
    customers = draw_examples("customer/synced", "realistic", 150, 2)
    stock = draw_examples("inventory/synced", "realistic", 150, 3)
    for p in orders + customers:
        d = p.get("data", {})
        if "customerNumber" in d:
            assert re.fullmatch(r"[A-Z0-9]{1,10}", d["customerNumber"]), d
        assert d.get("currency", "EUR") in CURRENCIES
        assert d.get("country", "SE") in COUNTRIES
    for p in orders:
        d = p["data"]
        assert d.get("orderStatus", "22") in ORDER_STATUSES
        if "totalAmount" in d:
            assert round(d["totalAmount"], 2) == d["totalAmount"] >= 0
        assert p["timestamp"].endswith("Z")
    with_stock = [p["data"] for p in stock if "onHand" in p.get("data", {})]
    assert with_stock
    for d in with_stock:
        assert d["available"] == d["onHand"] - d["allocated"] and d["allocated"] <= d["onHand"]


def test_edge_mode_covers_the_corners_of_the_schema() -> None:
    seen = draw_examples("order/synced", "edge", 150, 4)
    props = set(CONTRACT.channels["order/synced"].schema["properties"])
    assert any(set(p) - props for p in seen), "extra properties where the schema allows them"
    assert any("tenantId" not in p for p in seen), "optional fields absent"
    strings = [v for p in seen for v in p.values() if isinstance(v, str)]
    assert "" in strings
    assert any(not s.isascii() for s in strings)
    for s in strings:
        s.encode("utf-8")  # no lone surrogates


def test_same_seed_same_sequence() -> None:
    a = draw_examples("invoice/synced", "realistic", 30, 7)
    assert a == draw_examples("invoice/synced", "realistic", 30, 7)
    assert a != draw_examples("invoice/synced", "realistic", 30, 8)
    fixed = lambda: 1_700_000_000.0  # noqa: E731
    one = EventSource(mode="realistic", seed=5, clock=fixed)
    two = EventSource(mode="realistic", seed=5, clock=fixed)
    assert [one.next().body for _ in range(500)] == [two.next().body for _ in range(500)]


@pytest.mark.parametrize("mode", ["realistic", "edge"])
def test_fast_path_events_are_valid_unique_and_weighted(mode: str) -> None:
    weights = parse_weights("order/synced=70,customer/synced=30", CHANNELS)
    source = EventSource(weights, mode=mode, seed=1)
    events = [source.next() for _ in range(20_000)]
    for e in events:
        CONTRACT.validate(e.channel, e.payload)
        assert orjson.loads(e.body)["eventId"] == e.event_id
    assert len({e.event_id for e in events}) == len(events)
    share = Counter(e.channel for e in events)
    assert share == {"order/synced": 14_000, "customer/synced": 6_000}
    if mode == "realistic":
        amounts = {e.payload["data"]["totalAmount"] for e in events if e.channel == "order/synced"}
        assert len(amounts) > 5_000  # varied, not the corpus replayed


def test_fast_path_inventory_stays_consistent() -> None:
    """(Speed is measured by bench/bench_generate.py, not asserted on a shared CI box.)"""
    source = EventSource({"inventory/synced": 1.0}, seed=2)
    for _ in range(20_000):
        d = source.next().payload["data"]
        assert d["available"] == d["onHand"] - d["allocated"] >= 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        strategy("order/synced", "weird")
    with pytest.raises(ValueError, match="no channel"):
        strategy("nope/synced")
    with pytest.raises(ValueError, match="unknown channel"):
        parse_weights("nope=1", CHANNELS)
