"""Tenant start-up and isolation cost: what a fresh tenant per test costs a test suite.

Measures, in one run:

1. creating a tenant (and deleting it) with the minimal and the demo seed: `POST /_sim/tenants`
   over a real socket (server in a thread), through the in-process ASGI transport, and the bare
   `Simulator.create_tenant` call;
2. a pytest session of 100 trivial tests that each take `ionsim_tenant` against 100 plain tests,
   in the same session (each test timed by a hook, setup to teardown), so the difference is the
   per-test isolation overhead; the session's one-off server start is reported apart. Both in
   thread mode and in-process mode.

    python bench/bench_tenants.py [--n 200] [--tests 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table

CONFTEST = """
import json, os, time
import pytest

TIMES = {}

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    t = time.perf_counter()
    yield
    TIMES[item.nodeid] = time.perf_counter() - t

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_TIMES"], "w") as f:
        json.dump(TIMES, f)
"""


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.95) - 1]


def bench_create(n: int) -> list[list[object]]:
    from simulator.config import TenantSpec
    from simulator.harness import start_inprocess, start_thread

    rows: list[list[object]] = []
    for start in (start_thread, start_inprocess):
        with start() as srv:
            for seed in ("minimal", "demo"):
                srv.new_tenant(seed).delete()  # warm: seed files parsed once per server
                names: list[str] = []

                def create(srv: object = srv, seed: str = seed, names: list[str] = names) -> None:
                    names.append(srv.new_tenant(seed).name)  # type: ignore[attr-defined]

                created = timed(create, n)
                deleted = timed(
                    lambda srv=srv, names=names: srv.admin.delete_tenant(names.pop()), n
                )
                how = (
                    "POST /_sim/tenants (socket)"
                    if srv.mode == "thread"
                    else "POST, in-process ASGI"
                )
                rows.append(
                    [
                        how,
                        seed,
                        statistics.median(created),
                        p95(created),
                        statistics.median(deleted),
                    ]
                )
            if srv.mode == "inprocess":
                sim = srv.app.state.sim
                for seed in ("minimal", "demo"):
                    names = []

                    def direct(
                        sim: object = sim, seed: str = seed, names: list[str] = names
                    ) -> None:
                        name = f"B{len(names):05d}_{seed}"
                        sim.create_tenant(TenantSpec(name, seed))  # type: ignore[attr-defined]
                        names.append(name)

                    made = timed(direct, n)
                    gone = timed(lambda sim=sim, names=names: sim.delete_tenant(names.pop()), n)
                    rows.append(
                        [
                            "Simulator.create_tenant",
                            seed,
                            statistics.median(made),
                            p95(made),
                            statistics.median(gone),
                        ]
                    )
    return rows


def bench_suite(tests: int, mode_args: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "conftest.py").write_text(CONFTEST)
        (d / "test_a_plain.py").write_text(
            f"import pytest\n\n@pytest.mark.parametrize('i', range({tests}))\n"
            "def test_plain(i, tmp_path):\n    assert i >= 0\n"
        )
        (d / "test_b_tenant.py").write_text(
            "import pytest\n\ndef test_000_start(ionsim_server):\n    pass\n\n"
            f"@pytest.mark.parametrize('i', range({tests}))\n"
            "def test_tenant(i, tmp_path, ionsim_tenant):\n    assert ionsim_tenant.name\n"
        )
        (d / "test_c_end.py").write_text("def test_end():\n    pass\n")
        out = d / "times.json"
        env = {**os.environ, "BENCH_TIMES": str(out)}
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *mode_args],
            cwd=d,
            env=env,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - t
        times = json.loads(out.read_text())
    plain = sum(v for k, v in times.items() if "test_plain[" in k)
    tenant = sum(v for k, v in times.items() if "test_tenant[" in k)
    start = next(v for k, v in times.items() if "test_000_start" in k)
    stop = next(v for k, v in times.items() if "test_end" in k)
    return {"plain": plain, "tenant": tenant, "start": start, "stop": stop, "wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=200, help="tenants created per row")
    ap.add_argument("--tests", type=int, default=100, help="tests per suite")
    args = ap.parse_args()

    print(
        table(
            f"Creating a tenant (median of {args.n}, ms)",
            ["how", "seed", "create median", "create p95", "delete median"],
            bench_create(args.n),
        )
    )
    rows = []
    for mode, extra in (("thread", []), ("in-process", ["--ionsim-inprocess"])):
        r = bench_suite(args.tests, extra)
        rows.append(
            [
                mode,
                r["plain"] * 1000,
                r["tenant"] * 1000,
                (r["tenant"] - r["plain"]) * 1000,
                (r["tenant"] - r["plain"]) * 1000 / args.tests,
                r["start"] * 1000,
                r["stop"] * 1000,
                r["wall"],
            ]
        )
    print(
        table(
            f"{args.tests} tests with ionsim_tenant vs {args.tests} plain tests, same session (ms)",
            [
                "server",
                "plain total",
                "tenant total",
                "overhead",
                "per test",
                "server start",
                "server stop",
                "session wall s",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
