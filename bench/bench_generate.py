"""Event generation throughput: the corpus fast path vs the naive `from_schema(...).example()` loop.

    python bench/bench_generate.py [--count 200000] [--naive-seconds 3]

Rows, all in this one process: the naive loop (hypothesis-jsonschema's strategy, `.example()`
per event, stopped after `--naive-seconds`), Hypothesis drawing through `strategy()` inside a
`@given` (what builds the corpus), and the fast path producing serialized events with and
without validating each against the contract. Every fast-path event is valid (the validating
row counts failures: it must print 0).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.events.contract import load_contract
from simulator.events.corpus import EventSource
from simulator.events.generate import draw_examples


def naive(seconds: float) -> tuple[int, float, int]:
    from hypothesis_jsonschema import from_schema

    contract = load_contract()
    strategies = [(c, from_schema(s.schema)) for c, s in contract.channels.items()]
    n = bad = 0
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while time.perf_counter() - start < seconds:
            channel, strat = strategies[n % len(strategies)]
            payload = strat.example()
            n += 1
            try:
                import orjson

                orjson.dumps(payload)
                contract.validate(channel, payload)
            except Exception:
                bad += 1
    return n, time.perf_counter() - start, bad


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--naive-seconds", type=float, default=3.0)
    args = ap.parse_args()
    contract = load_contract()
    rows: list[tuple[str, int, float, str]] = []

    n, dt, bad = naive(args.naive_seconds)
    rows.append(("naive from_schema(...).example() loop", n, dt, f"{bad} invalid or unencodable"))

    start = time.perf_counter()
    drawn = sum(len(draw_examples(c, "realistic", 100, 1)) for c in contract.channels)
    rows.append(
        ("Hypothesis strategy() in @given (corpus)", drawn, time.perf_counter() - start, "")
    )

    for mode in ("realistic", "edge"):
        start = time.perf_counter()
        source = EventSource(mode=mode, seed=1)
        setup = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.count):
            source.next()
        rows.append(
            (
                f"fast path, {mode}",
                args.count,
                time.perf_counter() - start,
                f"corpus built in {setup:.2f} s",
            )
        )
        check = contract._check
        invalid = 0
        start = time.perf_counter()
        for _ in range(args.count):
            e = source.next()
            if check(e.channel)(e.payload) is not None:
                invalid += 1
        rows.append(
            (
                f"fast path, {mode}, each validated",
                args.count,
                time.perf_counter() - start,
                f"{invalid} invalid",
            )
        )

    print(f"{'generator':44} {'events':>9} {'seconds':>8} {'events/s':>10}  note")
    for name, count, seconds, note in rows:
        print(f"{name:44} {count:>9,} {seconds:>8.2f} {count / seconds:>10,.0f}  {note}")


if __name__ == "__main__":
    main()
