"""Protecting a shared instance: the admin token on `/_sim/*` and `/metrics`, and CORS."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from simulator.cli import build_parser, main
from simulator.server import config_from_args
from tests.conftest import MI, password_grant
from tests.test_faults import live_server

ADMIN = "qa-shared-2f9c"


@pytest.fixture
def protected(clock: ManualClock) -> Iterator[TestClient]:
    app = create_app(load_config(env={}, access_log=False, admin_token=ADMIN), clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        yield c


def test_off_by_default(client: TestClient) -> None:
    assert client.get("/_sim/tenants").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_control_routes_and_metrics_need_the_token(protected: TestClient) -> None:
    for method, path in (
        ("GET", "/_sim/tenants"),
        ("PUT", "/_sim/faults"),
        ("GET", "/_sim/journal"),
        ("GET", "/metrics"),
        ("POST", "/_sim/clock/advance"),
        ("GET", "/_sim/nothing-here"),
        ("GET", "/_sim/ui"),
    ):
        r = protected.request(method, path)
        assert r.status_code == 401, (method, path)
        assert r.json()["error"].startswith("admin token required")
        assert r.headers["www-authenticate"] == 'Bearer realm="ionsim-admin"'
    assert protected.get("/_sim/health").status_code == 200
    wrong = {"Authorization": "Bearer nope"}
    assert protected.get("/_sim/tenants", headers=wrong).status_code == 401
    bearer = {"Authorization": f"Bearer {ADMIN}"}
    assert protected.get("/_sim/tenants", headers=bearer).status_code == 200
    header = {"X-Ionsim-Admin-Token": ADMIN}
    assert protected.get("/metrics", headers=header).status_code == 200


def test_query_token_only_for_the_dashboard(protected: TestClient) -> None:
    assert protected.get("/_sim/tenants", params={"token": ADMIN}).status_code == 401
    for path in ("/_sim/ui", "/_sim/ui/app.js"):
        assert not refused(protected.get(path, params={"token": ADMIN}))
        assert refused(protected.get(path, params={"token": "nope"}))


def refused(r: httpx.Response) -> bool:
    """Refused by the admin-token check (not by whatever route answers behind it)."""
    return r.status_code == 401 and str(r.json().get("error", "")).startswith("admin token")


def test_the_gateway_itself_needs_no_admin_token(protected: TestClient) -> None:
    ion = protected.get("/_sim/tenants/DEMO_TST/ionapi", headers={"X-Ionsim-Admin-Token": ADMIN})
    r = protected.post(
        "/DEMO_TST/as/token.oauth2",
        data=password_grant(ion.json()),
    )
    assert r.status_code == 200
    r = protected.get(
        "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData?CUNO=C10001",
        headers={"Authorization": f"Bearer {r.json()['access_token']}"},
    )
    assert r.status_code == 200


def test_token_from_environment_flag_and_not_in_repr() -> None:
    config = load_config(
        env={
            "IONSIM_ADMIN_TOKEN": ADMIN,
            "IONSIM_CORS_ORIGINS": "http://a.test, http://b.test/",
            "IONSIM_FAULT_HEADER": "yes",
        }
    )
    assert config.admin_token == ADMIN and ADMIN not in repr(config)
    assert config.cors_origins == ("http://a.test", "http://b.test") and config.fault_header
    args = build_parser().parse_args(
        ["serve", "--admin-token", "t", "--cors-origin", "http://x.test"]
    )
    config = config_from_args(args)
    assert config.admin_token == "t" and config.cors_origins == ("http://x.test",)
    assert load_config(env={}).admin_token is None and load_config(env={}).cors_origins == ()


def test_cors_is_off_unless_configured(client: TestClient) -> None:
    preflight = {"Origin": "http://qa.test", "Access-Control-Request-Method": "PUT"}
    r = client.options("/_sim/faults", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/_sim/tenants", headers={"Origin": "http://qa.test"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_for_configured_origins_with_the_admin_token(clock: ManualClock) -> None:
    config = load_config(
        env={}, access_log=False, admin_token=ADMIN, cors_origins=["http://qa.test"]
    )
    with TestClient(create_app(config, clock=clock), base_url="http://127.0.0.1:8080") as c:
        preflight = {
            "Origin": "http://qa.test",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-ionsim-admin-token",
        }
        r = c.options("/_sim/faults", headers=preflight)  # no token on a preflight
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "http://qa.test"
        evil = c.options("/_sim/faults", headers={**preflight, "Origin": "http://evil.test"})
        assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers
        r = c.get("/_sim/stats", headers={"Origin": "http://qa.test"})
        assert r.status_code == 401
        r = c.get(
            "/_sim/stats", headers={"Origin": "http://qa.test", "X-Ionsim-Admin-Token": ADMIN}
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "http://qa.test"
        m = c.get("/DEMO_TST/M3/m3api-rest/v2/execute/X/Y", headers={"Origin": "http://qa.test"})
        assert m.status_code == 401 and m.headers["access-control-allow-origin"] == "http://qa.test"


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_cli_journal_and_faults_against_a_protected_server(tmp_path: Any) -> None:
    with live_server(admin_token=ADMIN) as (base, _, _):
        rules = tmp_path / "rules.json"
        rules.write_text(
            json.dumps(
                {
                    "rules": [
                        {
                            "match": {"program": "OIS100MI", "transaction": "Confirm"},
                            "action": {"status": 503},
                            "every": 3,
                        }
                    ]
                }
            )
        )
        assert _cli("faults", "set", str(rules), "--url", base)[0] == 1  # no token
        code, out = _cli("faults", "set", str(rules), "--url", base, "--admin-token", ADMIN)
        assert code == 0 and "every=3" in out and "1 rules, 0 fired" in out
        http = httpx.Client(base_url=base, headers={"X-Ionsim-Admin-Token": ADMIN})
        with http:
            m = MI.__new__(MI)
            m.client, m.tenant = http, "DEMO_TST"  # type: ignore[assignment]
            m.ionapi = http.get("/_sim/tenants/DEMO_TST/ionapi").json()
            m.token = m.fetch_token()
            for _ in range(3):
                m.raw("OIS100MI", "Confirm", ORNO="1")
        code, out = _cli("journal", "--url", base, "--admin-token", ADMIN, "--kind", "mi")
        lines = out.strip().splitlines()
        assert code == 0 and len(lines) == 3
        assert "OIS100MI/Confirm" in lines[0] and " 503 " in lines[2] and "fault=0" in lines[2]
        code, out = _cli("journal", "--url", base, "--admin-token", ADMIN, "--json", "--limit", "1")
        assert json.loads(out)["status"] == 503
        code, out = _cli("faults", "--url", base, "--admin-token", ADMIN)
        assert "matched=3 fired=1" in out
        assert _cli("faults", "clear", "--url", base, "--admin-token", ADMIN)[0] == 0
    assert _cli("journal", "--url", base)[0] == 1  # server gone: one line, exit 1
