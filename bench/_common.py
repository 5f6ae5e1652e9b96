"""Shared bench plumbing: start a server process on a pinned core, drive it with wrk, print tables.

Benchmarks are not tests: they print numbers, compare against a bare baseline measured in the
same run, and stop by themselves (bounded duration, loopback only).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

SERVER_CPU = "0"
LOAD_CPU = "1"


def pinned(cmd: Sequence[str], cpu: str) -> list[str]:
    """Pins a process to one core when taskset exists and the machine has two or more."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *cmd]
    return list(cmd)


@contextmanager
def server(cmd: Sequence[str], ready_prefix: str = "ionsim ready on ") -> Iterator[str]:
    """Runs a server that prints `<ready_prefix>URL` on stdout; yields the URL."""
    proc = subprocess.Popen(
        pinned(cmd, SERVER_CPU), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith(ready_prefix):
            raise RuntimeError(f"server did not start: {line!r}")
        url = line[len(ready_prefix) :].strip()
        wait_http(url + "/_sim/health" if "ionsim" in ready_prefix else url + "/")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def wait_http(url: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(
    url: str,
    seconds: int,
    connections: int = 32,
    headers: dict[str, str] | None = None,
    threads: int = 1,
) -> dict[str, float]:
    """Runs wrk on the load core; returns requests/s and latency percentiles in ms."""
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for this benchmark: apt-get install wrk")
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(
        pinned([*cmd, url], LOAD_CPU), capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {p: _ms(re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)) for p in ("50", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": lat["50"],
        "p99": lat["99"],
        "non2xx": float(errors.group(1)) if errors else 0.0,
    }


def _ms(m: re.Match[str] | None) -> float:
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([f"\n{title}", line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _fmt(c: object) -> str:
    if isinstance(c, float):
        return f"{c:,.0f}" if c >= 100 else f"{c:.3f}" if c < 1 else f"{c:.2f}"
    return str(c)
