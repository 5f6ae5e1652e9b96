"""The simulator's live state: tenants, tokens, the M3 engine and the clock.

`Simulator` is built once per app from the Config. Everything a request needs hangs off it
(`request.app.state.sim`), so tests can build several isolated simulators in one process.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.clock import Clock, SimClock
from simulator.config import Config, TenantSpec
from simulator.errors import ConfigError, RequestError
from simulator.gateway.authz import Authorization
from simulator.gateway.ionapi import Credentials, default_credentials, random_credentials
from simulator.gateway.throttle import Throttle, ThrottlePolicy
from simulator.gateway.tokens import TokenService
from simulator.m3.catalog_loader import load_catalog
from simulator.m3.definitions import Catalog
from simulator.m3.engine import Engine
from simulator.m3.handlers import load_handlers
from simulator.m3.handlers.generic import for_programs
from simulator.m3.seed import apply_seed, load_seed
from simulator.m3.store import TenantState

_CATALOGS: dict[str, Catalog] = {}


def _catalog(data_dir: Path | None) -> Catalog:
    """Definitions are immutable once loaded; apps in one process (tests, the plugin) share them."""
    key = str(data_dir.resolve()) if data_dir else ""
    if key not in _CATALOGS:
        _CATALOGS[key] = load_catalog(data_dir)
    return _CATALOGS[key]


def _canned(config: Config, catalog: Catalog) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Config `canned`: fixed records for transactions that have no behaviour in ionsim.

    `{"CRS610MI/LstAddresses": [{"CUNO": "C10001", "ADRT": "1"}]}`: those records are answered
    (shaped to the transaction's output fields) instead of the "not simulated" NOK.
    """
    spec = config.extra.get("canned") or {}
    if not isinstance(spec, dict):
        raise ConfigError("canned must map PROGRAM/TRANSACTION to a list of records")
    out: dict[tuple[str, str], list[dict[str, str]]] = {}
    for name, records in spec.items():
        program, _, transaction = str(name).partition("/")
        if catalog.transaction(program, transaction) is None:
            raise ConfigError(f"canned: {name} is not a transaction of the MI catalog")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ConfigError(f"canned: {name} must be a list of records (mappings)")
        out[(program, transaction)] = [
            {str(k): "" if v is None else str(v) for k, v in r.items()} for r in records
        ]
    return out


def _positive(extra: Any, key: str, default: int) -> int:
    """A size from the config file (the bounds of rings and queues), checked at start-up."""
    value = extra.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key} must be a positive whole number, not {value!r}")
    return value


@dataclass
class Tenant:
    name: str
    credentials: Credentials
    state: TenantState
    seed: str
    throttle: Throttle
    authorization: Authorization = field(default_factory=Authorization)

    @property
    def user(self) -> str:
        """The M3 user behind the tenant's service account (seed `user.USID`)."""
        return self.state.settings.get("user", {}).get("USID", "IONSIM")

    @property
    def defaults(self) -> dict[str, str]:
        return self.state.settings.get("user", {})


class Simulator:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SimClock()
        self.rng = random.Random(config.rng_seed)
        self.catalog: Catalog = _catalog(config.data_dir)
        handlers = {**for_programs(list(self.catalog.programs)), **load_handlers()}
        self.engine = Engine(
            self.catalog, handlers, aliases=config.aliases, canned=_canned(config, self.catalog)
        )
        self.tokens = TokenService(
            self.clock,
            lifetime=config.token_lifetime,
            refresh_lifetime=config.refresh_token_lifetime,
        )
        self.tenants: dict[str, Tenant] = {}
        self.base_url = f"http://{config.host}:{config.port}"
        self._seeds: dict[str, dict[str, Any]] = {}
        self.sleep = asyncio.sleep
        for spec in config.tenants:
            self.create_tenant(spec)
        from simulator.events.delivery import DeliveryHub
        from simulator.ops import Ops

        self.ops = Ops(self)  # faults, journal, metrics: before the hub, which reports to it

        extra = config.extra
        self.hub = DeliveryHub(  # webhook delivery; its workers start with the app
            self,
            log_cap=_positive(extra, "delivery_log_size", 100_000),
            dlq_cap=_positive(extra, "dead_letter_size", 100_000),
        )

    def seed_data(self, name: str) -> dict[str, Any]:
        if name not in self._seeds:
            self._seeds[name] = load_seed(name, self.config.data_dir)
        return self._seeds[name]

    def create_tenant(self, spec: TenantSpec | str, *, random_creds: bool | None = None) -> Tenant:
        if isinstance(spec, str):
            spec = TenantSpec(spec)
        if spec.name in self.tenants:
            raise RequestError(f"tenant {spec.name} exists already", 409)
        seed = spec.seed or self.config.seed
        state = TenantState(spec.name)
        apply_seed(state, self.seed_data(seed))
        use_random = self.config.random_credentials if random_creds is None else random_creds
        creds = (
            random_credentials(spec.name, self.rng if self.config.rng_seed is not None else None)
            if use_random
            else default_credentials(spec.name)
        )
        try:
            throttle_spec = spec.throttle if spec.throttle is not None else self.config.throttle
            policy = (
                ThrottlePolicy.from_json(throttle_spec)
                if throttle_spec
                else ThrottlePolicy.unlimited()
            )
            authz_spec = (
                spec.authorization if spec.authorization is not None else self.config.authorization
            )
            authz = Authorization.from_json(authz_spec)
        except RequestError as exc:
            raise ConfigError(f"tenant {spec.name}: {exc.message}") from None
        tenant = Tenant(spec.name, creds, state, seed, Throttle(policy, self.clock), authz)
        self.tenants[spec.name] = tenant
        return tenant

    def tenant(self, name: str) -> Tenant:
        try:
            return self.tenants[name]
        except KeyError:
            raise RequestError(f"tenant {name} does not exist", 404) from None

    def reset_tenant(self, name: str) -> Tenant:
        tenant = self.tenant(name)
        apply_seed(tenant.state, self.seed_data(tenant.seed))
        tenant.throttle.reset()
        return tenant

    def delete_tenant(self, name: str) -> None:
        self.tenant(name)
        del self.tenants[name]
        self.tokens.revoke_all(name)
