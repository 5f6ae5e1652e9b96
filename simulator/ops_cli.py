"""`ionsim journal` and `ionsim faults`: the ops routes of a running simulator, from a shell.

Both talk HTTP to `--url` and send `--admin-token` (or `IONSIM_ADMIN_TOKEN`) when given, so
they work against a shared QA instance too. Exit codes as everywhere: 0 done, 1 the server
refused or could not be reached, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from simulator.errors import IonsimError


class _Failed(Exception):
    pass


def _client(args: argparse.Namespace) -> Any:
    import httpx

    token = args.admin_token or os.environ.get("IONSIM_ADMIN_TOKEN")
    headers = {"X-Ionsim-Admin-Token": token} if token else {}
    return httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=30)


def _call(http: Any, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    try:
        r = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise _Failed(f"cannot reach {http.base_url}: {exc}") from None
    if r.status_code >= 400:
        try:
            message = r.json().get("error", r.text)
        except ValueError:
            message = r.text
        raise _Failed(f"{r.status_code}: {message}")
    return r.json()


def line(e: dict[str, Any]) -> str:
    """One journal entry as one line: when, what, who, outcome."""
    what = f"{e['method']} {e['path']}"
    if e["kind"] == "delivery":
        what = f"{e.get('channel')} -> {e['path']} #{e.get('attempt')}"
    name = f"{e['program']}/{e['transaction']}" if e.get("program") else ""
    resp = e.get("response") or {}
    if e["kind"] == "delivery":
        outcome = resp.get("outcome") or ""
        if resp.get("error"):
            outcome += f" ({resp['error']})"
    elif "errorCode" in resp or "errorMessage" in resp:
        outcome = f"NOK {resp.get('errorCode', '')} {resp.get('errorMessage', '')}".strip()
    elif "records" in resp:
        outcome = f"{resp['records']} records"
    else:
        outcome = " ".join(str(resp[k]) for k in ("grant", "error", "message") if resp.get(k))
    parts = [
        f"{e['seq']:>6}",
        e["at"],
        f"{e['kind']:<8}",
        e["tenant"] or "-",
        f"{e['status']:>3}",
        f"{e['durationMs']:>9.1f}ms",
        what,
        name,
        e.get("clientId") or "",
        outcome,
    ]
    throttle = e.get("throttle")
    if throttle and (throttle.get("delayMs") or not throttle.get("allowed")):
        parts.append(f"throttle={throttle.get('reason') or 'delay'}:{throttle.get('delayMs')}ms")
    if e.get("fault") is not None:
        parts.append(f"fault={e['fault']}")
    return "  ".join(p for p in parts if p != "")


def _journal(args: argparse.Namespace) -> int:
    params = {
        k: v
        for k, v in {
            "kind": args.kind,
            "tenant": args.tenant,
            "program": args.program,
            "transaction": args.transaction,
            "status": args.status,
            "client_id": args.client_id,
        }.items()
        if v
    }
    with _client(args) as http:
        page = _call(http, "GET", "/_sim/journal", params={**params, "limit": args.limit})
        _print(page["entries"], args.json)
        if not args.follow:
            return 0
        last = page["last"]
        try:
            while True:
                time.sleep(args.interval)
                page = _call(
                    http, "GET", "/_sim/journal", params={**params, "since": last, "limit": 1000}
                )
                _print(page["entries"], args.json)
                last = page["last"]
        except KeyboardInterrupt:
            return 0


def _print(entries: list[dict[str, Any]], as_json: bool) -> None:
    for e in entries:
        print(json.dumps(e, separators=(",", ":")) if as_json else line(e))
    sys.stdout.flush()


def _faults(args: argparse.Namespace) -> int:
    with _client(args) as http:
        if args.action == "set":
            if not args.file:
                raise _Usage("ionsim faults set needs a FILE of rules (YAML or JSON)")
            from simulator.config import read_file

            data = read_file(Path(args.file))
            result = _call(http, "PUT", "/_sim/faults", json=data)
        elif args.action == "clear":
            result = _call(http, "DELETE", "/_sim/faults")
        else:
            result = _call(http, "GET", "/_sim/faults")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for r in result["rules"]:
        how = next((f"{k}={r[k]}" for k in ("every", "probability", "times") if r.get(k)), "always")
        print(
            f"[{r['index']}] match={json.dumps(r.get('match') or {})} "
            f"action={json.dumps(r['action'])} {how} matched={r['matched']} "
            f"fired={r['fired']}"
        )
    print(f"{len(result['rules'])} rules, {result['fired']} fired")
    return 0


class _Usage(IonsimError):
    pass


def _run(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(fn(args))
        except _Failed as exc:
            print(f"ionsim: error: {exc}", file=sys.stderr)
            return 1

    return run


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", default="http://127.0.0.1:8080", help="the running simulator")
        p.add_argument(
            "--admin-token",
            help="admin token of a protected instance (default: IONSIM_ADMIN_TOKEN)",
        )
        p.add_argument("--json", action="store_true", help="print JSON instead of text")

    j = sub.add_parser("journal", help="show the request journal of a running simulator")
    common(j)
    j.add_argument("--kind", choices=["token", "mi", "http", "delivery"])
    j.add_argument("--tenant")
    j.add_argument("--program")
    j.add_argument("--transaction")
    j.add_argument("--status", help="a status (503) or a class (5xx)")
    j.add_argument("--client-id")
    j.add_argument("--limit", type=int, default=50, help="entries to show first (default 50)")
    j.add_argument("--follow", "-f", action="store_true", help="keep printing new entries")
    j.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    j.set_defaults(run=_run(_journal))

    f = sub.add_parser("faults", help="list, set or clear fault rules of a running simulator")
    common(f)
    f.add_argument("action", nargs="?", choices=["list", "set", "clear"], default="list")
    f.add_argument("file", nargs="?", metavar="FILE", help="rules file for set (YAML or JSON)")
    f.set_defaults(run=_run(_faults))
