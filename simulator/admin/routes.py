"""Test-control routes under `/_sim/`: tenants, credentials, state, policies, the clock.

Bad input always gets a 4xx JSON `{"error": message}`; a control route never answers 500.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.config import TenantSpec
from simulator.errors import ConfigError, ContractError, RequestError
from simulator.gateway.authz import Authorization
from simulator.gateway.ionapi import ionapi_document
from simulator.gateway.responses import json_response
from simulator.gateway.throttle import ThrottlePolicy
from simulator.runtime import Simulator, Tenant

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_CLOCK_STEP = 366 * 24 * 3600
LAST_INSTANT = 253_402_214_400.0  # 9999-12-31: later dates would break every timestamp
_names = itertools.count(1)


def control(fn: Callable[[Request, Simulator], Awaitable[Any]]) -> Endpoint:
    """Runs a control endpoint, turning bad input into 4xx JSON instead of a 500."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        try:
            result = await fn(request, request.app.state.sim)
        except RequestError as exc:
            return json_response({"error": exc.message}, exc.status)
        except (ContractError, ConfigError) as exc:
            return json_response({"error": str(exc)}, 400)
        if isinstance(result, Response):
            return result
        return json_response(result)

    return endpoint


async def json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise RequestError("a JSON body is required")
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"body is not valid JSON: {exc}") from None


def base_url(request: Request, sim: Simulator) -> str:
    """The URL clients reach us at: configured public URL, else the one this request used."""
    if sim.config.public_url:
        return sim.config.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def describe(tenant: Tenant, url: str) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "seed": tenant.seed,
        "user": tenant.user,
        "ionapi": f"{url}/_sim/tenants/{tenant.name}/ionapi",
    }


@control
async def health(request: Request, sim: Simulator) -> Any:
    return {"status": "ok", "tenants": len(sim.tenants)}


@control
async def list_tenants(request: Request, sim: Simulator) -> Any:
    url = base_url(request, sim)
    return {"tenants": [describe(t, url) for t in sim.tenants.values()]}


@control
async def create_tenant(request: Request, sim: Simulator) -> Any:
    body = await json_body(request, required=False)
    if not isinstance(body, dict):
        raise RequestError("body must be a JSON object")
    unknown = set(body) - {"name", "seed", "random_credentials", "throttle", "authorization"}
    if unknown:
        raise RequestError(f"unknown keys {sorted(unknown)}")
    name = body.get("name") or _free_name(sim)
    if not isinstance(name, str):
        raise RequestError("name must be a string")
    try:
        spec = TenantSpec(name, body.get("seed"), body.get("throttle"), body.get("authorization"))
        from simulator.config import Config

        Config(tenants=(spec,))  # same name rules as the config file
        tenant = sim.create_tenant(spec, random_creds=bool(body.get("random_credentials")))
    except ConfigError as exc:
        raise RequestError(str(exc)) from None
    url = base_url(request, sim)
    body = {**describe(tenant, url), "credentials": ionapi_document(tenant.credentials, url)}
    return json_response(body, 201)


def _free_name(sim: Simulator) -> str:
    while True:
        name = f"T{next(_names):04d}_TST"
        if name not in sim.tenants:
            return name


@control
async def get_tenant(request: Request, sim: Simulator) -> Any:
    return describe(sim.tenant(request.path_params["ti"]), base_url(request, sim))


@control
async def delete_tenant(request: Request, sim: Simulator) -> Any:
    sim.delete_tenant(request.path_params["ti"])
    return Response(status_code=204)


@control
async def tenant_ionapi(request: Request, sim: Simulator) -> Any:
    tenant = sim.tenant(request.path_params["ti"])
    return ionapi_document(tenant.credentials, base_url(request, sim))


@control
async def reset(request: Request, sim: Simulator) -> Any:
    tenant = sim.reset_tenant(request.path_params["ti"])
    return {"tenant": tenant.name, "seed": tenant.seed, "status": "reset"}


@control
async def reseed(request: Request, sim: Simulator) -> Any:
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("seed"), str):
        raise RequestError('body must be {"seed": "<name or file>"}')
    tenant = sim.tenant(request.path_params["ti"])
    sim.seed_data(body["seed"])
    tenant.seed = body["seed"]
    sim.reset_tenant(tenant.name)
    return {"tenant": tenant.name, "seed": tenant.seed, "status": "seeded"}


@control
async def get_snapshot(request: Request, sim: Simulator) -> Any:
    tenant = sim.tenant(request.path_params["ti"])
    return {
        "version": 1,
        "seed": tenant.seed,
        "state": tenant.state.snapshot(),
        "throttle": tenant.throttle.policy.to_json(),
        "authorization": tenant.authorization.to_json(),
        "pendingDeliveries": sim.hub.pending_for(tenant.name),
    }


@control
async def put_snapshot(request: Request, sim: Simulator) -> Any:
    tenant = sim.tenant(request.path_params["ti"])
    body = await json_body(request)
    if (
        not isinstance(body, dict)
        or body.get("version") != 1
        or not isinstance(body.get("state"), dict)
    ):
        raise RequestError('a snapshot is {"version": 1, "state": {...}, ...} as GET returns it')
    policy = ThrottlePolicy.from_json(body.get("throttle") or {})
    authz = Authorization.from_json(body.get("authorization"))
    try:
        from simulator.m3.store import TenantState

        trial = TenantState(tenant.name)
        trial.restore(body["state"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RequestError(f"snapshot state is malformed: {exc!r}") from None
    pending = body.get("pendingDeliveries") or []
    if not isinstance(pending, list):
        raise RequestError("pendingDeliveries must be a list, as GET returns it")
    requeued = sim.hub.restore_pending(tenant.name, pending)
    tenant.state.restore(body["state"])
    tenant.throttle.set_policy(policy)
    tenant.authorization = authz
    tenant.seed = str(body.get("seed") or tenant.seed)
    return {"tenant": tenant.name, "status": "restored", "pendingDeliveries": requeued}


@control
async def get_throttle(request: Request, sim: Simulator) -> Any:
    tenant = sim.tenant(request.path_params["ti"])
    return {"policy": tenant.throttle.policy.to_json(), "counters": tenant.throttle.counters()}


@control
async def put_throttle(request: Request, sim: Simulator) -> Any:
    tenant = sim.tenant(request.path_params["ti"])
    if "xml" in request.headers.get("content-type", ""):
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("XML policy is not valid UTF-8") from None
        policy = ThrottlePolicy.from_xml(text)
    else:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise RequestError("throttle policy must be a JSON object")
        policy = ThrottlePolicy.from_json(body)
    tenant.throttle.set_policy(policy)
    return {"policy": policy.to_json()}


@control
async def get_authorization(request: Request, sim: Simulator) -> Any:
    return sim.tenant(request.path_params["ti"]).authorization.to_json()


@control
async def put_authorization(request: Request, sim: Simulator) -> Any:
    tenant = sim.tenant(request.path_params["ti"])
    tenant.authorization = Authorization.from_json(await json_body(request))
    return tenant.authorization.to_json()


@control
async def get_clock(request: Request, sim: Simulator) -> Any:
    return {"now": sim.clock.now()}


@control
async def advance_clock(request: Request, sim: Simulator) -> Any:
    body = await json_body(request)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= MAX_CLOCK_STEP
    ):
        raise RequestError(
            f'body must be {{"seconds": <number from 0 to {MAX_CLOCK_STEP}>}} (one year at most)'
        )
    if sim.clock.now() + seconds > LAST_INSTANT:
        raise RequestError("the clock cannot go past the year 9999")
    sim.clock.advance(float(seconds))
    return {"now": sim.clock.now(), "advanced": seconds}


@control
async def openapi(request: Request, sim: Simulator) -> Any:
    from simulator.admin import openapi as full_openapi

    return full_openapi.openapi_document(sim, base_url(request, sim), routes=request.app.routes)


ROUTES = [
    Route("/_sim/health", health, methods=["GET"]),
    Route("/_sim/tenants", list_tenants, methods=["GET"]),
    Route("/_sim/tenants", create_tenant, methods=["POST"]),
    Route("/_sim/tenants/{ti}", get_tenant, methods=["GET"]),
    Route("/_sim/tenants/{ti}", delete_tenant, methods=["DELETE"]),
    Route("/_sim/tenants/{ti}/ionapi", tenant_ionapi, methods=["GET"]),
    Route("/_sim/tenants/{ti}/reset", reset, methods=["POST"]),
    Route("/_sim/tenants/{ti}/seed", reseed, methods=["POST"]),
    Route("/_sim/tenants/{ti}/snapshot", get_snapshot, methods=["GET"]),
    Route("/_sim/tenants/{ti}/snapshot", put_snapshot, methods=["PUT"]),
    Route("/_sim/tenants/{ti}/throttle", get_throttle, methods=["GET"]),
    Route("/_sim/tenants/{ti}/throttle", put_throttle, methods=["PUT"]),
    Route("/_sim/tenants/{ti}/authorization", get_authorization, methods=["GET"]),
    Route("/_sim/tenants/{ti}/authorization", put_authorization, methods=["PUT"]),
    Route("/_sim/clock", get_clock, methods=["GET"]),
    Route("/_sim/clock/advance", advance_clock, methods=["POST"]),
    Route("/_sim/openapi.json", openapi, methods=["GET"]),
]
