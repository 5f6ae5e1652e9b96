"""What storms and verifications leave behind: a summary table, a JSON report, JUnit XML.

JUnit XML because every CI system renders it (a failed storm shows as a failed test case with
the numbers in its message); the JSON report carries everything for dashboards and diffs.
"""

from __future__ import annotations

import contextlib
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from simulator.events.storm import StormResult


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def storm_json(res: StormResult) -> dict[str, Any]:
    lat = sorted(res.latencies)
    late = sorted(res.lateness)
    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    counts: dict[str, Any] = {
        "sent": res.sent,
        "2xx": res.ok,
        "4xx": res.client_errors,
        "5xx": res.server_errors,
        "otherStatus": res.other_status,
        "timeouts": res.timeouts,
        "errors": res.errors,
        "retried": res.retried,
        "deadLettered": res.dead_lettered,
        "invalidGenerated": res.invalid,
    }
    if res.delivered is not None:
        counts["delivered"] = res.delivered
    return {
        "tool": "ionsim storm",
        "config": res.config,
        "elapsedSeconds": round(res.elapsed, 3),
        "counts": counts,
        "byChannel": dict(res.by_channel),
        "rate": {"target": res.config["rate"], "achieved": round(res.achieved_rate, 1)},
        "latencyMs": {
            "p50": ms(percentile(lat, 50)),
            "p95": ms(percentile(lat, 95)),
            "p99": ms(percentile(lat, 99)),
            "max": ms(lat[-1] if lat else 0.0),
        },
        "latenessMs": {"p99": ms(percentile(late, 99)), "max": ms(late[-1] if late else 0.0)},
        "errorRate": round(res.error_rate, 6),
        "maxErrorRate": res.config["max_error_rate"],
        "errorReasons": dict(res.reasons.most_common(10)),
        "passed": res.passed,
    }


def storm_table(report: dict[str, Any]) -> str:
    c, lat = report["counts"], report["latencyMs"]
    rows = [
        ("sent", f"{c['sent']:,}"),
        ("2xx", f"{c['2xx']:,}"),
        ("4xx", f"{c['4xx']:,}"),
        ("5xx", f"{c['5xx']:,}"),
        ("timeouts", f"{c['timeouts']:,}"),
        ("errors", f"{c['errors'] + c['otherStatus']:,}"),
        ("retried", f"{c['retried']:,}"),
        ("dead-lettered", f"{c['deadLettered']:,}"),
    ]
    if "delivered" in c:
        rows.append(("delivered", f"{c['delivered']:,}"))
    rows += [
        (
            "achieved rate",
            f"{report['rate']['achieved']:,.0f}/s (target {report['rate']['target']:,.0f}/s)",
        ),
        (
            "latency p50/p95/p99/max",
            f"{lat['p50']:.2f} / {lat['p95']:.2f} / {lat['p99']:.2f} / {lat['max']:.2f} ms",
        ),
        (
            "max lateness",
            f"{report['latenessMs']['max']:.2f} ms (p99 {report['latenessMs']['p99']:.2f} ms)",
        ),
        ("error rate", f"{report['errorRate']:.4%} (limit {report['maxErrorRate']:.2%})"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"  {k:<{width}}  {v}" for k, v in rows]
    for reason, n in report["errorReasons"].items():
        lines.append(f"  {'':<{width}}  {n:,} x {reason}")
    verdict = "PASSED" if report["passed"] else "FAILED"
    return "\n".join([f"storm {verdict} in {report['elapsedSeconds']:.2f} s", *lines])


@dataclass
class Case:
    """One JUnit test case; `failure` set means it failed."""

    name: str
    seconds: float = 0.0
    failure: str | None = None
    details: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


def junit_xml(suite: str, cases: list[Case]) -> bytes:
    failures = sum(1 for c in cases if c.failure is not None)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures))
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{sum(c.seconds for c in cases):.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
    )
    for c in cases:
        tc = ET.SubElement(node, "testcase", classname=suite, name=c.name, time=f"{c.seconds:.3f}")
        if c.properties:
            props = ET.SubElement(tc, "properties")
            for k, v in c.properties.items():
                ET.SubElement(props, "property", name=k, value=str(v))
        if c.failure is not None:
            ET.SubElement(tc, "failure", message=c.failure).text = c.details or c.failure
        elif c.details:
            ET.SubElement(tc, "system-out").text = c.details
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def storm_junit(report: dict[str, Any]) -> bytes:
    c = report["counts"]
    props = {
        "sent": c["sent"],
        "2xx": c["2xx"],
        "achievedRate": report["rate"]["achieved"],
        "p99Ms": report["latencyMs"]["p99"],
        "maxLatenessMs": report["latenessMs"]["max"],
    }
    failure = None
    if not report["passed"]:
        failure = (
            f"error rate {report['errorRate']:.4%} is above the limit "
            f"{report['maxErrorRate']:.2%} ({c['sent'] - c['2xx']:,} of {c['sent']:,} failed)"
        )
    case = Case(
        "error rate within limit", report["elapsedSeconds"], failure, storm_table(report), props
    )
    return junit_xml("ionsim.storm", [case])


def write(path: str | Path, data: bytes | dict[str, Any]) -> None:
    if isinstance(data, dict):
        data = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    Path(path).write_bytes(data)


def stderr_progress(result: StormResult, elapsed: float) -> None:
    with contextlib.suppress(OSError):
        sys.stderr.write(f"\r{progress_line(result, elapsed)}\x1b[K")
        sys.stderr.flush()


def progress_line(res: StormResult, elapsed: float) -> str:
    total = res.config.get("duration")
    of = f"/{total:.0f}s" if total else ""
    rate = res.sent / elapsed if elapsed > 0 else 0.0
    late = max(res.lateness) * 1000 if res.lateness else 0.0
    return (
        f"storm {elapsed:5.1f}s{of}  sent {res.sent:,}  2xx {res.ok:,}  "
        f"failed {res.sent - res.ok:,}  {rate:,.0f}/s  late max {late:.1f} ms"
    )
