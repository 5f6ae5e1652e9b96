"""The dashboard over HTTP: the page and its assets, and the state browser's table route.

The browser test (`test_dashboard.py`) shows the page works for a person; these pin the
server side: what is served, with which headers, and how the table route treats bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from simulator.admin import dashboard
from tests.conftest import MI


def with_dashboard(app: Starlette) -> Starlette:
    """The app with the dashboard routes, whether or not app.py wires them already."""
    if not any(getattr(r, "path", None) == "/_sim/ui" for r in app.router.routes):
        app.router.routes[0:0] = dashboard.ROUTES
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(load_config(env={}, access_log=False), clock=ManualClock())
    with TestClient(with_dashboard(app), base_url="http://127.0.0.1:8080") as c:
        yield c


def rows(client: TestClient, table: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/_sim/tenants/DEMO_TST/tables/{table}", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_page_and_assets_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/_sim/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-testid="mi-table"' in page.text and 'src="ui/app.js"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        r = client.get(f"/_sim/ui/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert len(r.content) > 1000
    # Nothing outside the package: no CDN, no web fonts, no framework.
    everything = (
        page.text + client.get("/_sim/ui/app.js").text + client.get("/_sim/ui/app.css").text
    )
    assert "http://" not in everything.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in everything and "@import" not in everything
    assert ".innerHTML" not in client.get("/_sim/ui/app.js").text


def test_only_known_assets_are_served(client: TestClient) -> None:
    for path in ("/_sim/ui/index.py", "/_sim/ui/nope.js", "/_sim/ui/index.html"):
        assert client.get(path).status_code == 404, path
    sneaky = client.get("/_sim/ui/..%2Fdashboard.py")
    assert sneaky.status_code in (401, 404) and "import" not in sneaky.text
    r = client.get("/_sim/ui/?token=a", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/_sim/ui?token=a"


def test_token_in_the_page_url_is_carried_to_the_assets_escaped(client: TestClient) -> None:
    page = client.get("/_sim/ui", params={"token": 'se"cret<x>&'}).text
    assert 'src="ui/app.js?token=se%22cret%3Cx%3E%26"' in page
    assert 'href="ui/app.css?token=se%22cret%3Cx%3E%26"' in page
    assert "<x>" not in page


def test_orders_show_status_fields_and_the_newest_first(client: TestClient) -> None:
    mi = MI(client)
    temp = mi.ok("OIS100MI", "AddBatchHead", CUNO="C10001")[0]["ORNO"]
    mi.ok("OIS100MI", "AddBatchLine", ORNO=temp, ITNO="TENT-2P", ORQT="2")
    final = mi.ok("OIS100MI", "Confirm", ORNO=temp)[0]["ORNO"]
    body = rows(client, "orders", order="newest", limit=1)
    assert body["rows"][0]["ORNO"] == final and body["rows"][0]["CUNO"] == "C10001"
    assert body["columns"][:5] == ["ORNO", "CUNO", "ORSL", "ORST", "NTAM"]
    assert body["key"] == ["CONO", "ORNO"] and body["next"] == 1
    assert body["total"] == len(rows(client, "orders", limit=500)["rows"])
    keyed = rows(client, "orders", order="key")["rows"]
    assert [r["ORNO"] for r in keyed] == sorted(r["ORNO"] for r in keyed)


def test_paging_and_search(client: TestClient) -> None:
    first = rows(client, "customers", limit=3)
    assert len(first["rows"]) == 3 and first["next"] == 3 and first["start"] == 0
    rest = rows(client, "customers", limit=500, start=3)
    assert rest["next"] is None and len(rest["rows"]) == first["total"] - 3
    assert {r["CUNO"] for r in first["rows"]}.isdisjoint(r["CUNO"] for r in rest["rows"])
    found = rows(client, "customers", q="nordic outdoor")
    assert [r["CUNO"] for r in found["rows"]] == ["C10001"]
    assert rows(client, "balances", q="no such thing")["rows"] == []
    stock = rows(client, "item_warehouses")
    assert {"WHLO", "ITNO", "STQT", "ALQT", "AVAL"} <= set(stock["columns"])


def test_an_unused_table_is_empty_and_reading_it_creates_nothing(client: TestClient) -> None:
    before = client.get("/_sim/tenants/DEMO_TST/tables").json()["tables"]
    assert "po_entries" not in before and before["orders"] > 0
    body = rows(client, "po_entries")
    assert body["rows"] == [] and body["total"] == 0 and body["next"] is None
    assert "po_entries" not in client.get("/_sim/tenants/DEMO_TST/tables").json()["tables"]
    assert (
        "po_entries" not in client.get("/_sim/tenants/DEMO_TST/snapshot").json()["state"]["tables"]
    )


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/_sim/tenants/DEMO_TST/tables/nope", {}, 404, "no table 'nope'"),
        ("/_sim/tenants/DEMO_TST/tables/__class__", {}, 404, "no table"),
        ("/_sim/tenants/NOPE_TST/tables/orders", {}, 404, "NOPE_TST does not exist"),
        ("/_sim/tenants/NOPE_TST/tables", {}, 404, "NOPE_TST does not exist"),
        ("/_sim/tenants/DEMO_TST/tables/orders", {"limit": "0"}, 400, "limit must be from 1"),
        ("/_sim/tenants/DEMO_TST/tables/orders", {"limit": "501"}, 400, "to 500"),
        ("/_sim/tenants/DEMO_TST/tables/orders", {"limit": "ten"}, 400, "limit must be an integer"),
        ("/_sim/tenants/DEMO_TST/tables/orders", {"start": "-1"}, 400, "start must be from 0"),
        ("/_sim/tenants/DEMO_TST/tables/orders", {"order": "oldest"}, 400, "order must be one of"),
    ],
)
def test_bad_requests_answer_4xx_json(
    client: TestClient, path: str, params: dict[str, str], status: int, words: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_the_ui_files_ship_inside_the_package() -> None:
    from importlib.resources import files

    ui = files("simulator.admin").joinpath("ui")
    assert {"index.html", "app.js", "app.css"} <= {p.name for p in ui.iterdir()}
