"""The ION API Gateway's routes for a tenant: `/{TI}/...`, routed by path only.

Each MI route decodes its dialect (v2 single, v2 bulk, v1 with matrix parameters) and hands the
call to `pipeline`; the answer is encoded by `m3.wire`.
`Host`, `X-TenantId` and `X-ClientId` are ignored: real clients hard-code the cloud host.
Anything under `/{TI}/` that no route serves answers 401 (no valid token), 405 or 404, always JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from simulator.errors import GatewayError
from simulator.gateway import oauth
from simulator.gateway.pipeline import admit, check_call, records, run, split_params
from simulator.gateway.responses import JSON, error_body, gateway_error, json_response
from simulator.m3 import metadata, wire
from simulator.m3.record_json import records_json
from simulator.runtime import Simulator

V2_ROUTE = "/{ti}/M3/m3api-rest/v2/execute/{program}/{transaction}"
MAX_BODY = 4 * 1024 * 1024


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
    fields, opts = split_params(params)
    trx, rows, error = run(sim, tenant, access, program, transaction, fields, opts)
    if opts is wire.DEFAULT_OPTIONS and trx is not None and rows is not None:
        return 200, {}, wire.v2_ok_body(transaction, records_json(trx, rows))
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
    fields = wire.input_fields(query)
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
