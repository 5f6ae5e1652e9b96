"""The `ionsim` command.

Exit codes: 0 success, 1 what was checked failed, 2 bad usage or bad input files. Errors print
as one line (`ionsim: error: ...`); `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from simulator import __version__
from simulator.errors import IonsimError

Command = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    from simulator.server import serve

    return serve(args)


def _ionapi(args: argparse.Namespace) -> int:
    import json

    from simulator.gateway.ionapi import default_credentials, ionapi_document

    doc = ionapi_document(default_credentials(args.tenant), args.url.rstrip("/"))
    text = json.dumps(doc, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out} for tenant {args.tenant} at {args.url}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from simulator.m3.catalog_loader import load_catalog
    from simulator.m3.coverage import coverage_table
    from simulator.m3.handlers import load_handlers

    catalog = load_catalog(Path(args.data_dir) if args.data_dir else None)
    handlers = load_handlers()
    text = coverage_table(catalog, lambda p, t: (p, t) in handlers)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _contracts_list(args: argparse.Namespace) -> int:
    from simulator.m3.catalog_loader import load_catalog
    from simulator.m3.handlers import load_handlers

    catalog = load_catalog(Path(args.data_dir) if args.data_dir else None)
    handlers = load_handlers()
    for name, prog in sorted(catalog.programs.items()):
        simulated = [t for t in prog.transactions if (name, t) in handlers]
        print(
            f"{name:10} {prog.description}  ({len(simulated)}/{len(prog.transactions)} simulated)"
        )
        if args.verbose:
            for trx in prog.transactions:
                mark = "*" if (name, trx) in handlers else " "
                print(f"  {mark} {trx}")
    return 0


def _import_swagger(args: argparse.Namespace) -> int:
    from simulator.m3.swagger import import_swagger

    written = import_swagger([Path(p) for p in args.files], Path(args.out))
    for path in written:
        print(f"wrote {path}")
    return 0


def _control(args: argparse.Namespace) -> int:
    """reset / seed / snapshot / restore a tenant of a running simulator, over its /_sim/ API."""
    import httpx

    base = f"{args.url.rstrip('/')}/_sim/tenants/{args.tenant}"
    try:
        if args.command == "subscribe":
            body: dict[str, object] = {"url": args.webhook, "format": args.format}
            if args.channels:
                body["channels"] = args.channels
            if args.only_tenant:
                body["tenant"] = args.tenant
            if args.secret:
                body["secret"] = args.secret
            r = httpx.post(f"{args.url.rstrip('/')}/_sim/subscriptions", json=body, timeout=30)
        elif args.command == "reset":
            r = httpx.post(f"{base}/reset", timeout=30)
        elif args.command == "seed":
            r = httpx.post(f"{base}/seed", json={"seed": args.seed}, timeout=30)
        elif args.command == "snapshot":
            r = httpx.get(f"{base}/snapshot", timeout=60)
        else:
            try:
                body = Path(args.file).read_bytes()
            except OSError as exc:
                raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
            r = httpx.put(
                f"{base}/snapshot",
                content=body,
                timeout=60,
                headers={"Content-Type": "application/json"},
            )
    except httpx.HTTPError as exc:
        print(f"ionsim: error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    if r.status_code >= 400:
        try:
            message = r.json().get("error", r.text)
        except ValueError:
            message = r.text
        print(f"ionsim: error: {r.status_code}: {message}", file=sys.stderr)
        return 1
    if args.command == "subscribe":
        print(r.json()["id"])
        return 0
    if args.command == "snapshot":
        if args.out:
            Path(args.out).write_bytes(r.content)
            print(f"wrote {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(r.text + "\n")
    else:
        print(f"{args.tenant}: {r.json().get('status', 'done')}")
    return 0


class UsageError(IonsimError):
    """Bad command-line input that argparse cannot see (a missing file)."""


def _add_control(sub: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser(name, help=help)
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the running simulator")
    p.add_argument("--tenant", default="DEMO_TST")
    p.set_defaults(run=_control)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionsim",
        description="Local simulator of the Infor ION API Gateway, M3 MI programs and ION events.",
    )
    parser.add_argument("--version", action="version", version=f"ionsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="start the simulator")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    serve.add_argument(
        "--tenant",
        action="append",
        dest="tenants",
        metavar="TI",
        help="create this tenant (repeat for several; default DEMO_TST)",
    )
    serve.add_argument("--seed", help="seed name (demo, minimal) or a seed file for the tenants")
    serve.add_argument("--config", help="config file (YAML or JSON)")
    serve.add_argument("--data-dir", help="folder with your own contracts/ and fixtures/")
    serve.add_argument("--public-url", help="base URL written into .ionapi files")
    serve.add_argument(
        "--random-credentials",
        action="store_true",
        default=None,
        help="fresh random client ids and secrets instead of the stable defaults",
    )
    serve.add_argument("--token-lifetime", type=int, help="access token lifetime in seconds")
    serve.add_argument(
        "--aliases",
        action="store_true",
        default=None,
        help="answer invented seed names (OIS100MI/AddHead...) as their real transaction",
    )
    serve.add_argument(
        "--subscribe",
        action="append",
        metavar="WEBHOOK_URL",
        help="deliver every event of every tenant to this webhook (repeatable)",
    )
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        default=None,
        help="do not log each request (faster)",
    )
    serve.add_argument(
        "--admin-token",
        help="require this token (Authorization: Bearer or X-Ionsim-Admin-Token) on /_sim/* "
        "and /metrics; for shared instances (or IONSIM_ADMIN_TOKEN)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="allow browser calls from this origin (repeat; default: CORS off)",
    )
    serve.add_argument(
        "--fault-header",
        action="store_true",
        default=None,
        help="honour per-request X-Ionsim-Fault headers (503, 429, drop, hang, delay=MS)",
    )
    serve.add_argument("--faults", metavar="FILE", help='fault rules file {"rules": [...]}')
    serve.set_defaults(run=_serve)

    ionapi = sub.add_parser("ionapi", help="write a tenant's .ionapi credentials file")
    ionapi.add_argument("--tenant", default="DEMO_TST")
    ionapi.add_argument("--url", default="http://127.0.0.1:8080", help="the simulator's base URL")
    ionapi.add_argument("--out", help="file to write (default: print)")
    ionapi.set_defaults(run=_ionapi)

    _add_control(sub, "reset", "reset a tenant of a running simulator to its seed")
    seed = _add_control(sub, "seed", "load another seed into a tenant of a running simulator")
    seed.add_argument("seed", metavar="NAME-or-FILE")
    snap = _add_control(sub, "snapshot", "save a tenant's whole state from a running simulator")
    snap.add_argument("--out", help="file to write (default: print)")
    restore = _add_control(sub, "restore", "restore a snapshot into a running simulator")
    restore.add_argument("file", metavar="FILE")

    subscribe = _add_control(sub, "subscribe", "subscribe a webhook to a running simulator")
    subscribe.add_argument("webhook", metavar="WEBHOOK_URL")
    subscribe.add_argument(
        "--channel",
        action="append",
        dest="channels",
        help="channel or wildcard (customer/*); repeat; default all",
    )
    subscribe.add_argument(
        "--only-tenant", action="store_true", help="only the events of --tenant (default: all)"
    )
    subscribe.add_argument("--secret", help="sign each body: X-Ionsim-Signature: sha256=<hmac>")
    subscribe.add_argument("--format", choices=["json", "bod-xml"], default="json")

    cov = sub.add_parser("coverage", help="table of MI programs and what ionsim simulates")
    cov.add_argument("--data-dir")
    cov.add_argument("--out", help="write the Markdown table to this file")
    cov.set_defaults(run=_coverage)

    contracts = sub.add_parser("contracts", help="inspect and import contracts")
    csub = contracts.add_subparsers(dest="contracts_command", required=True, metavar="ACTION")
    clist = csub.add_parser("list", help="list MI programs and transactions")
    clist.add_argument("--data-dir")
    clist.add_argument("-v", "--verbose", action="store_true", help="list every transaction")
    clist.set_defaults(run=_contracts_list)
    imp = csub.add_parser("import-swagger", help="convert M3 MI Swagger files to program YAML")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--out", default="contracts/mi", help="folder for the YAML files")
    imp.set_defaults(run=_import_swagger)
    from simulator.ops_cli import register as register_ops

    register_ops(sub)
    from simulator.qa_cli import register as register_qa

    register_qa(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except IonsimError as exc:
        if args.debug:
            raise
        print(f"ionsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
