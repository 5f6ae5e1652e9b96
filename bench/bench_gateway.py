"""Gateway benchmark: authenticated CRS610MI/GetBasicData (v2) through the whole stack vs a bare
Starlette route returning the same bytes, measured in the same run with wrk on the other core.
Also LstByNumber latency as the customer table grows, and memory for 1,000,000 customers.

    python bench/bench_gateway.py [--seconds 3] [--rounds 7] [--connections 32] [--skip-memory]
                                  [--json F]

`--json F` also writes the tables as JSON (`[{"title", "header", "rows"}]`) for run_all.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import server, table, wrk

PY = sys.executable
TABLES: list[dict[str, object]] = []


def show(title: str, header: list[str], rows: list[list[object]]) -> None:
    """Prints a table and keeps it for `--json`."""
    TABLES.append({"title": title, "header": header, "rows": rows})
    print(table(title, header, rows))


URL_PATH = "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData?CUNO=C10001"


def token(base: str) -> str:
    ion = json.load(urllib.request.urlopen(f"{base}/_sim/tenants/DEMO_TST/ionapi"))
    form = urllib.parse.urlencode(
        {
            "grant_type": "password",
            "username": ion["saak"],
            "password": ion["sask"],
            "client_id": ion["ci"],
            "client_secret": ion["cs"],
        }
    ).encode()
    return str(json.load(urllib.request.urlopen(ion["pu"] + ion["ot"], data=form))["access_token"])


def throughput(seconds: int, connections: int, rounds: int) -> None:
    """Both servers run at once; wrk drives one at a time, alternating for `rounds` rounds.

    On a shared (virtual) machine a neighbour's load moves both numbers by a third from one
    run to the next: alternating short rounds exposes both servers to the same drift, and the
    medians (and the median of the per-round ratios) are repeatable where one long run each
    was not."""
    with server([PY, "-m", "simulator", "serve", "--port", "0", "--no-access-log"]) as base:
        auth = {"Authorization": f"Bearer {token(base)}"}
        req = urllib.request.Request(base + URL_PATH, headers=auth)
        body = urllib.request.urlopen(req).read().decode()
        bare_cmd = [PY, str(Path(__file__).parent / "bare_app.py"), body]
        with server(bare_cmd, "bare ready on ") as bare_base:
            # The same request to both: the bearer JWT is ~900 bytes of header to parse.
            urls = {"sim": base + URL_PATH, "bare": bare_base + URL_PATH}
            for url in urls.values():
                wrk(url, 2, connections, auth)  # warm-up
            runs: dict[str, list[dict[str, float]]] = {"sim": [], "bare": []}
            for i in range(rounds):
                for name in ("sim", "bare") if i % 2 == 0 else ("bare", "sim"):
                    runs[name].append(wrk(urls[name], seconds, connections, auth))
    med = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
        for name, rs in runs.items()
    }
    ratios = [s["rps"] / b["rps"] for s, b in zip(runs["sim"], runs["bare"], strict=True)]
    rows = [
        ["bare Starlette route (same bytes)", *med["bare"].values(), 1.0, ""],
        [
            "ionsim GetBasicData, bearer token",
            *med["sim"].values(),
            statistics.median(ratios),
            f"{min(ratios):.2f}-{max(ratios):.2f}",
        ],
    ]
    show(
        f"MI v2 throughput ({connections} connections, median of {rounds} alternating "
        f"{seconds} s rounds, wrk on the other core)",
        ["stack", "req/s", "p50 ms", "p99 ms", "ratio", "ratio range"],
        rows,
    )
    bad = sum(r["non2xx"] for r in runs["sim"])
    if bad:
        print(f"warning: {bad:.0f} non-2xx answers from ionsim")


def list_latency() -> None:
    import httpx

    from simulator import ManualClock, create_app, load_config
    from simulator.m3.tables import table as m3table

    rows = []
    for n in (100, 100_000):
        app = create_app(load_config(env={}, access_log=False), clock=ManualClock())
        state = app.state.sim.tenants["DEMO_TST"].state
        customers = m3table(state, "customers")
        for i in range(n):
            customers.insert(
                {
                    "CONO": "100",
                    "CUNO": f"B{i:08d}",
                    "CUNM": f"Customer {i}",
                    "CUA1": "Street 1",
                    "STAT": "20",
                    "CUCD": "SEK",
                }
            )
        timings = asyncio.run(_time_list(app, httpx, n))
        rows.append([f"{n:,} customers", statistics.median(timings), _p99(timings)])
    show(
        "CRS610MI/LstByNumber maxrecs=10 in-process (ASGI), latency per call",
        ["table size", "p50 ms", "p99 ms"],
        rows,
    )


async def _time_list(app: object, httpx: object, n: int) -> list[float]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:  # type: ignore[attr-defined]
        ion = (await c.get("/_sim/tenants/DEMO_TST/ionapi")).json()
        tok = (
            await c.post(
                "/DEMO_TST/as/token.oauth2",
                data={
                    "grant_type": "password",
                    "username": ion["saak"],
                    "password": ion["sask"],
                    "client_id": ion["ci"],
                    "client_secret": ion["cs"],
                },
            )
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {tok}"}
        out = []
        for i in range(600):
            start = f"B{(i * 7919) % n:08d}"
            t = time.perf_counter()
            r = await c.get(
                "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/LstByNumber",
                params={"CUNO": start, "maxrecs": "10"},
                headers=h,
            )
            out.append((time.perf_counter() - t) * 1000)
            assert r.json()["results"][0]["records"]
        return out[100:]


def _p99(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.99) - 1]


def memory() -> None:
    from simulator.m3.store import TenantState
    from simulator.m3.tables import table as m3table

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    state = TenantState("MEM")
    customers = m3table(state, "customers")
    before = rss_mb()
    t = time.perf_counter()
    for i in range(1_000_000):
        customers.insert(
            {
                "CONO": "100",
                "DIVI": "AAA",
                "CUNO": f"M{i:09d}",
                "CUNM": f"Customer number {i}",
                "CUA1": f"Street {i % 997}",
                "TOWN": "Stockholm",
                "PONO": f"{10000 + i % 89999}",
                "CSCD": "SE",
                "CUCD": "SEK",
                "LNCD": "SE",
                "STAT": "20",
                "CUTP": "0",
                "RGDT": "20240101",
                "LMDT": "20240101",
                "CHNO": "1",
            }
        )
    secs = time.perf_counter() - t
    used = rss_mb() - before
    show(
        "Memory for 1,000,000 customers (15 non-empty fields each)",
        ["rows", "MiB", "bytes/row", "insert s"],
        [["1,000,000", used, used * 2**20 / 1e6, secs]],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=3, help="length of one wrk round")
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds per server")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--json", metavar="FILE", help="also write the tables as JSON")
    args = ap.parse_args()
    throughput(args.seconds, args.connections, args.rounds)
    list_latency()
    if not args.skip_memory:
        memory()
    if args.json:
        Path(args.json).write_text(json.dumps(TABLES), encoding="utf-8")


if __name__ == "__main__":
    main()
