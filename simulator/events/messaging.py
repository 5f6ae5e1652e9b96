"""ION Messaging Service (IMS) inbound, through the gateway: how integrations send BODs to ION.

`/{ti}/IONSERVICES/api/ion/messaging/service/...`: ping, versions, v2 and v3 multipartMessage
(parts `ParameterRequest` JSON and `MessagePayload`, `encoding` NONE or DEFLATE),
v3 acceptedDocuments. The tenant's connection point lives in `state.settings["ims"]` so that
snapshot/restore keep it; received documents are kept (newest last, capped) in
`state.settings["ims_inbox"]` and listed by `/_sim/tenants/{ti}/messages`, so a test can assert
what an integration sent to ION.

Statuses as documented (ion-m3.md §6.2): v2 success 201 and 412 for every problem, v3 success
202, 400 for a malformed message and 412 for configuration (inactive connection point, document
not accepted); 403 when `fromLogicalId` is not the connection point's; 401 from the gateway.
Error bodies take the shape a real IMS answer showed: `{"status": "FAIL", "code", "errors"}`.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.admin.routes import control, json_body
from simulator.errors import GatewayError, RequestError
from simulator.events.payloads import rfc3339
from simulator.gateway.pipeline import admit
from simulator.gateway.responses import gateway_error, json_response

BASE = "/{ti}/IONSERVICES/api/ion/messaging/service"
INBOX_LIMIT = 1000
MAX_PAYLOAD = 16 * 1024 * 1024
ACCEPTED = [
    "SyncCustomerPartyMaster",
    "ProcessCustomerPartyMaster",
    "SyncSalesOrder",
    "ProcessSalesOrder",
    "SyncItemMaster",
    "SyncInvoice",
    "SyncInventoryCount",
    "SyncShipment",
    "SyncSupplierPartyMaster",
    "ProcessPurchaseOrder",
    "SyncPurchaseOrder",
    "ProcessSupplierInvoice",
    "ConfirmBOD",
]


class ImsError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def config(tenant: Any) -> dict[str, Any]:
    """The tenant's IMS connection point, created with defaults on first use."""
    ims = tenant.state.settings.get("ims")
    if not isinstance(ims, dict):
        ims = tenant.state.settings["ims"] = {
            "logicalId": f"lid://infor.ionsim.{tenant.name.lower()}",
            "active": True,
            "acceptedDocuments": list(ACCEPTED),
        }
    return ims


def _fail(status: int, message: str) -> Response:
    return json_response({"status": "FAIL", "code": status, "errors": message}, status)


async def ping(request: Request) -> Response:
    try:
        await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    return json_response({"status": "OK", "message": "ION Messaging Service is running"})


async def versions(request: Request) -> Response:
    try:
        await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    return json_response({"versions": ["v2", "v3"]})


async def accepted_documents(request: Request) -> Response:
    try:
        _, tenant, _ = await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    ims = config(tenant)
    if request.path_params["lid"] != ims["logicalId"]:
        return _fail(412, f"no connection point for {request.path_params['lid']}")
    if not ims["active"]:
        return _fail(412, f"connection point {ims['logicalId']} is not active")
    return json_response(list(ims["acceptedDocuments"]))


def _payload_bytes(raw: bytes, encoding: str) -> bytes:
    if encoding == "NONE":
        return raw
    for wbits in (47, -15):  # zlib or gzip wrapper, then raw deflate
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(raw, MAX_PAYLOAD)
        except zlib.error:
            continue
        if d.unconsumed_tail:
            raise ImsError(400, f"MessagePayload inflates beyond {MAX_PAYLOAD} bytes")
        if d.eof:
            return out
    raise ImsError(400, "MessagePayload is not valid DEFLATE data")


async def _part(form: Any, name: str) -> bytes:
    part = form.get(name)
    if part is None:
        raise ImsError(400, f"multipart part {name} is missing")
    if isinstance(part, UploadFile):
        return await part.read()
    return str(part).encode()


async def _parse(request: Request) -> tuple[dict[str, Any], bytes]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ImsError(400, "the body must be multipart/form-data")
    try:
        form = await request.form(max_part_size=MAX_PAYLOAD)
    except Exception as exc:  # python-multipart raises several types for broken bodies
        raise ImsError(400, f"malformed multipart body: {exc}") from None
    try:
        raw_params = await _part(form, "ParameterRequest")
        raw_payload = await _part(form, "MessagePayload")
    finally:
        await form.close()
    try:
        params = orjson.loads(raw_params)
    except orjson.JSONDecodeError as exc:
        raise ImsError(400, f"ParameterRequest is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise ImsError(400, "ParameterRequest must be a JSON object")
    for key in ("documentName", "fromLogicalId"):
        if not isinstance(params.get(key), str) or not params[key]:
            raise ImsError(400, f"ParameterRequest.{key} is missing")
    encoding = str(params.get("encoding") or "NONE").upper()
    if encoding not in ("NONE", "DEFLATE"):
        raise ImsError(400, f"encoding must be NONE or DEFLATE, not {params.get('encoding')!r}")
    return params, _payload_bytes(raw_payload, encoding)


def _decode(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


async def _receive(request: Request, version: str) -> Response:
    try:
        sim, tenant, _ = await admit(request)
    except GatewayError as exc:
        return gateway_error(exc)
    try:
        params, payload = await _parse(request)
    except ImsError as exc:
        return _fail(412 if version == "v2" else exc.status, exc.message)
    ims = config(tenant)
    if params["fromLogicalId"] != ims["logicalId"]:
        return _fail(403, f"fromLogicalId {params['fromLogicalId']} does not belong to the caller")
    if not ims["active"]:
        return _fail(412, f"connection point {ims['logicalId']} is not active")
    if params["documentName"] not in ims["acceptedDocuments"]:
        return _fail(412, f"document {params['documentName']} is not accepted")
    inbox: list[dict[str, Any]] = tenant.state.settings.setdefault("ims_inbox", [])
    tenant.state.counters["IMS"] = number = tenant.state.counters.get("IMS", 0) + 1
    message_id = str(params.get("messageId") or f"ionsim-{tenant.name}-{number}")
    inbox.append(
        {
            "id": number,
            "messageId": message_id,
            "version": version,
            "documentName": params["documentName"],
            "fromLogicalId": params["fromLogicalId"],
            "toLogicalId": params.get("toLogicalId", ""),
            "receivedAt": rfc3339(sim.clock.now()),
            "parameters": params,
            "size": len(payload),
            "payload": _decode(payload, str(params.get("characterSet") or "UTF-8")),
        }
    )
    del inbox[:-INBOX_LIMIT]
    return json_response({"status": "OK", "messageId": message_id}, 201 if version == "v2" else 202)


async def receive_v2(request: Request) -> Response:
    return await _receive(request, "v2")


async def receive_v3(request: Request) -> Response:
    return await _receive(request, "v3")


@control
async def messaging_config(request: Request, sim: Any) -> Any:
    """`GET/PUT /_sim/tenants/{ti}/messaging`: the connection point (PUT merges the fields)."""
    tenant = sim.tenant(request.path_params["ti"])
    ims = config(tenant)
    if request.method == "PUT":
        body = await json_body(request)
        if not isinstance(body, dict) or set(body) - set(ims):
            raise RequestError(f"body must be an object with some of {sorted(ims)}")
        if "logicalId" in body and not (isinstance(body["logicalId"], str) and body["logicalId"]):
            raise RequestError("logicalId must be a non-empty string")
        if "active" in body and not isinstance(body["active"], bool):
            raise RequestError("active must be true or false")
        docs = body.get("acceptedDocuments", [])
        if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
            raise RequestError("acceptedDocuments must be a list of document names")
        ims.update(body)
    return ims


@control
async def messages(request: Request, sim: Any) -> Any:
    """`GET /_sim/tenants/{ti}/messages` (newest last); `DELETE` empties the inbox."""
    tenant = sim.tenant(request.path_params["ti"])
    inbox = tenant.state.settings.setdefault("ims_inbox", [])
    if request.method == "DELETE":
        count = len(inbox)
        inbox.clear()
        return {"deleted": count}
    return {"messages": inbox}


ROUTES: list[Route] = [
    Route(f"{BASE}/ping", ping, methods=["GET"]),
    Route(f"{BASE}/versions", versions, methods=["GET"]),
    Route(f"{BASE}/v2/multipartMessage", receive_v2, methods=["POST"]),
    Route(f"{BASE}/v3/multipartMessage", receive_v3, methods=["POST"]),
    Route(f"{BASE}/v3/message/multipart", receive_v3, methods=["POST"]),
    Route(f"{BASE}/v3/{{lid:path}}/acceptedDocuments", accepted_documents, methods=["GET"]),
]
CONTROL_ROUTES: list[Route] = [
    Route("/_sim/tenants/{ti}/messaging", messaging_config, methods=["GET", "PUT"]),
    Route("/_sim/tenants/{ti}/messages", messages, methods=["GET", "DELETE"]),
]
