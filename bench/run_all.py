"""Runs every benchmark in bench/ and prints one combined table.

    python bench/run_all.py            # full run (minutes), the numbers in docs/benchmarks.md
    python bench/run_all.py --quick    # short settings, a smoke test of the suite (about 1 minute)
    python bench/run_all.py --only gateway,startup --json results.json --markdown results.md

Each benchmark is its own process (they pin cores and start servers). A benchmark that accepts
`--json FILE` hands over its tables as JSON; for the others the printed tables are parsed
(`_common.table` pipe tables, or fixed-width columns whose header labels are right-aligned
over their values). Benchmarks missing from bench/ are skipped; one that fails is reported
and the rest still run. The combined table gives, per row, the headline number and its ratio
to the first row of the same table (the baseline measured in the same run: bare Starlette,
the bare sender, `orjson.loads`, ...) so results compare across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable

# name -> (script, full args, quick args); the order is the order of the report.
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "gateway": ("bench_gateway.py", [], ["--rounds", "3", "--skip-memory"]),
    "startup": ("bench_startup.py", [], ["--runs", "3"]),
    "tenants": ("bench_tenants.py", [], ["--n", "30", "--tests", "20"]),
    "generate": ("bench_generate.py", [], ["--count", "20000", "--naive-seconds", "1"]),
    "storm": ("bench_storm.py", [], ["--seconds", "3"]),
    "delivery": ("bench_delivery.py", [], ["--count", "4000"]),
    "validate": ("bench_validate.py", [], ["--events", "4000", "--repeat", "2"]),
}
# Headline column per table, first match wins (throughput first, then latency, then size).
HEADLINE = ("req/s", "events/s", "per second", "median ms", "create median", "overhead",
            "per test", "p50 ms", "MiB")  # fmt: skip
HIGHER_IS_BETTER = ("req/s", "events/s", "per second")


@dataclass
class Table:
    bench: str
    title: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def number(cell: Any) -> float | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        return float(cell)
    text = str(cell).strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


# --- parsing printed tables -----------------------------------------------------------------


def parse_pipe_tables(bench: str, text: str) -> list[Table]:
    """`_common.table` output: a title line, `| a | b |`, `|---|`, rows."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("|-") and i >= 2 and lines[i - 1].startswith("|"):
            header = [c.strip() for c in lines[i - 1].strip("|").split("|")]
            rows = []
            for row in lines[i + 1 :]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip("|").split("|")])
            out.append(Table(bench, lines[i - 2].strip(), header, rows))
    return out


_LABEL = re.compile(r"\S+(?: \S+)*")


def parse_fixed_table(bench: str, text: str) -> list[Table]:
    """Fixed-width columns: a header of labels separated by 2+ spaces; the first column is a
    left-aligned name, the last may be a left-aligned note, the others end where their label
    ends (right-aligned). Lines before the header form the title."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for h, header in enumerate(lines):
        labels = [(m.group(), m.start(), m.end()) for m in _LABEL.finditer(header)]
        if len(labels) < 3 or not any(lab[0] in HEADLINE for lab in labels):
            continue
        rows = []
        for line in lines[h + 1 :]:
            cells = [line[: labels[1][2]].rstrip()]
            name, _, first = cells[0].rpartition(" ")
            cells = [name.strip(), first]
            for k in range(2, len(labels)):
                end = labels[k][2] if k < len(labels) - 1 else len(line)
                start = labels[k - 1][2] if k < len(labels) - 1 else labels[k][1]
                cells.append(line[start:end].strip())
            rows.append(cells)
        title = " / ".join(lines[:h]) or bench
        return [Table(bench, title, [lab[0] for lab in labels], rows)]
    return []


def supports_json(script: Path) -> bool:
    return "--json" in script.read_text(encoding="utf-8")


def run(name: str, script: Path, args: list[str], timeout: float) -> tuple[list[Table], str]:
    """Runs one benchmark; returns its tables and its raw output."""
    with tempfile.TemporaryDirectory() as tmp:
        out_json = Path(tmp) / "out.json"
        cmd = [PY, str(script), *args]
        use_json = supports_json(script)
        if use_json:
            cmd += ["--json", str(out_json)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent)
        raw = proc.stdout + (f"\n[stderr]\n{proc.stderr[-2000:]}" if proc.returncode else "")
        if proc.returncode != 0:
            raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
        if use_json and out_json.is_file():
            doc = json.loads(out_json.read_text(encoding="utf-8"))
            return [Table(name, t["title"], t["header"], t["rows"]) for t in doc], raw
    tables = parse_pipe_tables(name, proc.stdout) or parse_fixed_table(name, proc.stdout)
    return tables, raw


# --- the combined table ---------------------------------------------------------------------


def headline(table: Table) -> int | None:
    for label in HEADLINE:
        for i, h in enumerate(table.header):
            if h == label and i > 0:
                return i
    return None


def combined_rows(tables: list[Table]) -> list[list[str]]:
    rows = []
    for t in tables:
        col = headline(t)
        ratio_col = t.header.index("ratio") if "ratio" in t.header else None
        base = number(t.rows[0][col]) if col is not None and t.rows else None
        for r in t.rows:
            value = number(r[col]) if col is not None and col < len(r) else None
            ratio = number(r[ratio_col]) if ratio_col is not None else None
            if ratio is None and value is not None and base:
                ratio = value / base
            rest = [f"{h} {fmt(c)}" for h, c in zip(t.header[1:], r[1:], strict=False)
                    if col is None or h != t.header[col]]  # fmt: skip
            rows.append([
                t.bench,
                t.title,
                str(r[0]),
                f"{fmt(value)} {t.header[col]}" if value is not None and col is not None else "",
                f"{ratio:.2f}x" if ratio is not None else "",
                "; ".join(x for x in rest if not x.startswith("ratio ")),
            ])  # fmt: skip
    return rows


def fmt(c: Any) -> str:
    n = number(c)
    if n is None:
        return str(c)
    if abs(n) >= 100:
        return f"{n:,.0f}"
    return f"{n:.3f}" if abs(n) < 1 else f"{n:.2f}"


def render(rows: list[list[str]], header: list[str]) -> str:
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])  # fmt: skip


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "uvloop": "yes" if find_spec("uvloop") else "no",
        "httptools": "yes" if find_spec("httptools") else "no",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short settings (smoke test)")
    ap.add_argument("--only", help=f"comma list of {', '.join(BENCHMARKS)}")
    ap.add_argument("--json", metavar="FILE", help="write tables, machine and combined rows")
    ap.add_argument("--markdown", metavar="FILE", help="write the combined table as Markdown")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per benchmark")
    a = ap.parse_args()
    wanted = a.only.split(",") if a.only else list(BENCHMARKS)
    unknown = set(wanted) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmarks {sorted(unknown)}")
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    tables: list[Table] = []
    problems: dict[str, str] = {}
    for name in wanted:
        script, full, quick = BENCHMARKS[name]
        path = HERE / script
        if not path.is_file():
            problems[name] = "not in bench/ (skipped)"
            continue
        t0 = time.perf_counter()
        print(f"running {name} ({script}{' --quick' if a.quick else ''}) ...", flush=True)
        try:
            got, raw = run(name, path, quick if a.quick else full, a.timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            problems[name] = str(exc)[-300:]
            print(f"  failed: {problems[name]}", flush=True)
            continue
        if not got:
            problems[name] = "no table found in its output"
            print(raw[-1500:])
        tables += got
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    header = ["bench", "table", "row", "headline", "ratio", "other columns"]
    rows = combined_rows(tables)
    text = render(rows, header)
    print("\n" + text)
    for name, why in problems.items():
        print(f"{name}: {why}")
    if a.markdown:
        Path(a.markdown).write_text(text + "\n", encoding="utf-8")
    if a.json:
        doc = {
            "machine": info,
            "quick": a.quick,
            "tables": [t.__dict__ for t in tables],
            "combined": rows,
            "problems": problems,
        }
        Path(a.json).write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    return 1 if any("skipped" not in why for why in problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
