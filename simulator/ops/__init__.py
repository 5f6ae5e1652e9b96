"""Operating the simulator: fault injection, the request journal and metrics, in one place.

`Ops` hangs off the Simulator as `sim.ops`. The middleware (`ops.middleware`) opens one journal
entry per gateway request and closes it with `finish`; the gateway's hooks (`run`, `admit_call`,
the token endpoint) and delivery (`delivery`) add to it. Everything is a few dict and deque
operations, so the hot path pays little when nothing is wrong.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from simulator.errors import ConfigError, MIError, RequestError
from simulator.ops.faults import FaultSet, MatchContext, parse_rules
from simulator.ops.journal import CURRENT, Journal
from simulator.ops.metrics import Metrics

if TYPE_CHECKING:
    from simulator.runtime import Simulator

__all__ = ["CURRENT", "Ops"]

TOKEN_ROUTE = "/{ti}/as/token.oauth2"


class Ops:
    def __init__(self, sim: Simulator) -> None:
        config = sim.config
        self.sim = sim
        self.journal = Journal(config.journal_size)
        self.metrics = Metrics()
        try:
            self.faults = FaultSet(parse_rules(config.faults))
        except RequestError as exc:
            raise ConfigError(f"faults: {exc.message}") from None
        self.max_hang = float(config.extra.get("fault_max_hang", 300.0))
        self.closing = False

    def fired(self, label: str) -> None:
        m = self.metrics.faults_fired
        m[label] = m.get(label, 0) + 1

    # -- the gateway's hooks ----------------------------------------------------------------
    def open_entry(
        self, method: str, path: str, route: str, kind: str, tenant: str, program: str, trx: str
    ) -> dict[str, Any]:
        """A gateway request's journal entry, sized once: the hooks fill `access` and
        `throttle`, `mi_call` adds `request`, `records` and `error`, `finish` the rest."""
        return {
            "at": self.sim.clock.now(),
            "kind": kind,
            "tenant": tenant,
            "method": method,
            "path": path,
            "route": route,
            "status": 0,
            "program": program,
            "transaction": trx,
            "access": None,
            "throttle": None,
            "seq": 0,
            "dur": 0.0,
        }

    def finish(self, rec: dict[str, Any], t0: float) -> None:
        """Closes a gateway request: journal entry, request, token and throttle counters."""
        self.journal.add(rec)
        m = self.metrics
        status = rec["status"]
        m.request(rec["route"], rec["method"], status, t0)
        decision = rec.get("throttle")
        if rec["route"] != TOKEN_ROUTE and (
            decision is None or (decision.allowed and decision.delay_s <= 0)
        ):
            return  # most requests: nothing more to count
        tenant = rec["tenant"] if rec["tenant"] in self.sim.tenants else "_unknown"
        if rec["route"] == TOKEN_ROUTE:
            if status == 200:
                key = (tenant, rec.get("grant") or "unknown")
                m.tokens_issued[key] = m.tokens_issued.get(key, 0) + 1
            else:
                key = (tenant, rec.get("oauthError") or f"http_{status}")
                m.tokens_refused[key] = m.tokens_refused.get(key, 0) + 1
        if decision is not None:
            if not decision.allowed:
                key = (tenant, decision.reason)
                m.throttle_rejections[key] = m.throttle_rejections.get(key, 0) + 1
            elif decision.delay_s > 0:
                m.throttle_delays[tenant] = m.throttle_delays.get(tenant, 0) + 1

    def nok_fault(
        self, rec: dict[str, Any], tenant: str, client_id: str, program: str, transaction: str
    ) -> tuple[MIError | None, Any]:
        """An injected NOK for this transaction (a `nok` rule or the fault header), if any."""
        forced = rec.get("force_nok")
        if forced is not None:
            self.fired("header")
            return forced, "header"
        ctx = MatchContext(tenant, rec["path"], rec["method"], client_id, ((program, transaction),))
        rule = self.faults.pick(self.faults.nok, ctx)
        if rule is None:
            return None, None
        self.fired(str(rule.index))
        return rule.nok_error(), rule.index

    def mi_call(
        self,
        rec: dict[str, Any],
        tenant: str,
        program: str,
        transaction: str,
        fields: Any,
        records: list[dict[str, str]] | None,
        error: MIError | None,
        t0: float,
        fault: Any = None,
    ) -> None:
        """One MI transaction answered: counted, and journaled (bulk: an entry of its own)."""
        self.metrics.mi_call(tenant, program, transaction, error is None)
        n = 0 if records is None else len(records)
        if rec["kind"] == "mi":
            rec["program"], rec["transaction"] = program, transaction
            rec["request"], rec["records"], rec["error"] = fields, n, error
            if fault is not None:
                rec["fault"] = fault
            return
        rec["transactions"] = rec.get("transactions", 0) + 1
        if error is not None:
            rec["nok"] = rec.get("nok", 0) + 1
        self.journal.add(
            {
                "at": self.sim.clock.now(),
                "kind": "mi",
                "tenant": tenant,
                "method": rec["method"],
                "path": rec["path"],
                "route": rec["route"],
                "status": 200,
                "dur": (time.perf_counter() - t0) * 1000,
                "access": rec.get("access"),
                "program": program,
                "transaction": transaction,
                "request": fields,
                "records": n,
                "error": error,
                "throttle": rec.get("throttle"),
                "fault": fault,
                "bulk": True,
            }
        )

    # -- delivery's hook --------------------------------------------------------------------
    def delivery(
        self, d: Any, attempt: int, at: float, status: int, error: str, latency: float, outcome: str
    ) -> None:
        """One webhook attempt: journaled; a success feeds the latency histogram."""
        event, sub = d.event, d.sub
        if outcome == "delivered":
            self.metrics.delivered(event.channel, max(self.sim.clock.now() - d.entered, 0.0))
        url = sub.url.split("?", 1)[0].split("#", 1)[0]
        scheme, sep, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        url = f"{scheme}{sep}{host.rpartition('@')[2]}{slash}{path}"
        self.journal.add(
            {
                "at": at,
                "kind": "delivery",
                "tenant": event.tenant,
                "method": "POST",
                "path": url,
                "route": "",
                "status": status,
                "dur": latency * 1000,
                "channel": event.channel,
                "eventId": event.event_id,
                "subscription": sub.id,
                "attempt": attempt,
                "outcome": outcome,
                "error": error or None,
                "key": event.key,
            }
        )
