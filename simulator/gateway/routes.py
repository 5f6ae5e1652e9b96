"""The ION API Gateway's routes for a tenant: `/{TI}/...`, routed by path only.

An API call goes: bearer token -> throttle -> Connect API authorization -> `engine.execute`
-> wire encoding. Each step refuses in the real system's words. The token is checked before the
throttle because the throttle counts per authorized app, which only the token names.

`Host`, `X-TenantId` and `X-ClientId` are ignored: real clients hard-code the cloud host.
Anything under `/{TI}/` that no route serves answers 401 (no valid token), 405 or 404, always JSON.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from time import perf_counter
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from simulator.errors import GatewayError, MIError
from simulator.gateway import oauth
from simulator.gateway.responses import JSON, error_body, gateway_error, json_response
from simulator.gateway.tokens import AccessToken
from simulator.m3 import metadata, wire
from simulator.m3.definitions import Transaction
from simulator.m3.engine import CallContext, shape_output
from simulator.m3.store import Record
from simulator.ops.journal import CURRENT
from simulator.runtime import Simulator, Tenant

_ids = itertools.count(1)
V2_ROUTE = "/{ti}/M3/m3api-rest/v2/execute/{program}/{transaction}"
MAX_BODY = 4 * 1024 * 1024


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


def _split(params: Mapping[str, str]) -> tuple[Mapping[str, str], wire.OutputOptions]:
    if params.keys().isdisjoint(wire.GENERIC_PARAMS):
        return params, wire.DEFAULT_OPTIONS
    fields = {k: v for k, v in params.items() if k not in wire.GENERIC_PARAMS}
    return fields, wire.parse_options(params)


async def v2_single(
    sim: Simulator, ti: str, program: str, transaction: str, auth: str, params: Mapping[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One v2 GET, as (status, headers, body): shared by the route and the ASGI fast path."""
    try:
        tenant, access, delay = check_call(sim, ti, auth)
    except GatewayError as exc:
        return exc.status, exc.headers, error_body(exc)
    if delay > 0:
        await sim.sleep(delay)
    fields, opts = _split(params)
    trx, rows, error = run(sim, tenant, access, program, transaction, fields, opts)
    if opts is wire.DEFAULT_OPTIONS and trx is not None and rows is not None:
        return 200, {}, wire.v2_ok_body(transaction, wire.records_json(trx, rows))
    result = wire.v2_result(
        transaction,
        None if error is not None else records(trx, rows, opts),
        error,
        fields if opts.extendedresult else None,
    )
    return 200, {}, wire.v2_body([result], opts.pretty)


async def execute_v2(request: Request) -> Response:
    p = request.path_params
    status, headers, body = await v2_single(
        request.app.state.sim,
        p["ti"],
        p["program"],
        p["transaction"],
        request.headers.get("authorization", ""),
        dict(request.query_params),
    )
    return Response(body, status, headers=headers, media_type=JSON)


async def execute_bulk(request: Request) -> Response:
    try:
        sim, tenant, access = await admit(request)
        body = await _json_body(request)
        program, transactions = _bulk_request(body)
    except GatewayError as exc:
        return gateway_error(exc)
    base = {k: str(v) for k, v in request.query_params.items()}
    for src, dst in (
        ("cono", "cono"),
        ("divi", "divi"),
        ("maxReturnedRecords", "maxrecs"),
        ("excludeEmptyValues", "excludeempty"),
        ("rightTrim", "righttrim"),
        ("dateFormat", "dateformat"),
    ):
        if body.get(src) not in (None, ""):
            base.setdefault(
                dst, str(body[src]).lower() if isinstance(body[src], bool) else str(body[src])
            )
    results = []
    for item in transactions:
        trx_name = str(item.get("transaction", ""))
        prog = str(item.get("program") or program)
        record = item.get("record") or {}
        fields = {str(k): "" if v is None else str(v) for k, v in record.items()}
        params = dict(base)
        cols = item.get("selectedColumns")
        if isinstance(cols, list):
            params["returncols"] = ",".join(str(c) for c in cols)
        opts = wire.parse_options(params)
        trx, rows, error = run(sim, tenant, access, prog, trx_name, fields, opts)
        answer = None if error is not None else records(trx, rows, opts)
        results.append(
            wire.v2_result(trx_name, answer, error, fields if opts.extendedresult else None)
        )
    pretty = request.query_params.get("format", "").upper() == "PRETTY"
    return Response(wire.v2_body(results, pretty), media_type=JSON)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise GatewayError(413, "request body is larger than 4 MiB")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "request body must be a JSON object")
    return body


def _bulk_request(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    program = body.get("program", "")
    transactions = body.get("transactions")
    if not isinstance(transactions, list) or not all(isinstance(t, dict) for t in transactions):
        raise GatewayError(400, 'bulk body needs "transactions": a list of objects')
    for i, t in enumerate(transactions):
        if not isinstance(t.get("record", {}) or {}, dict):
            raise GatewayError(400, f"transactions[{i}].record must be an object")
        if not (program or t.get("program")):
            raise GatewayError(400, f'transactions[{i}] names no program (body "program")')
    return str(program), transactions


async def execute_v1(request: Request) -> Response:
    try:
        sim, tenant, access = await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    segments = [s for s in request.path_params["rest"].split("/") if s]
    names, matrix = [], {}
    for seg in segments:
        name, *params = seg.split(";")
        names.append(name)
        for p in params:
            k, _, v = p.partition("=")
            matrix[k] = v
    if len(names) != 2:
        return gateway_error(GatewayError(404, "expected /execute/{PROGRAM}/{TRANSACTION}"))
    program, transaction = names
    query = dict(request.query_params)
    fields = {k: v for k, v in query.items() if k not in wire.GENERIC_PARAMS}
    opts = wire.parse_options({**matrix, **{k: v for k, v in query.items() if k not in fields}})
    trx, rows, error = run(sim, tenant, access, program, transaction, fields, opts)
    if error is not None:
        body = wire.v1_error(error)
    else:
        body = wire.v1_body(program, trx, records(trx, rows, opts), opts)
    if "json" in request.headers.get("accept", "").lower():
        return Response(orjson.dumps(body), media_type=JSON)
    return Response(wire.v1_xml(body), media_type="application/xml; charset=UTF-8")


async def metadata_list(request: Request) -> Response:
    try:
        sim, _, _ = await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    return json_response(metadata.metadata_programs(sim.catalog))


async def metadata_program(request: Request) -> Response:
    try:
        sim, _, _ = await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    prog = sim.catalog.program(request.path_params["program"])
    if prog is None:
        return gateway_error(
            GatewayError(404, f"program {request.path_params['program']} not found")
        )
    return json_response(metadata.metadata_program(prog))


ROUTES = [
    Route("/{ti}/as/token.oauth2", oauth.token_endpoint, methods=["POST"]),
    Route("/{ti}/as/revoke_token.oauth2", oauth.revoke_endpoint, methods=["POST", "GET"]),
    Route(V2_ROUTE, execute_v2, methods=["GET"]),
    Route("/{ti}/M3/m3api-rest/v2/execute", execute_bulk, methods=["POST"]),
    Route("/{ti}/M3/m3api-rest/execute/{rest:path}", execute_v1, methods=["GET"]),
    Route("/{ti}/M3/m3api-rest/metadata", metadata_list, methods=["GET"]),
    Route("/{ti}/M3/m3api-rest/metadata/{program}", metadata_program, methods=["GET"]),
    Route("/{ti}/M3/m3api-rest/v2/metadata/{program}", metadata_program, methods=["GET"]),
]


async def fallback(request: Request) -> Response:
    """Whatever no route serves: 405 when the path exists with another method, else 401/404."""
    for route in request.app.router.routes:
        if route is CATCH_ALL or not isinstance(route, Route):
            continue
        match, _ = route.matches(request.scope)
        if match == Match.PARTIAL:
            allow = ", ".join(sorted(route.methods or ()))
            return gateway_error(
                GatewayError(
                    405,
                    f"method {request.method} is not allowed here; use {allow}",
                    headers={"Allow": allow},
                )
            )
    try:
        await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    return gateway_error(GatewayError(404, f"no API at {request.url.path}"))


CATCH_ALL = Route(
    "/{ti}/{rest:path}",
    fallback,
    methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"],
)
