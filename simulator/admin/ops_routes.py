"""Control routes for operating the simulator: faults, journal, stats, metrics, the clock.

`GET /_sim/clock` here replaces the bare one in `admin.routes` (listed first in `create_app`):
it adds the ISO form and the offset from wall time, which the dashboard shows.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.admin.routes import control, json_body
from simulator.errors import RequestError
from simulator.ops.faults import parse_rules
from simulator.ops.journal import KINDS, iso
from simulator.ops.metrics import CONTENT_TYPE
from simulator.runtime import Simulator

MAX_LIMIT = 10_000


@control
async def get_faults(request: Request, sim: Simulator) -> Any:
    return sim.ops.faults.to_json(sim.config.fault_header)


@control
async def put_faults(request: Request, sim: Simulator) -> Any:
    """Replaces the whole set (counters start afresh); a bad rule changes nothing."""
    rules = parse_rules(await json_body(request))
    sim.ops.faults.replace(rules)
    return sim.ops.faults.to_json(sim.config.fault_header)


@control
async def delete_faults(request: Request, sim: Simulator) -> Any:
    cleared = sim.ops.faults.clear()
    return {**sim.ops.faults.to_json(sim.config.fault_header), "cleared": cleared}


def _int(q: Any, name: str, default: int) -> int:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise RequestError(f"{name} must not be negative")
    return value


@control
async def get_journal(request: Request, sim: Simulator) -> Any:
    """`GET /_sim/journal?kind=&tenant=&program=&transaction=&status=&client_id=&since=&limit=`"""
    q = request.query_params
    kind = q.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise RequestError(f"kind must be one of {', '.join(KINDS)}")
    try:
        return sim.ops.journal.query(
            kind=kind,
            tenant=q.get("tenant") or None,
            program=q.get("program") or None,
            transaction=q.get("transaction") or None,
            status=q.get("status") or None,
            client_id=q.get("client_id") or q.get("clientId") or None,
            since=_int(q, "since", 0),
            limit=min(_int(q, "limit", 100), MAX_LIMIT),
        )
    except ValueError as exc:
        raise RequestError(str(exc)) from None


@control
async def delete_journal(request: Request, sim: Simulator) -> Any:
    return {"cleared": sim.ops.journal.clear(), "last": sim.ops.journal.last}


@control
async def get_stats(request: Request, sim: Simulator) -> Any:
    return sim.ops.metrics.stats(sim)


async def metrics(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    return Response(sim.ops.metrics.render(sim), media_type=CONTENT_TYPE)


@control
async def get_clock(request: Request, sim: Simulator) -> Any:
    now = sim.clock.now()
    offset = getattr(sim.clock, "offset", None)
    if offset is None:
        offset = now - time.time()
    return {"now": now, "iso": iso(now), "offset": round(offset, 3)}


ROUTES = [
    Route("/_sim/faults", get_faults, methods=["GET"]),
    Route("/_sim/faults", put_faults, methods=["PUT"]),
    Route("/_sim/faults", delete_faults, methods=["DELETE"]),
    Route("/_sim/journal", get_journal, methods=["GET"]),
    Route("/_sim/journal", delete_journal, methods=["DELETE"]),
    Route("/_sim/stats", get_stats, methods=["GET"]),
    Route("/_sim/clock", get_clock, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
