"""Storm throughput: `ionsim storm` as a CLI process vs a bare sender, to a fast local receiver.

    python bench/bench_storm.py [--rate 12000] [--seconds 10] [--concurrency 64]

The receiver (raw asyncio + httptools on uvloop, keep-alive, 200 with a small body) runs in its
own process pinned to core 1 and counts unique `X-Ionsim-Event-Id`s. Each sender runs as its
own process pinned to core 0 (taskset, when available):

- bare sender: prebuilt bodies POSTed as fast as `Sender` goes (no generation, no validation,
  no schedule): the ceiling of this machine for one process.
- `ionsim storm` at full speed (`--rate` far above the ceiling): what the storm path costs.
- `ionsim storm --rate R/s` for `--seconds`: the sustained, open-loop rate, with lateness.

"lost" = events the storm counted as sent minus unique event ids the receiver acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pinned(cmd: list[str], cpu: str) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *cmd]
    return cmd


def receiver() -> None:
    """Child process: print the port, then serve; GET /_stats answers the counts."""
    import httptools
    import uvloop

    ids: set[bytes] = set()
    count = [0]
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
    ok += b'{"ok":true}'

    class Conn(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport
            self.p = httptools.HttpRequestParser(self)
            self.url = b""
            self.eid = b""

        def data_received(self, data: bytes) -> None:
            self.p.feed_data(data)

        def on_url(self, url: bytes) -> None:
            self.url = url

        def on_header(self, name: bytes, value: bytes) -> None:
            if name.lower() == b"x-ionsim-event-id":
                self.eid = value

        def on_message_complete(self) -> None:
            if self.url == b"/_stats":
                body = json.dumps({"requests": count[0], "unique": len(ids)}).encode()
                head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                self.t.write(head + body)  # type: ignore[attr-defined]
                return
            count[0] += 1
            ids.add(self.eid)
            self.eid = b""
            self.t.write(ok)  # type: ignore[attr-defined]

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Conn, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    uvloop.run(serve())


def bare(url: str, count: int, concurrency: int) -> None:
    """Child process: POST a prebuilt ~600-byte body `count` times; print the rate."""
    import uvloop

    from simulator.events.corpus import EventSource
    from simulator.events.sender import Sender

    body = EventSource({"order/synced": 1.0}, seed=1).next().body
    headers = {"Content-Type": "application/json", "X-Ionsim-Event-Id": "bare"}

    async def run() -> None:
        sender = Sender(limit_per_origin=concurrency)
        left = [count]

        async def worker() -> None:
            while left[0] > 0:
                left[0] -= 1
                await sender.send(url, body, headers)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        print(json.dumps({"sent": count, "seconds": time.perf_counter() - start}))
        await sender.close()

    uvloop.run(run())


def stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=5) as r:
        return dict(json.loads(r.read()))


def storm_cmd() -> list[str]:
    """`ionsim storm` when cli.py registers it, else the same commands via simulator.qa_cli."""
    from simulator.cli import build_parser

    registered = "storm" in build_parser().format_help()
    return [sys.executable, "-m", "simulator" if registered else "simulator.qa_cli", "storm"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=12_000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    me = [sys.executable, str(Path(__file__).resolve())]
    recv = subprocess.Popen(
        pinned([*me, "--child-receiver"], "1"), stdout=subprocess.PIPE, text=True
    )
    rows = []
    try:
        assert recv.stdout is not None
        port = int(recv.stdout.readline())
        url = f"http://127.0.0.1:{port}/ion"
        n = int(args.rate * args.seconds)
        out = subprocess.run(
            pinned([*me, "--child-bare", url, str(n), str(args.concurrency)], "0"),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        b = json.loads(out)
        rows.append(("bare sender (prebuilt body)", b["sent"], b["seconds"], "-", "-", "-"))
        runs = [
            ("ionsim storm, full speed", ["--rate", "1000000/s", "--count", str(n)]),
            (
                f"ionsim storm --rate {args.rate:.0f}/s",
                ["--rate", f"{args.rate}/s", "--duration", f"{args.seconds}s"],
            ),
        ]
        for name, extra in runs:
            before = stats(port)["unique"]
            with tempfile.TemporaryDirectory() as tmp:
                report = Path(tmp) / "r.json"
                cmd = [
                    *storm_cmd(),
                    "--target",
                    url,
                    "--concurrency",
                    str(args.concurrency),
                    "--max-error-rate",
                    "0",
                    "--report",
                    str(report),
                    *extra,
                ]
                subprocess.run(pinned(cmd, "0"), capture_output=True, check=False, cwd=ROOT)
                r = json.loads(report.read_text())
            got = stats(port)["unique"] - before
            c = r["counts"]
            rows.append(
                (
                    name,
                    c["sent"],
                    r["elapsedSeconds"],
                    c["2xx"],
                    c["sent"] - got,
                    f"{r['latencyMs']['p99']:.1f} / {r['latenessMs']['max']:.1f}",
                )
            )
    finally:
        recv.terminate()
        recv.wait(5)
    print(
        f"{'sender':34} {'sent':>9} {'seconds':>8} {'events/s':>9} {'2xx':>9} {'lost':>5}  "
        "p99 latency / max lateness (ms)"
    )
    for name, sent, sec, ok, lost, lat in rows:
        print(f"{name:34} {sent:>9,} {sec:>8.2f} {sent / sec:>9,.0f} {ok!s:>9} {lost!s:>5}  {lat}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-receiver":
        receiver()
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-bare":
        bare(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
