"""The live dashboard at `/_sim/ui` and the one JSON route it needs that nothing else serves.

The page is three static files under `ui/` (no build step, no CDN: a QA box without internet
still shows it) that poll the control API about once a second. Everything else the page shows
comes from routes that exist for scripts too (`/_sim/stats`, `/_sim/journal`, `/_sim/dlq`...);
only the state browser needs a new read: `GET /_sim/tenants/{ti}/tables/{table}`, a bounded
page of one M3 table, so a browser never pulls a whole snapshot of a tenant under a storm.
"""

from __future__ import annotations

import functools
import html
import itertools
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from simulator.admin.routes import control
from simulator.errors import RequestError
from simulator.gateway.responses import json_response
from simulator.m3.tables import TABLES
from simulator.runtime import Simulator

UI_DIR = Path(__file__).parent / "ui"
_ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# The page loads only its own files and talks only to this server.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
ORDERS = ("key", "newest")
# What a person looks for first in each table; the rest of a row is one click away (`row`).
COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("CUNO", "CUNM", "STAT", "TOWN", "CSCD", "CUCD", "LMDT"),
    "items": ("ITNO", "ITDS", "STAT", "ITTY", "UNMS", "SAPR", "LMDT"),
    "orders": ("ORNO", "CUNO", "ORSL", "ORST", "NTAM", "CUCD", "ORDT", "LMDT"),
    "order_lines": ("ORNO", "PONR", "ITNO", "ORQT", "ALQT", "DLQT", "IVQT", "ORST"),
    "item_warehouses": ("WHLO", "ITNO", "STQT", "ALQT", "AVAL", "STAT"),
    "balances": ("WHLO", "ITNO", "WHSL", "BANO", "STQT", "ALQT", "AVAL"),
    "invoices": ("IVNO", "YEA4", "ORNO", "CUNO", "CUNM", "IVAV", "CUCD", "IVDT"),
    "suppliers": ("SUNO", "SUNM", "STAT", "CSCD"),
    "warehouses": ("WHLO", "WHNM", "FACI", "TOWN"),
    "purchase_orders": ("PUNO", "SUNO", "PUSL", "PUSH", "WHLO"),
}
BROWSABLE = ("customers", "items", "orders", "order_lines", "item_warehouses", "balances",
             "invoices")  # fmt: skip


@functools.cache
def _read(name: str) -> bytes:
    """Assets are read once: they ship inside the package and do not change while serving."""
    return (UI_DIR / name).read_bytes()


async def index(request: Request) -> Response:
    """The page; with `?token=`, asset URLs carry it too (a script tag cannot send a header)."""
    page = _read("index.html").decode("utf-8")
    token = request.query_params.get("token")
    suffix = "?token=" + html.escape(quote(token, safe="")) if token else ""
    for name in _ASSETS:
        page = page.replace(f'"ui/{name}"', f'"ui/{name}{suffix}"')
    return Response(page, media_type="text/html; charset=utf-8", headers=_HEADERS)


async def index_slash(request: Request) -> Response:
    """`/_sim/ui/` would resolve the page's relative asset URLs one level too deep."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/_sim/ui{query}", status_code=308)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _ASSETS:  # a fixed list: no path ever reaches the file system
        return json_response({"error": f"no dashboard file {name!r}"}, 404)
    return Response(_read(name), media_type=_ASSETS[name], headers=_HEADERS)


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise RequestError(f"{name} must be from {low} to {high}, not {value}")
    return value


def _columns(name: str, key_fields: tuple[str, ...]) -> list[str]:
    if name in COLUMNS:
        return list(COLUMNS[name])
    return [f.partition(":")[0] for f in key_fields if not f.startswith("CONO")]


@control
async def table_rows(request: Request, sim: Simulator) -> Any:
    """`GET /_sim/tenants/{ti}/tables/{table}?limit=&start=&order=key|newest&q=`.

    A page of rows: `start` is how many matching rows to skip, `next` the `start` of the next
    page (null at the end). `newest` is the order rows were written in, last first; `q` keeps
    rows with the text in any value (case-insensitive). Reading never creates a table.
    """
    tenant = sim.tenant(request.path_params["ti"])
    name = request.path_params["table"]
    if name not in TABLES:
        raise RequestError(f"no table {name!r}; tables: {sorted(TABLES)}", 404)
    q = request.query_params
    limit = _int(q.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    start = _int(q.get("start"), "start", 0, 0, 10**9)
    order = q.get("order") or "key"
    if order not in ORDERS:
        raise RequestError(f"order must be one of {list(ORDERS)}, not {order!r}")
    needle = (q.get("q") or "").strip().lower()
    table = tenant.state.tables.get(name)
    rows: Any = ()
    total = 0
    if table is not None:
        total = len(table)
        rows = table.scan() if order == "key" else reversed(table.rows.values())
    if needle:
        rows = (r for r in rows if any(needle in str(v).lower() for v in r.values()))
    page = list(itertools.islice(rows, start, start + limit + 1))
    more = len(page) > limit
    return {
        "tenant": tenant.name,
        "table": name,
        "key": [f.partition(":")[0] for f in TABLES[name]],
        "columns": _columns(name, TABLES[name]),
        "total": total,
        "order": order,
        "start": start,
        "limit": limit,
        "rows": [dict(r) for r in page[:limit]],
        "next": start + limit if more else None,
    }


@control
async def table_names(request: Request, sim: Simulator) -> Any:
    """The tables a tenant has, with row counts; `browsable` lists the ones the page tabs."""
    tenant = sim.tenant(request.path_params["ti"])
    counts = {n: len(t) for n, t in sorted(tenant.state.tables.items()) if n in TABLES}
    return {"tenant": tenant.name, "tables": counts, "browsable": list(BROWSABLE)}


ROUTES = [
    Route("/_sim/ui", index, methods=["GET"]),
    Route("/_sim/ui/", index_slash, methods=["GET"]),
    Route("/_sim/ui/{name}", asset, methods=["GET"]),
    Route("/_sim/tenants/{ti}/tables", table_names, methods=["GET"]),
    Route("/_sim/tenants/{ti}/tables/{table}", table_rows, methods=["GET"]),
]
