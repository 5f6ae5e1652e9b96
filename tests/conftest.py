"""Shared test fixtures: an in-process app per test and an authenticated MI caller.

Tests talk HTTP to the app (Starlette's TestClient over httpx); nothing binds a port here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from simulator.m3.engine import CallContext
from simulator.runtime import Simulator


def password_grant(ion: Mapping[str, str]) -> dict[str, str]:
    """The token request an integration sends with the credentials of its `.ionapi` file."""
    return {
        "grant_type": "password",
        "username": ion["saak"],
        "password": ion["sask"],
        "client_id": ion["ci"],
        "client_secret": ion["cs"],
    }


class MI:
    """A minimal M3 client the way integrations use it: token from the .ionapi, then MI calls."""

    def __init__(self, client: TestClient, tenant: str = "DEMO_TST") -> None:
        self.client = client
        self.tenant = tenant
        self.ionapi = client.get(f"/_sim/tenants/{tenant}/ionapi").json()
        self.token = self.fetch_token()

    def fetch_token(self) -> str:
        ion = self.ionapi
        r = self.client.post(
            f"/{self.tenant}/as/token.oauth2",
            data=password_grant(ion),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def raw(self, program: str, transaction: str, **params: Any) -> Any:
        return self.client.get(
            f"/{self.tenant}/M3/m3api-rest/v2/execute/{program}/{transaction}",
            params={k: str(v) for k, v in params.items()},
            headers=self.headers,
        )

    def call(self, program: str, transaction: str, **params: Any) -> dict[str, Any]:
        """The single v2 result (records or error) of one transaction."""
        r = self.raw(program, transaction, **params)
        assert r.status_code == 200, r.text
        return dict(r.json()["results"][0])

    def ok(self, program: str, transaction: str, **params: Any) -> list[dict[str, str]]:
        result = self.call(program, transaction, **params)
        assert "errorMessage" not in result, result
        return list(result["records"])

    def nok(self, program: str, transaction: str, **params: Any) -> dict[str, Any]:
        result = self.call(program, transaction, **params)
        assert "errorMessage" in result, result
        assert result["records"] == []
        return result

    def bulk(self, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        r = self.client.post(
            f"/{self.tenant}/M3/m3api-rest/v2/execute",
            json=body,
            params=params,
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


def engine_sim() -> Simulator:
    """A Simulator for engine-level tests (no HTTP): handlers driven through `run_engine`."""
    return Simulator(load_config(env={}, access_log=False), ManualClock())


def run_engine(sim: Simulator, program: str, trx: str, **fields: str) -> list[dict[str, str]]:
    """One MI transaction straight through the engine, as user IONSIM in company 100/AAA."""
    ctx = CallContext(tenant="DEMO_TST", cono="100", divi="AAA", now=sim.clock.now())
    return sim.engine.execute(sim.tenants["DEMO_TST"].state, program, trx, fields, ctx)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(clock: ManualClock) -> Any:
    return create_app(
        load_config(env={}, access_log=False, extra={"strict_events": True}), clock=clock
    )


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        yield c


@pytest.fixture
def mi(client: TestClient) -> MI:
    return MI(client)
