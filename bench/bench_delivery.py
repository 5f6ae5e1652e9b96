"""Webhook delivery throughput: ionsim's Sender vs aiohttp vs a bare raw sender, and the hub.

    python bench/bench_delivery.py [--count 20000] [--concurrency 32] [--loop asyncio|uvloop]
        [--json FILE]

A fast receiver (raw asyncio + httptools, uvloop, keep-alive, answers 200 with a small JSON
body) runs in a separate process so client and server each get a core. Every client POSTs the
same ~600-byte JSON body `--count` times over `--concurrency` keep-alive connections; each row
is capped at `--max-seconds`. The last row pushes events through the whole `DeliveryHub`
(publish -> per-key FIFO -> worker -> Sender -> 2xx -> counters), which `ionsim storm` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BODY = orjson.dumps(
    {
        "eventId": "00000000-0000-4000-8000-000000000000",
        "documentType": "SyncSalesOrder",
        "tenantId": "DEMO_TST",
        "timestamp": "2024-05-01T10:15:30.000Z",
        "logicalId": "lid://infor.m3.m3",
        "correlationId": "DEMO_TST-42",
        "data": {"orderNumber": "0000001234", "customerNumber": "C10001", "note": "x" * 340},
    }
)
RESPONSE = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
)


def _serve(port_out: mp.Queue) -> None:  # type: ignore[type-arg]
    import httptools
    import uvloop

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport
            self.p = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.p.feed_data(data)

        def on_message_complete(self) -> None:
            self.t.write(RESPONSE)  # type: ignore[attr-defined]

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", 0, backlog=512)
        port_out.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    uvloop.run(main())


async def _drive(send: Callable[[], Awaitable[None]], count: int, conc: int, cap: float) -> tuple:
    done = 0
    deadline = time.perf_counter() + cap

    async def lane(n: int) -> None:
        nonlocal done
        for _ in range(n):
            if time.perf_counter() > deadline:
                return
            await send()
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(lane(count // conc) for _ in range(conc)))
    return done, time.perf_counter() - t0


async def bench_sender(url: str, a: argparse.Namespace) -> tuple:
    from simulator.events.sender import Sender

    sender = Sender(limit_per_origin=a.concurrency)
    headers = {"Content-Type": "application/json", "X-Ionsim-Event-Id": "e1"}

    async def one() -> None:
        status, _ = await sender.send(url, BODY, headers)
        assert status == 200

    try:
        return await _drive(one, a.count, a.concurrency, a.max_seconds)
    finally:
        await sender.close()


async def bench_aiohttp(url: str, a: argparse.Namespace) -> tuple | None:
    try:
        import aiohttp
    except ImportError:
        return None
    conn = aiohttp.TCPConnector(limit=a.concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one() -> None:
            async with session.post(
                url, data=BODY, headers={"Content-Type": "application/json"}
            ) as r:
                await r.read()
                assert r.status == 200

        return await _drive(one, a.count, a.concurrency, a.max_seconds)


async def bench_bare(port: int, a: argparse.Namespace) -> tuple:
    """The floor: prebuilt request bytes, a fixed-size answer, no parsing, no pool, no timeout."""
    request = (
        b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    )
    loop = asyncio.get_running_loop()

    class Bare(asyncio.Protocol):
        def connection_made(self, t: asyncio.BaseTransport) -> None:
            self.t, self.buf, self.fut = t, 0, None

        def data_received(self, data: bytes) -> None:
            self.buf += len(data)
            if self.buf >= len(RESPONSE):
                self.buf -= len(RESPONSE)
                self.fut.set_result(None)

    conns = [
        (await loop.create_connection(Bare, "127.0.0.1", port))[1] for _ in range(a.concurrency)
    ]
    free = list(conns)

    async def one() -> None:
        c = free.pop()
        c.fut = loop.create_future()
        c.t.write(request)
        await c.fut
        free.append(c)

    try:
        return await _drive(one, a.count, a.concurrency, a.max_seconds)
    finally:
        for c in conns:
            c.t.close()


async def bench_hub(url: str, a: argparse.Namespace) -> tuple:
    from simulator import load_config
    from simulator.events.model import Event
    from simulator.runtime import Simulator

    sim = Simulator(load_config(env={}, extra={"subscriptions": [{"url": url}]}))
    hub = sim.hub
    hub.workers = a.concurrency
    await hub.start()
    payload = orjson.loads(BODY)
    t0 = time.perf_counter()
    deadline = t0 + a.max_seconds
    for i in range(a.count):
        await hub.put(Event(f"e{i}", "order/synced", "DEMO_TST", "SyncSalesOrder", f"K{i % 500}",
                            payload, entity="100_AAA"))  # fmt: skip
    while hub.pending and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    delivered = hub.stats.by_sub["sub-1"]["delivered"]
    await hub.stop(1.0)
    return delivered, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--max-seconds", type=float, default=20.0)
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    ap.add_argument("--json", metavar="FILE", help="also write the table as JSON (run_all.py)")
    a = ap.parse_args()
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    server = mp.Process(target=_serve, args=(q,), daemon=True)
    server.start()
    port = q.get(timeout=10)
    url = f"http://127.0.0.1:{port}/hook"
    with socket.create_connection(("127.0.0.1", port)):
        pass
    runner = asyncio.run
    if a.loop == "uvloop":
        import uvloop

        runner = uvloop.run
    rows = [
        ("bare raw sender (floor)", lambda: bench_bare(port, a)),
        ("ionsim Sender", lambda: bench_sender(url, a)),
        ("aiohttp ClientSession", lambda: bench_aiohttp(url, a)),
        ("DeliveryHub end to end", lambda: bench_hub(url, a)),
    ]
    print(f"{len(BODY)}-byte JSON POSTs, {a.count} per row, {a.concurrency} connections, "
          f"{a.loop} loop")  # fmt: skip
    print(f"{'client':<28}{'requests':>10}{'seconds':>10}{'per second':>12}")
    done: list[list[object]] = []
    for name, make in rows:
        result = runner(make())
        if result is None:
            print(f"{name:<28}{'(not installed)':>32}")
            continue
        n, secs = result
        print(f"{name:<28}{n:>10}{secs:>10.2f}{n / secs:>12,.0f}")
        floor = done[0][3] if done else n / secs
        done.append([name, n, secs, n / secs, (n / secs) / floor])
    server.terminate()
    if a.json:
        title = (f"Webhook delivery, {len(BODY)}-byte POSTs, {a.concurrency} connections, "
                 f"{a.loop} loop")  # fmt: skip
        header = ["client", "requests", "seconds", "per second", "ratio"]
        doc = [{"title": title, "header": header, "rows": done}]
        Path(a.json).write_text(json.dumps(doc), encoding="utf-8")


if __name__ == "__main__":
    main()
