"""Building blocks of the OpenAPI document: schema shorthands, parameters, operations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_NUM: dict[str, Any] = {"type": "number"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_OBJ: dict[str, Any] = {"type": "object"}
_JSON = "application/json"
_IMS = "/{tenant}/IONSERVICES/api/ion/messaging/service"
_CONTROL_TAG = "control"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), **extra}


def _arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


# --- responses ----------------------------------------------------------------------------


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _control_errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Bad input (the message says what)",
        404: "No such tenant or object",
        409: "Conflict with the current state",
    }
    return {str(s): _json_response(text.get(s, "Refused"), _ref("ControlError")) for s in statuses}


def _gateway_errors(*statuses: int) -> dict[str, Any]:
    """Gateway refusals with their headers: 401 `WWW-Authenticate`, 429/503 `Retry-After`."""
    text = {
        400: "Malformed request",
        401: "The bearer token is missing, invalid, expired or of another tenant",
        404: "Unknown program or path",
        413: "Request body is larger than 4 MiB",
        429: "Throttled (spike arrest or quota); retry after the given seconds",
        503: "Event delivery queue full; retry after the given seconds",
    }
    out: dict[str, Any] = {}
    for s in statuses:
        resp = _json_response(text[s], _ref("GatewayError"))
        if s == 401:
            resp["headers"] = {"WWW-Authenticate": {"required": True, "schema": _STR}}
        if s in (429, 503):
            resp["headers"] = {
                "Retry-After": {"required": True, "schema": {"type": "string", "pattern": "^\\d+$"}}
            }
        out[str(s)] = resp
    return out


def _tenant_param(tenants: list[str], name: str = "tenant") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if tenants:
        schema["enum"] = tenants
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": "Tenant id (TI), one this simulator serves",
        "schema": schema,
    }


def _path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> Any:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1},
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> Any:
    return {"name": name, "in": "query", "description": description, "schema": schema or _STR}


def _body(schema: dict[str, Any], required: bool = True, media: str = _JSON) -> dict[str, Any]:
    return {"required": required, "content": {media: {"schema": schema}}}


_T = {"$ref": "#/components/parameters/tenant"}


def _op(
    op_id: str,
    summary: str,
    ok: dict[str, Any],
    *,
    tag: str = _CONTROL_TAG,
    params: list[Any] | None = None,
    body: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    public: bool = True,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "tags": [tag],
        "summary": summary,
        "parameters": params or [],
        "responses": {**ok, **(errors or {})},
    }
    if public:
        op["security"] = [{}]  # control and discovery routes need no token
    if body is not None:
        op["requestBody"] = body
    return op


def _html_ok() -> dict[str, Any]:
    return {"200": {"description": "HTML page", "content": {"text/html": {"schema": _STR}}}}


def _ok(schema_name: str, description: str = "OK", status: str = "200") -> dict[str, Any]:
    return {status: _json_response(description, _ref(schema_name))}
