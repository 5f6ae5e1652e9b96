"""Schemathesis against the full OpenAPI document, in process (ASGI), every operation.

What it proves: no operation answers 5xx for inputs its own document allows, and every answer
(status, content type, headers, body) is one the document promises. MI operations run with a
real bearer token fetched from the tenant's `.ionapi`, so they reach the engine instead of
stopping at 401.

Why the state is restored before each case: the fuzzer may delete `DEMO_TST`, throttle it to
one call, install fault rules (a 503 or a hang on purpose) or move the simulated clock a year
on (expiring every token). Those answers are
documented and checked when they happen, but left in place they would turn every later case
into the same 401/404 and hide the rest of the API.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis to fuzz")

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis import checks as st_checks  # noqa: E402
from schemathesis.specs.openapi import checks as oa_checks  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from simulator import ManualClock, create_app, load_config  # noqa: E402
from simulator.admin.openapi import openapi_document  # noqa: E402
from tests.conftest import password_grant  # noqa: E402

pytestmark = pytest.mark.reliability

TENANT = "DEMO_TST"
# A sink nobody listens on: fuzzed subscriptions must never reach beyond loopback.
DISCARD_URL = "http://127.0.0.1:9/fuzz"
MAX_EXAMPLES = int(os.environ.get("IONSIM_FUZZ_EXAMPLES", "6"))

APP = create_app(load_config(env={}, access_log=False), clock=ManualClock())
DOC = openapi_document(APP.state.sim, "http://127.0.0.1:8080", routes=APP.routes)
# The coverage phase precomputes hundreds of boundary cases per operation at collection time
# (minutes for ~250 operations); positive and negative fuzzing within MAX_EXAMPLES is enough.
CONFIG = schemathesis.config.SchemathesisConfig.from_str(
    '[phases.coverage]\nenabled = false\n[generation]\nmode = "all"\n'
)
schema = schemathesis.openapi.from_dict(DOC, config=CONFIG)
schema.app = APP  # what `from_asgi` sets: calls go to the app in process

CHECKS = [
    st_checks.not_a_server_error,
    oa_checks.status_code_conformance,
    oa_checks.content_type_conformance,
    oa_checks.response_headers_conformance,
    oa_checks.response_schema_conformance,
]


def _control() -> TestClient:
    return TestClient(APP, base_url="http://127.0.0.1:8080")


def baseline() -> str:
    """Puts DEMO_TST back (exists, unthrottled, authorization off) and returns a fresh token."""
    sim = APP.state.sim
    c = _control()
    if TENANT not in sim.tenants:
        assert c.post("/_sim/tenants", json={"name": TENANT}).status_code == 201
    if getattr(sim, "ops", None) is not None and sim.ops.faults.rules:
        c.delete("/_sim/faults")  # an injected 5xx or hang is the rule working, not a bug
    tenant = sim.tenants[TENANT]
    if tenant.throttle.policy.to_json():
        c.put(f"/_sim/tenants/{TENANT}/throttle", json={})
    if tenant.authorization.to_json().get("enabled"):
        c.put(f"/_sim/tenants/{TENANT}/authorization", json={"enabled": False})
    ion = c.get(f"/_sim/tenants/{TENANT}/ionapi").json()
    r = c.post(
        f"/{TENANT}/as/token.oauth2",
        data=password_grant(ion),
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _loopback_only(case: Any) -> None:
    """Points any fuzzed webhook URL at a closed loopback port."""
    if case.operation.path == "/_sim/subscriptions" and isinstance(case.body, dict):
        case.body["url"] = DISCARD_URL


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_conforms(case: Any) -> None:
    _loopback_only(case)
    headers = {"Authorization": f"Bearer {baseline()}"}
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_document_covers_every_route() -> None:
    """Every served route and method has an operation, and none is only a generic stand-in."""
    generic = [
        f"{method.upper()} {path}"
        for path, item in DOC["paths"].items()
        for method, op in item.items()
        if op.get("tags") == ["undescribed"]
    ]
    assert DOC["paths"], "empty document"
    assert not generic, f"routes served but not described in simulator/admin/openapi/: {generic}"
