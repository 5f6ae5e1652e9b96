"""One MI call through the gateway, whichever route or dialect carried it.

An API call goes: bearer token -> throttle -> Connect API authorization -> the engine -> wire
encoding. Each step refuses in the real system's words. The token is checked before the
throttle because the throttle counts per authorized app, which only the token names. The v2
single, bulk and v1 routes and the v2 fast path all call these functions, so they cannot drift
apart; the fault rules and the journal hook in here (`CURRENT`) for the same reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from time import perf_counter
from typing import Any

from starlette.requests import Request

from simulator.errors import GatewayError, MIError
from simulator.gateway.tokens import AccessToken
from simulator.m3 import wire
from simulator.m3.definitions import Transaction
from simulator.m3.engine import CallContext, shape_output
from simulator.m3.store import Record
from simulator.ops.journal import CURRENT
from simulator.runtime import Simulator, Tenant

_ids = itertools.count(1)


def _unauthorized(message: str) -> GatewayError:
    safe = message.replace('"', "'").encode("ascii", "replace").decode()
    return GatewayError(
        401,
        message,
        error="invalid_token",
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{safe}"'},
    )


async def admit(request: Request) -> tuple[Simulator, Tenant, AccessToken]:
    """Token, then throttle: raises GatewayError (401/429) or returns who is calling."""
    sim: Simulator = request.app.state.sim
    auth = request.headers.get("authorization", "")
    tenant, access = await admit_call(sim, request.path_params["ti"], auth)
    return sim, tenant, access


async def admit_call(sim: Simulator, ti: str, auth: str) -> tuple[Tenant, AccessToken]:
    """The gateway's checks on an `Authorization` header value, with the throttle's delay."""
    tenant, access, delay = check_call(sim, ti, auth)
    if delay > 0:
        await sim.sleep(delay)
    return tenant, access


def check_call(sim: Simulator, ti: str, auth: str) -> tuple[Tenant, AccessToken, float]:
    """Token, tenant, back-pressure and throttle: raises GatewayError (401/429/503) or returns
    who is calling and how long rate smoothing wants the call delayed."""
    scheme, _, token = auth.partition(" ")
    if not auth:
        raise _unauthorized("Bearer token is missing")
    token = token.strip()
    if not token or scheme.lower() != "bearer":
        raise _unauthorized("Authorization header is not a Bearer token")
    access = sim.tokens.authenticate(token, ti)
    rec = CURRENT.get()
    if rec is not None:
        rec["access"] = access
    tenant = sim.tenants.get(ti)
    if tenant is None:
        raise _unauthorized(f"The access token is not valid for tenant {ti}")
    if sim.hub.saturated:
        raise GatewayError(
            503,
            "ionsim's event delivery queue is full: retry when webhooks have caught up",
            error="service_unavailable",
            headers={"Retry-After": "1"},
        )
    decision = tenant.throttle.check(access.client_id, access.user)
    if rec is not None:
        rec["throttle"] = decision
    if not decision.allowed:
        raise GatewayError(
            429,
            f"Too many requests: {decision.reason} policy exceeded, retry after "
            f"{decision.retry_after_s} s",
            error="too_many_requests",
            headers={"Retry-After": str(decision.retry_after_s)},
        )
    return tenant, access, decision.delay_s


Rows = list[Mapping[str, Any]]


def run(
    sim: Simulator,
    tenant: Tenant,
    access: AccessToken,
    program: str,
    transaction: str,
    fields: Mapping[str, str],
    opts: wire.OutputOptions,
) -> tuple[Transaction | None, Rows | None, MIError | None]:
    """One transaction through authorization and the engine: its definition and unshaped rows
    (see `records`), or the NOK, returned and not raised.

    Under a gateway request (`CURRENT` set by the ops middleware or the fast path) a `nok`
    fault rule may answer instead, and the outcome is counted and journaled."""
    rec = CURRENT.get()
    if rec is None:
        return _run(sim, tenant, access, program, transaction, fields, opts)
    t0 = perf_counter()
    ops = sim.ops
    error, fault = (
        ops.nok_fault(rec, tenant.name, access.client_id, program, transaction)
        if ops.faults.nok or "force_nok" in rec
        else (None, None)
    )
    if error is None:
        trx, rows, error = _run(sim, tenant, access, program, transaction, fields, opts)
    else:
        trx, rows = None, None
    answered = rows if trx is not None and trx.blank else None
    ops.mi_call(rec, tenant.name, program, transaction, fields, answered, error, t0, fault)
    return trx, rows, error


def _run(
    sim: Simulator,
    tenant: Tenant,
    access: AccessToken,
    program: str,
    transaction: str,
    fields: Mapping[str, str],
    opts: wire.OutputOptions,
) -> tuple[Transaction | None, Rows | None, MIError | None]:
    defaults = tenant.defaults
    ctx = CallContext(
        tenant=tenant.name,
        cono=opts.cono or defaults.get("CONO", ""),
        divi=opts.divi or defaults.get("DIVI", ""),
        user=access.user,
        maxrecs=opts.maxrecs,
        correlation=f"{tenant.name}-{next(_ids)}",
        now=sim.clock.now(),
    )
    try:
        cono = fields.get("CONO") or ctx.cono
        tenant.authorization.check(access.user, program, transaction, cono)
        trx, rows = sim.engine.execute_rows(tenant.state, program, transaction, fields, ctx)
        return trx, rows, None
    except MIError as exc:
        return None, None, exc


def records(trx: Transaction | None, rows: Rows | None, opts: wire.OutputOptions) -> list[Record]:
    """Rows as the records the caller asked for: every output field, then the generic
    parameters' shaping (returncols, excludeempty, righttrim, dateformat)."""
    if trx is None or not rows:
        return []
    return wire.shape(trx, shape_output(trx, rows), opts)


def split_params(params: Mapping[str, str]) -> tuple[Mapping[str, str], wire.OutputOptions]:
    if params.keys().isdisjoint(wire.GENERIC_PARAMS):
        return params, wire.DEFAULT_OPTIONS
    return wire.input_fields(params), wire.parse_options(params)
