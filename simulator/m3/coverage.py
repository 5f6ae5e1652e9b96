"""The coverage table: what ionsim simulates, per program, next to what M3 has.

A user deciding whether ionsim can stand in for M3 in their tests needs to see the gaps, not only
the features, so every program row carries its known limitations.
"""

from __future__ import annotations

from collections.abc import Callable

from simulator.m3.definitions import Catalog


def _cell(text: str) -> str:
    """Markdown table cells cannot hold a pipe or a line break."""
    return text.replace("|", "\\|").replace("\n", " ").strip()


def coverage_table(catalog: Catalog, simulated: Callable[[str, str], bool]) -> str:
    """A Markdown table (simulated / described / known transactions per program) and details.

    "Known" counts every transaction the program has in M3 (generic ones included), "described"
    those whose fields ionsim knows, "simulated" those with behaviour; `simulated(program,
    transaction)` comes from the handler registry.
    """
    programs = sorted(catalog.programs.values(), key=lambda p: p.name)
    rows = [
        "| program | description | simulated | described | known | limitations |",
        "|---|---|---:|---:|---:|---|",
    ]
    details: list[str] = []
    totals = [0, 0, 0]
    for p in programs:
        names = list(p.transactions)
        done = [t for t in names if simulated(p.name, t)]
        described = sum(1 for t in p.transactions.values() if t.described)
        totals = [totals[0] + len(done), totals[1] + described, totals[2] + len(names)]
        limits = "; ".join(_cell(x) for x in p.limitations) or "-"
        rows.append(
            f"| {p.name} | {_cell(p.description)} | {len(done)} | {described} | {len(names)} "
            f"| {limits} |"
        )
        details.append(f"- **{p.name}**: {', '.join(done) if done else '(none)'}")
    rows.append(f"| **total** | | {totals[0]} | {totals[1]} | {totals[2]} | |")
    return "\n".join([*rows, "", "Simulated transactions:", "", *details]) + "\n"
