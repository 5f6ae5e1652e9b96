"""Control actions that move customer orders on: delivery and invoicing.

Real M3 delivers (pick, report, deliver) and invoices in batch jobs, not through MI, so a test
drives them here: `POST /_sim/tenants/{ti}/orders/{orno}/deliver` with an optional body
`{"lines": [{"PONR": "1", "POSX": "0", "qty": "2"}]}` (default: everything allocated), and
`POST /_sim/tenants/{ti}/orders/{orno}/invoice`. `?cono=` picks the company (default: the
tenant user's). A refused action (unknown order or line 404, nothing to deliver or invoice
409, bad body 400) changes nothing and publishes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from simulator.admin.routes import control, json_body
from simulator.errors import MIError, RequestError
from simulator.m3 import orders
from simulator.m3.engine import CallContext
from simulator.m3.store import TenantState
from simulator.runtime import Simulator

Action = Callable[[TenantState, CallContext, str, str], dict[str, Any]]


def _lines(body: Any) -> orders.Wanted | None:
    """The body's line selection, checked so that bad input is a 400, never a 500."""
    if body == {}:
        return None
    if not isinstance(body, dict) or set(body) - {"lines"}:
        raise RequestError('body must be a JSON object {"lines": [...]}')
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise RequestError("lines must be a non-empty list")
    wanted: orders.Wanted = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict) or set(line) - {"PONR", "POSX", "qty"} or "PONR" not in line:
            raise RequestError(f'lines[{i}] must be an object {{"PONR": .., "qty": ..}}')
        ponr, posx, qty = line["PONR"], line.get("POSX", "0"), line.get("qty")
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in (ponr, posx)):
            raise RequestError(f"lines[{i}]: PONR and POSX must be numbers or strings")
        wanted.append((str(ponr), str(posx), None if qty is None else _qty(qty, i)))
    return wanted


def _qty(value: Any, i: int) -> Decimal:
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidOperation
        qty = Decimal(str(value))
    except InvalidOperation:
        raise RequestError(f"lines[{i}].qty must be a number") from None
    if not qty.is_finite():
        raise RequestError(f"lines[{i}].qty must be a number")
    return qty


_calls = itertools.count(1)


def _run(request: Request, sim: Simulator, name: str, action: Action) -> Any:
    tenant = sim.tenant(request.path_params["ti"])
    co = request.query_params.get("cono") or tenant.defaults.get("CONO") or "100"
    ctx = CallContext(
        tenant=tenant.name,
        cono=co,
        divi=tenant.defaults.get("DIVI", ""),
        user=tenant.user,
        now=sim.clock.now(),
        program="_sim",
        transaction=name,
        correlation=f"{tenant.name}-sim-{next(_calls)}",
    )
    try:
        result = action(tenant.state, ctx, co, request.path_params["orno"])
    except MIError as exc:
        raise RequestError(
            exc.message.strip(), 404 if exc.code in ("WOR0103", "WLN0103") else 409
        ) from None
    for change in ctx.changes:
        for listener in sim.engine.listeners:
            listener(change)
    return result


@control
async def deliver(request: Request, sim: Simulator) -> Any:
    wanted = _lines(await json_body(request, required=False))

    def action(st: TenantState, ctx: CallContext, co: str, orno: str) -> dict[str, Any]:
        return orders.deliver(st, ctx, co, orno, wanted)

    return _run(request, sim, "deliver", action)


@control
async def invoice(request: Request, sim: Simulator) -> Any:
    return _run(request, sim, "invoice", orders.invoice)


ROUTES: list[Route] = [
    Route("/_sim/tenants/{ti}/orders/{orno}/deliver", deliver, methods=["POST"]),
    Route("/_sim/tenants/{ti}/orders/{orno}/invoice", invoice, methods=["POST"]),
]
