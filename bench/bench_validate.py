"""Validation cost per event: jsonschema vs ionsim's compiled checker, against `orjson.loads`.

Run: `python bench/bench_validate.py [--events 20000] [--repeat 5] [--json FILE]`. The events
are realistic payloads of every channel (the shapes the publisher emits); every validator sees
the same list in the same run, best of `--repeat`. fastjsonschema is measured when it is installed.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from simulator.events.contract import load_contract
from simulator.events.schema_check import format_checker


def realistic(rng: random.Random, n: int) -> list[tuple[str, dict[str, Any]]]:
    def base(doc: str) -> dict[str, Any]:
        return {
            "eventId": str(uuid.UUID(int=rng.getrandbits(128))),
            "documentType": doc,
            "tenantId": "DEMO_TST",
            "timestamp": f"2024-05-{rng.randint(1, 28):02d}T10:{rng.randint(0, 59):02d}:30.123Z",
            "logicalId": "lid://infor.m3.m3",
            "correlationId": f"DEMO_TST-{rng.randint(1, 10**6)}",
        }

    makers: list[Callable[[], tuple[str, dict[str, Any]]]] = [
        lambda: (
            "customer/synced",
            base("SyncCustomerPartyMaster")
            | {
                "data": {
                    "customerNumber": f"C{rng.randint(10000, 99999)}",
                    "customerName": "Bergström Sport AB",
                    "status": "20",
                    "currency": "SEK",
                    "country": "SE",
                    "addressLine1": "Kungsgatan 12",
                    "city": "Göteborg",
                    "postalCode": "41119",
                    "email": "inköp@bergstrom.example",
                    "phone": "+46 31 555 010",
                    "lastModified": "2024-05-01T10:15:30.000Z",
                }
            },
        ),
        lambda: (
            "order/synced",
            base("SyncSalesOrder")
            | {
                "data": {
                    "orderNumber": str(rng.randint(10**9, 2 * 10**9)),
                    "customerNumber": "C10001",
                    "orderDate": "2024-05-01",
                    "orderStatus": "33",
                    "totalAmount": rng.randint(1, 10**6) / 100,
                    "currency": "SEK",
                    "lineCount": rng.randint(1, 20),
                }
            },
        ),
        lambda: (
            "inventory/synced",
            base("SyncInventory")
            | {
                "data": {
                    "partNumber": "TENT-2P",
                    "warehouse": "001",
                    "onHand": float(rng.randint(0, 500)),
                    "allocated": 5.0,
                    "available": 35.0,
                    "unitOfMeasure": "PCS",
                    "lastTransactionDate": "2024-05-01T10:15:30.000Z",
                }
            },
        ),
    ]
    return [rng.choice(makers)() for _ in range(n)]


def measure(fn: Callable[[str, Any], Any], events: list[tuple[str, Any]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for channel, payload in events:
            fn(channel, payload)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    args = parser.parse_args()
    contract = load_contract()
    events = realistic(random.Random(7), args.events)
    encoded = [(c, orjson.dumps(p)) for c, p in events]
    drafts = {
        n: jsonschema.Draft7Validator(ch.schema, format_checker=format_checker())
        for n, ch in contract.channels.items()
    }
    rows: list[tuple[str, Callable[[str, Any], Any], list[tuple[str, Any]]]] = [
        ("orjson.loads (baseline)", lambda c, raw: orjson.loads(raw), encoded),
        ("jsonschema Draft7 + formats", lambda c, p: drafts[c].validate(p), events),
        ("ionsim compiled checker", contract.validate, events),
    ]
    try:
        import fastjsonschema  # type: ignore[import-not-found]

        fast = {n: fastjsonschema.compile(ch.schema) for n, ch in contract.channels.items()}
        rows.append(("fastjsonschema", lambda c, p: fast[c](p), events))
    except ImportError:
        pass
    print(f"{args.events} events, best of {args.repeat}")
    print(f"{'validator':<30} {'events/s':>12} {'µs/event':>10}")
    out: list[list[object]] = []
    for name, fn, data in rows:
        seconds = measure(fn, data, args.repeat)
        print(f"{name:<30} {args.events / seconds:>12,.0f} {seconds / args.events * 1e6:>10.2f}")
        base = out[0][1] if out else args.events / seconds
        out.append([name, args.events / seconds, seconds / args.events * 1e6,
                    (args.events / seconds) / base])  # fmt: skip
    if args.json:
        title = f"Contract validation, {args.events} events, best of {args.repeat}"
        doc = [{"title": title, "header": ["validator", "events/s", "µs/event", "ratio"],
                "rows": out}]  # fmt: skip
        Path(args.json).write_text(json.dumps(doc), encoding="utf-8")


if __name__ == "__main__":
    main()
