"""The `/_sim/` control API as Python calls, the same whichever way the ionsim was started.

A test drives a thread, in-process or remote ionsim through these alone, over whatever
`httpx.Client` its server handle made, so nothing here knows or cares how it was started.
httpx is imported for typing only: the pytest plugin imports the harness lazily, and pytest
start-up must stay cheap for suites that never use ionsim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["Admin", "AdminError", "Tenant"]


class AdminError(Exception):
    """A `/_sim/` control call failed; the message carries the status and ionsim's reason."""


class Admin:
    """The `/_sim/` control API as methods. Every failure raises AdminError with the reason."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def _ok(self, r: httpx.Response, *expected: int) -> Any:
        if r.status_code not in (expected or (200,)):
            raise AdminError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def health(self) -> dict[str, Any]:
        return dict(self._ok(self.http.get("/_sim/health")))

    def create_tenant(self, name: str | None = None, seed: str | None = None, **extra: Any) -> Any:
        body = {k: v for k, v in {"name": name, "seed": seed, **extra}.items() if v is not None}
        return self._ok(self.http.post("/_sim/tenants", json=body), 201)

    def delete_tenant(self, name: str) -> None:
        self._ok(self.http.delete(f"/_sim/tenants/{name}"), 204)

    def ionapi(self, tenant: str) -> dict[str, str]:
        return dict(self._ok(self.http.get(f"/_sim/tenants/{tenant}/ionapi")))

    def reset(self, tenant: str) -> Any:
        return self._ok(self.http.post(f"/_sim/tenants/{tenant}/reset"))

    def seed(self, tenant: str, seed: str) -> Any:
        return self._ok(self.http.post(f"/_sim/tenants/{tenant}/seed", json={"seed": seed}))

    def snapshot(self, tenant: str) -> dict[str, Any]:
        return dict(self._ok(self.http.get(f"/_sim/tenants/{tenant}/snapshot")))

    def restore(self, tenant: str, snapshot: Mapping[str, Any]) -> Any:
        return self._ok(self.http.put(f"/_sim/tenants/{tenant}/snapshot", json=dict(snapshot)))

    def throttle(self, tenant: str, policy: Mapping[str, Any] | None = None) -> Any:
        if policy is None:
            return self._ok(self.http.get(f"/_sim/tenants/{tenant}/throttle"))
        return self._ok(self.http.put(f"/_sim/tenants/{tenant}/throttle", json=dict(policy)))

    def authorization(self, tenant: str, body: Mapping[str, Any] | None = None) -> Any:
        path = f"/_sim/tenants/{tenant}/authorization"
        if body is None:
            return self._ok(self.http.get(path))
        return self._ok(self.http.put(path, json=dict(body)))

    def advance_clock(self, seconds: float) -> Any:
        return self._ok(self.http.post("/_sim/clock/advance", json={"seconds": seconds}))

    def faults(self, rules: list[Mapping[str, Any]] | None) -> Any:
        if rules is None:
            return self._ok(self.http.delete("/_sim/faults"))
        return self._ok(self.http.put("/_sim/faults", json={"rules": list(rules)}))

    def subscribe(self, body: Mapping[str, Any]) -> str:
        return str(self._ok(self.http.post("/_sim/subscriptions", json=dict(body)), 201)["id"])

    def unsubscribe(self, sid: str) -> None:
        self._ok(self.http.delete(f"/_sim/subscriptions/{sid}"))

    def events(self, tenant: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        """Published events (`GET /_sim/events`), oldest first, as ionsim describes them."""
        params = {k: v for k, v in {"tenant": tenant, "channel": channel}.items() if v}
        out: list[dict[str, Any]] = []
        since = 0
        while True:
            page = self._ok(self.http.get("/_sim/events", params={**params, "since": since}))
            out.extend(page["events"])
            if not page["events"] or page["last"] == since:
                return out
            since = page["last"]

    def deliveries(self, **query: str) -> list[dict[str, Any]]:
        return list(self._ok(self.http.get("/_sim/deliveries", params=query))["deliveries"])


class Tenant:
    """One tenant of a running ionsim, with its control calls bound to its name.

    `advance_clock` moves the simulator's one clock: every tenant on that server sees it (tokens
    of other tests' tenants age too). Under pytest-xdist each worker has its own server, so only
    tests sharing one `--ionsim-url` server can feel it.
    """

    def __init__(self, admin: Admin, name: str, seed: str, ionapi: dict[str, str]) -> None:
        self.admin = admin
        self.name = name
        self.seed = seed
        self.ionapi = ionapi
        self.faults_set = False

    @classmethod
    def create(cls, admin: Admin, seed: str | None = None, name: str | None = None) -> Tenant:
        """A new tenant with a unique name (safe across xdist workers and shared servers)."""
        import uuid

        name = name or f"PT{uuid.uuid4().hex[:12].upper()}_TST"
        body = admin.create_tenant(name, seed)
        return cls(admin, body["name"], body["seed"], dict(body["credentials"]))

    def reset(self) -> Any:
        return self.admin.reset(self.name)

    def load_seed(self, seed: str) -> Any:
        self.seed = seed
        return self.admin.seed(self.name, seed)

    def snapshot(self) -> dict[str, Any]:
        return self.admin.snapshot(self.name)

    def restore(self, snapshot: Mapping[str, Any]) -> Any:
        return self.admin.restore(self.name, snapshot)

    def throttle(self, policy: Mapping[str, Any] | None = None) -> Any:
        """Sets the throttle policy (Infor's names); without one, returns it with its counters."""
        return self.admin.throttle(self.name, policy)

    def authorization(self, body: Mapping[str, Any] | None = None) -> Any:
        return self.admin.authorization(self.name, body)

    def faults(self, rules: list[Mapping[str, Any]] | None) -> Any:
        """Replaces the server's fault rules, each scoped to this tenant unless it names one.

        Fault rules are global on the server (one set), so tests that use them should not run
        against one shared server in parallel; `None` clears them.
        """
        if rules is None:
            self.faults_set = False
            return self.admin.faults(None)
        scoped = []
        for rule in rules:
            match = {"tenant": self.name, **dict(rule.get("match") or {})}
            scoped.append({**dict(rule), "match": match})
        self.faults_set = True
        return self.admin.faults(scoped)

    def advance_clock(self, seconds: float) -> Any:
        """Moves the server's global clock (see the class docstring)."""
        return self.admin.advance_clock(seconds)

    def events(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Events published for this tenant, oldest first (`GET /_sim/events`)."""
        return self.admin.events(self.name, channel)

    def delete(self) -> None:
        self.admin.delete_tenant(self.name)

    def __repr__(self) -> str:
        return f"Tenant({self.name!r}, seed={self.seed!r})"
