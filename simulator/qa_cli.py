"""`ionsim storm | verify | validate`: the QA commands, registered into the main parser.

Kept out of cli.py so the heavy imports (Hypothesis, the storm machinery) happen only when one
of these commands runs. Exit codes as everywhere: 0 ok, 1 what was checked failed (error rate
over the limit, a misbehaving consumer, an invalid payload), 2 bad usage.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from simulator.errors import IonsimError


class QAUsageError(IonsimError):
    """Bad input argparse cannot see (an unreadable file, an impossible storm)."""


def parse_rate(text: str) -> float:
    """`5000/s`, `5000`, `300/m` -> events per second."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(?:/\s*(s|sec|m|min))?\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a rate like 5000/s, not {text!r}")
    return float(m.group(1)) / (60 if m.group(2) in ("m", "min") else 1)


def parse_duration(text: str) -> float:
    """`30s`, `500ms`, `2m`, `1h` or plain seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s, not {text!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _storm(args: argparse.Namespace) -> int:
    from simulator.events import report as rep
    from simulator.events.contract import load_contract
    from simulator.events.corpus import parse_weights
    from simulator.events.report import progress_line, stderr_progress
    from simulator.events.storm import run_storm
    from simulator.events.storm_plan import StormConfig, StormError

    contract = load_contract()
    try:
        weights = parse_weights(args.channel, list(contract.channels))
        config = StormConfig(
            target=args.target,
            tenant=args.tenant,
            sim_url=args.url,
            weights=weights,
            rate=args.rate,
            profile=args.profile,
            duration=args.duration,
            count=args.count,
            concurrency=args.concurrency,
            mode=args.mode,
            seed=args.seed,
            timeout=args.timeout,
            batch=args.batch,
            max_error_rate=args.max_error_rate,
        )
        live = stderr_progress if sys.stderr.isatty() else None
        result = run_storm(config, live, contract)
    except (StormError, ValueError) as exc:
        raise QAUsageError(str(exc)) from None
    if live:
        sys.stderr.write("\n")
    print(progress_line(result, result.elapsed), file=sys.stderr)
    report = rep.storm_json(result)
    print(rep.storm_table(report))
    if args.report:
        rep.write(args.report, report)
    if args.junit:
        rep.write(args.junit, rep.storm_junit(report))
    return 0 if report["passed"] else 1


def _verify(args: argparse.Namespace) -> int:
    from simulator.events import report as rep
    from simulator.events.contract import load_contract
    from simulator.events.verify import verify_consumer

    contract = load_contract()
    channels = contract.match(args.channel)
    if not channels:
        raise QAUsageError(f"no channel matches {args.channel!r}: {', '.join(contract.channels)}")
    reports = []
    for channel in channels:
        r = verify_consumer(
            args.target,
            channel,
            args.examples,
            args.seed,
            mode=args.mode,
            timeout=args.timeout,
            contract=contract,
        )
        print(r.summary())
        reports.append(r)
    if args.junit:
        rep.write(
            args.junit, rep.junit_xml("ionsim.verify", [c for r in reports for c in r.cases()])
        )
    return 0 if all(r.passed for r in reports) else 1


def _payloads(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, payload) for a JSON file (object or array) or NDJSON (one payload a line)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QAUsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    yield f"{path}:{n}", orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield f"{path}:{n}", _NotJSON(str(exc))
        return
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield f"{path}[{i}]", item
    else:
        yield str(path), doc


class _NotJSON(str):
    """A line that did not parse; reported as an invalid payload."""


def _validate(args: argparse.Namespace) -> int:
    from simulator.events.contract import load_contract

    contract = load_contract()
    if args.channel and args.channel not in contract.channels:
        raise QAUsageError(f"unknown channel {args.channel!r}: {', '.join(contract.channels)}")
    by_document = {c.document: name for name, c in contract.channels.items()}
    total = bad = 0
    for file in args.files:
        for where, payload in _payloads(Path(file)):
            total += 1
            if isinstance(payload, _NotJSON):
                problems, channel = [f"not JSON: {payload}"], "?"
            else:
                doc = payload.get("documentType") if isinstance(payload, dict) else None
                found = args.channel or (by_document.get(doc) if isinstance(doc, str) else None)
                if found is None:
                    problems = [
                        f"/documentType: cannot tell the channel from {doc!r}; give --channel"
                    ]
                    channel = "?"
                else:
                    channel, problems = found, contract.errors(found, payload)
            if problems:
                bad += 1
                for problem in problems:
                    print(f"{where}: {channel}: {problem}")
    print(f"{total} payloads, {bad} invalid", file=sys.stderr)
    return 1 if bad else 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `storm`, `verify` and `validate` to the `ionsim` sub-commands."""
    storm = sub.add_parser("storm", help="fire a rate-controlled storm of contract-valid events")
    where = storm.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", metavar="URL", help="POST each event's JSON to this URL")
    where.add_argument("--tenant", metavar="T", help="publish through a running ionsim's tenant")
    storm.add_argument("--url", default="http://127.0.0.1:8080", help="the ionsim for --tenant")
    storm.add_argument("--channel", metavar="CH=W,...", help="channel weights (default: all, even)")
    storm.add_argument("--rate", type=parse_rate, default=100.0, help="events/s (default 100/s)")
    storm.add_argument(
        "--profile", choices=("constant", "ramp", "burst", "poisson"), default="constant"
    )
    storm.add_argument("--duration", type=parse_duration, help="e.g. 30s (default 10s)")
    storm.add_argument("--count", type=_positive, help="stop after N events")
    storm.add_argument("--concurrency", type=_positive, default=64, help="requests in flight")
    storm.add_argument("--mode", choices=("realistic", "edge"), default="realistic")
    storm.add_argument("--seed", type=int, default=0)
    storm.add_argument("--timeout", type=parse_duration, default=5.0, help="per request")
    storm.add_argument("--batch", type=_positive, default=0, help=argparse.SUPPRESS)
    storm.add_argument("--report", metavar="FILE", help="write the JSON report here")
    storm.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    storm.add_argument("--max-error-rate", type=float, default=0.01, help="exit 1 above it")
    storm.set_defaults(run=_storm)

    verify = sub.add_parser("verify", help="check a consumer accepts valid and rejects invalid")
    verify.add_argument("--target", metavar="URL", required=True)
    verify.add_argument("--channel", required=True, help="a channel, or a glob like 'order/*'")
    verify.add_argument("--examples", type=_positive, default=100, help="per check")
    verify.add_argument("--seed", type=int, default=0)
    verify.add_argument("--mode", choices=("realistic", "edge"), default="realistic")
    verify.add_argument("--timeout", type=parse_duration, default=5.0)
    verify.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    verify.set_defaults(run=_verify)

    validate = sub.add_parser("validate", help="validate event payloads (JSON or NDJSON)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument(
        "--channel", help="the channel of every payload (default: by documentType)"
    )
    validate.set_defaults(run=_validate)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m simulator.qa_cli storm ...`: the same commands without the rest of ionsim."""
    parser = argparse.ArgumentParser(prog="ionsim")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except IonsimError as exc:
        print(f"ionsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
