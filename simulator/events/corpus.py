"""Events at storm volume: a Hypothesis-built corpus per channel, varied by a fast path.

Hypothesis draws a few hundred events per second (each draw is a whole test case), storms need
tens of thousands. So Hypothesis builds a small, seeded, diverse corpus per channel once (which
optional fields are present, edge values in `edge` mode), and `EventSource.next()` produces the
volume from it: a fresh eventId (a UUID4 from a seeded RNG: unique, reproducible), the current
timestamp, and in `realistic` mode new business values from the same M3 domain (order numbers,
amounts with two decimals, consistent stock figures), serialized with orjson. The storm still
validates every event (~6 µs each), and the tests validate samples of both modes.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from simulator.events import generate as gen
from simulator.events.contract import Contract, load_contract

Varier = Callable[[dict[str, Any], Callable[[], float], str, int], None]


@dataclass(frozen=True, slots=True)
class Generated:
    channel: str
    event_id: str
    payload: dict[str, Any]
    body: bytes


@functools.lru_cache(maxsize=64)
def _corpus(
    channel: str, mode: str, size: int, seed: int, tenant: str | None, contract: Contract
) -> tuple[dict[str, Any], ...]:
    return tuple(gen.draw_examples(channel, mode, size, seed, contract=contract, tenant=tenant))


def parse_weights(text: str | None, channels: list[str]) -> dict[str, float]:
    """`order/synced=70,customer/synced=30` (or `order/synced,invoice/synced`: even)."""
    if not text:
        return dict.fromkeys(channels, 1.0)
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        if name not in channels:
            raise ValueError(f"unknown channel {name!r}; the contract has {', '.join(channels)}")
        try:
            out[name] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"weight of {name} must be a number, not {weight!r}") from None
        if out[name] < 0:
            raise ValueError(f"weight of {name} must not be negative")
    if not out or sum(out.values()) <= 0:
        raise ValueError("the channel weights add up to nothing")
    return out


class EventSource:
    """`next()` -> a valid Generated event; same seed, same sequence of channels and values.

    `fresh_ids` draws the eventIds from OS entropy instead: a storm repeated with the same seed
    sends the same business values but new event ids (consumers deduplicate by eventId).
    """

    def __init__(
        self,
        weights: dict[str, float] | None = None,
        mode: str = "realistic",
        seed: int = 0,
        *,
        tenant: str | None = None,
        corpus_size: int = 40,
        contract: Contract | None = None,
        clock: Callable[[], float] = time.time,
        fresh_ids: bool = False,
    ) -> None:
        self.contract = contract or load_contract()
        weights = weights or dict.fromkeys(self.contract.channels, 1.0)
        self.mode, self.clock = mode, clock
        self.channels = [c for c, w in weights.items() if w > 0]
        self.corpus = {
            c: _corpus(c, mode, corpus_size, seed + i, tenant, self.contract)
            for i, c in enumerate(self.channels)
        }
        rng = random.Random(seed)
        self._random = rng.random
        # fresh_ids: same payloads, new eventIds each run (storms; consumers deduplicate by id)
        self._bits = random.Random(os.urandom(16) if fresh_ids else f"ids-{seed}").getrandbits
        self._pattern = _pattern(weights, self.channels, rng)
        self._i = 0
        self._ms = -1
        self._stamp = ""
        self._numbers = itertools.count(1_000_000_000 + rng.randrange(50_000_000))
        self._variers: dict[str, Varier | None] = {
            c: _VARIERS.get(self.contract.channels[c].document) if mode == "realistic" else None
            for c in self.channels
        }

    def _now(self) -> str:
        ms = int(self.clock() * 1000)
        if ms != self._ms:
            self._ms = ms
            self._stamp = (
                datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            )
        return self._stamp

    def _uuid(self) -> str:
        h = "%032x" % self._bits(128)  # noqa: UP031 (faster than an f-string here)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def next_payload(self) -> tuple[str, str, dict[str, Any]]:
        channel = self._pattern[self._i % len(self._pattern)]
        self._i += 1
        corpus = self.corpus[channel]
        payload = dict(corpus[int(self._random() * len(corpus))])
        event_id = self._uuid()
        payload["eventId"] = event_id
        stamp = self._now()
        if "timestamp" in payload or self.mode == "realistic":
            payload["timestamp"] = stamp
        vary = self._variers[channel]
        data = payload.get("data")
        if vary is not None and isinstance(data, dict):
            data = payload["data"] = dict(data)
            vary(data, self._random, stamp, next(self._numbers))
        return channel, event_id, payload

    def next(self) -> Generated:
        channel, event_id, payload = self.next_payload()
        return Generated(channel, event_id, payload, orjson.dumps(payload))


def _pattern(weights: dict[str, float], channels: list[str], rng: random.Random) -> list[str]:
    """1,000 picks in exact proportion to the weights, shuffled: cheaper than a draw each."""
    total = sum(weights[c] for c in channels)
    out = [c for c in channels for _ in range(round(1000 * weights[c] / total))] or channels
    rng.shuffle(out)
    return out


def _pick(values: tuple[str, ...], r: Callable[[], float]) -> str:
    return values[int(r() * len(values))]


def _customer_number(r: Callable[[], float]) -> str:
    return f"C{10_000 + int(r() * 5_000)}"


def _vary_customer(d: dict[str, Any], r: Callable[[], float], stamp: str, n: int) -> None:
    d["customerNumber"] = _customer_number(r)
    if "currency" in d:
        d["currency"] = _pick(gen.CURRENCIES, r)
    if "country" in d:
        d["country"] = _pick(gen.COUNTRIES, r)
    for name in ("lastModified", "deletionDate"):
        if name in d:
            d[name] = stamp


def _vary_order(d: dict[str, Any], r: Callable[[], float], stamp: str, n: int) -> None:
    d["orderNumber"] = str(n)
    d["customerNumber"] = _customer_number(r)
    d["totalAmount"] = int(r() * 2_000_000) / 100
    if "orderStatus" in d:
        d["orderStatus"] = _pick(gen.ORDER_STATUSES, r)
    if "lineCount" in d:
        d["lineCount"] = 1 + int(r() * 40)
    if "orderDate" in d:
        d["orderDate"] = stamp[:10]


def _vary_invoice(d: dict[str, Any], r: Callable[[], float], stamp: str, n: int) -> None:
    d["invoiceNumber"] = str(n)[1:]
    d["customerNumber"] = _customer_number(r)
    d["amount"] = int(r() * 2_000_000) / 100


def _vary_inventory(d: dict[str, Any], r: Callable[[], float], stamp: str, n: int) -> None:
    d["partNumber"] = f"ITM{1 + int(r() * 20_000):05d}"
    on_hand = int(r() * 100_000)
    allocated = int(r() * (on_hand + 1))
    d.update(onHand=on_hand, allocated=allocated, available=on_hand - allocated)
    if "lastTransactionDate" in d:
        d["lastTransactionDate"] = stamp


_VARIERS: dict[str, Varier] = {
    "SyncCustomerPartyMaster": _vary_customer,
    "DeleteCustomerPartyMaster": _vary_customer,
    "SyncSalesOrder": _vary_order,
    "SyncInvoice": _vary_invoice,
    "SyncInventory": _vary_inventory,
}
