"""Start-up benchmark: process launch to the first 200 on the health route, ionsim vs a bare
Starlette app on the same uvicorn stack, measured in the same run (median of N launches).

    python bench/bench_startup.py [--runs 11] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table

HERE = Path(__file__).resolve().parent


def launch(cmd: list[str], prefix: str, path: str) -> float:
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line[len(prefix) :].strip()
        urllib.request.urlopen(url + path, timeout=5).read()
        return time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--json", metavar="FILE", help="also write the table as JSON (run_all.py)")
    args = ap.parse_args()
    py = sys.executable
    cases = [
        ("bare Starlette + uvicorn", [py, str(HERE / "bare_app.py")], "bare ready on ", "/"),
        (
            "ionsim serve (demo tenant)",
            [py, "-m", "simulator", "serve", "--port", "0", "--no-access-log"],
            "ionsim ready on ",
            "/_sim/health",
        ),
        (
            "ionsim serve, 5 tenants",
            [
                py,
                "-m",
                "simulator",
                "serve",
                "--port",
                "0",
                "--no-access-log",
                *[a for i in range(5) for a in ("--tenant", f"T{i}_TST")],
            ],
            "ionsim ready on ",
            "/_sim/health",
        ),
    ]
    rows = []
    base = None
    for name, cmd, prefix, path in cases:
        launch(cmd, prefix, path)  # warm the OS file cache
        times = [launch(cmd, prefix, path) for _ in range(args.runs)]
        med = statistics.median(times)
        base = base or med
        rows.append([name, med * 1000, min(times) * 1000, max(times) * 1000, med / base])
    title = f"Launch to first 200 ({args.runs} runs each)"
    header = ["process", "median ms", "min ms", "max ms", "ratio"]
    print(table(title, header, rows))
    if args.json:
        doc = [{"title": title, "header": header, "rows": rows}]
        Path(args.json).write_text(json.dumps(doc), encoding="utf-8")


if __name__ == "__main__":
    main()
