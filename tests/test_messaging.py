"""ION Messaging Service inbound: multipart messages as a real client sends them (ion-m3.md §6.2).

Most tests go through Starlette's TestClient (httpx); one sends the reference's wire example
over a real socket to uvicorn on a free loopback port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from simulator.events.messaging import CONTROL_ROUTES, ROUTES
from tests.conftest import MI, password_grant

IMS = "/DEMO_TST/IONSERVICES/api/ion/messaging/service"
LID = "lid://infor.ionsim.demo_tst"
BOD = (
    '<SyncCustomerPartyMaster xmlns="http://schema.infor.com/InforOAGIS/2">'
    "<Name>Åsa &amp; Co</Name></SyncCustomerPartyMaster>"
)


def make_app() -> Any:
    app = create_app(load_config(env={}, access_log=False), clock=ManualClock())
    app.router.routes[0:0] = [*ROUTES, *CONTROL_ROUTES]
    return app


@pytest.fixture
def ims() -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(make_app(), base_url="http://127.0.0.1:8080") as client:
        yield client, MI(client).headers


def parts(payload: bytes | str = BOD, **params: Any) -> dict[str, Any]:
    """The two parts exactly as the real client sends them: both with filename "filename"."""
    body = {
        "documentName": "SyncCustomerPartyMaster",
        "fromLogicalId": LID,
        "toLogicalId": "lid://default",
        "encoding": "NONE",
        "characterSet": "UTF-8",
        **params,
    }
    raw = payload.encode() if isinstance(payload, str) else payload
    return {
        "ParameterRequest": ("filename", json.dumps(body), "application/json"),
        "MessagePayload": ("filename", raw, "application/octet-stream"),
    }


def test_ping_versions_and_tokens(ims: Any) -> None:
    client, headers = ims
    assert client.get(f"{IMS}/ping", headers=headers).status_code == 200
    assert client.get(f"{IMS}/versions", headers=headers).json() == {"versions": ["v2", "v3"]}
    assert client.get(f"{IMS}/ping").status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert client.post(f"{IMS}/v2/multipartMessage", files=parts(), headers=bad).status_code == 401


def test_v2_and_v3_accept_and_record(ims: Any) -> None:
    client, headers = ims
    r = client.post(f"{IMS}/v2/multipartMessage", files=parts(messageId="m-1"), headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["messageId"] == "m-1"
    deflated = zlib.compress(BOD.encode())
    r = client.post(
        f"{IMS}/v3/multipartMessage",
        files=parts(deflated, encoding="DEFLATE", documentName="ProcessSalesOrder"),
        headers=headers,
    )
    assert r.status_code == 202, r.text
    raw = zlib.compressobj(wbits=-15)
    raw_deflate = raw.compress(BOD.encode()) + raw.flush()
    files = parts(raw_deflate, encoding="DEFLATE")
    r = client.post(f"{IMS}/v3/multipartMessage", files=files, headers=headers)
    assert r.status_code == 202, r.text
    got = client.get("/_sim/tenants/DEMO_TST/messages").json()["messages"]
    assert [m["documentName"] for m in got] == [
        "SyncCustomerPartyMaster",
        "ProcessSalesOrder",
        "SyncCustomerPartyMaster",
    ]
    assert all(m["payload"] == BOD for m in got)
    assert got[0]["parameters"]["toLogicalId"] == "lid://default"
    assert got[0]["receivedAt"] == "2023-11-14T22:13:20.000Z" and got[1]["version"] == "v3"
    assert client.delete("/_sim/tenants/DEMO_TST/messages").json() == {"deleted": 3}
    assert client.get("/_sim/tenants/DEMO_TST/messages").json()["messages"] == []


def test_foreign_logical_id_is_403_and_unaccepted_document_412(ims: Any) -> None:
    client, headers = ims
    for version in ("v2", "v3"):
        url = f"{IMS}/{version}/multipartMessage"
        r = client.post(url, files=parts(fromLogicalId="lid://infor.test"), headers=headers)
        assert r.status_code == 403 and r.json()["status"] == "FAIL"
        r = client.post(url, files=parts(documentName="SyncRocket"), headers=headers)
        assert r.status_code == 412 and "SyncRocket" in r.json()["errors"]
    assert client.get("/_sim/tenants/DEMO_TST/messages").json()["messages"] == []


@pytest.mark.parametrize(
    "files",
    [
        {"MessagePayload": ("filename", b"<x/>", "application/octet-stream")},
        {
            "ParameterRequest": ("filename", b"{not json", "application/json"),
            "MessagePayload": ("filename", b"<x/>", "application/octet-stream"),
        },
        parts(b"not deflated at all", encoding="DEFLATE"),
        parts(encoding="GZIP"),
        parts(documentName=""),
    ],
)
def test_malformed_is_400_on_v3_and_412_on_v2(ims: Any, files: dict[str, Any]) -> None:
    client, headers = ims
    v3 = client.post(f"{IMS}/v3/multipartMessage", files=files, headers=headers)
    v2 = client.post(f"{IMS}/v2/multipartMessage", files=files, headers=headers)
    assert (v3.status_code, v2.status_code) == (400, 412)
    assert v3.json()["status"] == "FAIL" and v3.json()["code"] == 400


def test_not_multipart_is_malformed(ims: Any) -> None:
    client, headers = ims
    r = client.post(f"{IMS}/v3/multipartMessage", content=b"<x/>", headers=headers)
    assert r.status_code == 400


def test_connection_point_config_and_accepted_documents(ims: Any) -> None:
    client, headers = ims
    cfg = client.get("/_sim/tenants/DEMO_TST/messaging").json()
    assert cfg["logicalId"] == LID and cfg["active"] is True
    r = client.get(f"{IMS}/v3/{LID}/acceptedDocuments", headers=headers)
    assert r.status_code == 200 and "SyncCustomerPartyMaster" in r.json()
    assert client.get(f"{IMS}/v3/lid://other/acceptedDocuments", headers=headers).status_code == 412
    r = client.put(
        "/_sim/tenants/DEMO_TST/messaging",
        json={"acceptedDocuments": ["ProcessSalesOrder"], "logicalId": "lid://infor.test"},
    )
    assert r.status_code == 200 and r.json()["logicalId"] == "lid://infor.test"
    url = f"{IMS}/v2/multipartMessage"
    r = client.post(url, files=parts(fromLogicalId="lid://infor.test"), headers=headers)
    assert r.status_code == 412  # SyncCustomerPartyMaster no longer accepted
    ok = parts(fromLogicalId="lid://infor.test", documentName="ProcessSalesOrder")
    assert client.post(url, files=ok, headers=headers).status_code == 201
    assert client.put("/_sim/tenants/DEMO_TST/messaging", json={"active": False}).status_code == 200
    assert client.post(url, files=ok, headers=headers).status_code == 412
    r = client.get(f"{IMS}/v3/lid://infor.test/acceptedDocuments", headers=headers)
    assert r.status_code == 412
    snapshot = client.get("/_sim/tenants/DEMO_TST/snapshot").json()
    assert "ims" in json.dumps(snapshot)  # kept in settings, so snapshot/restore keep it
    for bad in ({"active": "yes"}, {"colour": 1}, {"acceptedDocuments": "x"}, {"logicalId": ""}):
        assert client.put("/_sim/tenants/DEMO_TST/messaging", json=bad).status_code == 400
    assert client.get("/_sim/tenants/NOPE/messaging").status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wire_example_over_a_real_socket() -> None:
    """The exact request of the reference, with a boundary and parts built by hand."""
    app = make_app()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as http:
            ion = http.get("/_sim/tenants/DEMO_TST/ionapi").json()
            token = http.post(
                "/DEMO_TST/as/token.oauth2",
                data=password_grant(ion),
            ).json()["access_token"]
            boundary = "ab12cd34"
            params = json.dumps(
                {
                    "documentName": "SyncCustomerPartyMaster",
                    "fromLogicalId": LID,
                    "toLogicalId": "lid://default",
                    "encoding": "NONE",
                    "characterSet": "UTF-8",
                }
            )
            body = (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="ParameterRequest"; filename="filename"\r\n'
                "Content-Type: application/json\r\n\r\n"
                f"{params}\r\n"
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="MessagePayload"; filename="filename"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
                "<SyncCustomerPartyMaster/>\r\n"
                f"--{boundary}--\r\n"
            ).encode()
            r = http.post(
                "/DEMO_TST/IONSERVICES/api/ion/messaging/service/v2/multipartMessage",
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Host": "mingle-ionapi.eu1.inforcloudsuite.com",
                    "X-ClientId": ion["ci"],
                },
            )
            assert r.status_code == 201, r.text
            (msg,) = http.get("/_sim/tenants/DEMO_TST/messages").json()["messages"]
            assert msg["payload"] == "<SyncCustomerPartyMaster/>" and msg["size"] == 26
    finally:
        server.should_exit = True
        thread.join(10)
