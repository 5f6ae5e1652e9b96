"""The OpenAPI description of the gateway's MI routes, generated from the program definitions.

Generated rather than written so it cannot drift from the engine: every described transaction the
simulator enforces becomes one operation, with its input fields as query parameters and the same
length and type limits. `simulator.admin.openapi` adds every other route to it.
"""

from __future__ import annotations

from typing import Any

from simulator.m3.definitions import Catalog, Field, Program, Transaction
from simulator.m3.openapi_schemas import _STR, component_schemas

API = "/{tenant}/M3/m3api-rest/v2/execute"

# The generic query parameters of every v2 transaction (ion-m3.md section 3.2).
GENERIC_PARAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "cono": ("The company context to use. Defaults to user default", {"type": "string"}),
    "divi": ("The division context to use. Defaults to user default", {"type": "string"}),
    "lanc": ("The language code to use. Defaults to user default", {"type": "string"}),
    "locale": ("The locale to use", {"type": "string"}),
    "timeZone": ("The time zone to use", {"type": "string"}),
    "maxrecs": (
        "Max number of records returned. 0 is unlimited",
        {"type": "integer", "minimum": 0},
    ),
    "dateformat": (
        "Date format to use",
        {"type": "string", "default": "YMD8", "enum": ["YMD8", "YMD6", "MDY6", "DMY6", "YWD5"]},
    ),
    "excludeempty": (
        "When true, empty fields are omitted in response",
        {"type": "boolean", "default": False},
    ),
    "righttrim": (
        "When true, all values are right trimmed in response",
        {"type": "boolean", "default": True},
    ),
    "returncols": (
        "A comma separated list of column names that should be included in the response. "
        "Defaults to all columns",
        {"type": "string"},
    ),
    "format": (
        "Controls output JSON format",
        {"type": "string", "default": "PRETTY", "enum": ["UNFORMATTED", "COMPACT", "PRETTY"]},
    ),
    "extendedresult": (
        "Show transaction parameters in the response",
        {"type": "boolean", "default": False},
    ),
}


def _field_schema(f: Field) -> dict[str, Any]:
    """Input constraints: dates are YYYYMMDD; numbers may carry a sign and a decimal point."""
    if f.type == "D":
        return {"type": "string", "maxLength": 8, "pattern": "^([0-9]{8})?$"}
    if f.type == "N":
        return {
            "type": "string",
            "maxLength": f.length + 2,
            "pattern": r"^(-?[0-9]*(\.[0-9]+)?)?$",
        }
    return {"type": "string", "maxLength": f.length}


def _parameter(f: Field) -> dict[str, Any]:
    return {
        "name": f.name,
        "in": "query",
        "required": f.mandatory,
        "description": f"{f.description} ({f.length})" if f.description else f"({f.length})",
        "schema": _field_schema(f),
    }


def _record_schema(t: Transaction) -> dict[str, Any]:
    props = {f.name: {"type": "string", "description": f.description} for f in t.outputs}
    return {"type": "object", "properties": props, "additionalProperties": {"type": "string"}}


def _response(record_ref: str | None, description: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": "#/components/schemas/MIResponse"}
    if record_ref:
        records = {"type": "array", "items": {"$ref": record_ref}}
        schema = {
            "allOf": [
                schema,
                {
                    "properties": {
                        "results": {"items": {"properties": {"records": records}}},
                    }
                },
            ]
        }
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        },
        "401": {"description": "The bearer token is missing, invalid or expired"},
        "404": {"description": "Unknown program or path"},
        "429": {"description": "Quota exceeded"},
    }


def _operation(p: Program, t: Transaction, schemas: dict[str, Any]) -> dict[str, Any]:
    record = f"{p.name}.{t.name}.Record"
    schemas[record] = _record_schema(t)
    generic = [{"$ref": f"#/components/parameters/{name}"} for name in GENERIC_PARAMS]
    return {
        "operationId": f"{p.name}_{t.name}",
        "tags": [p.name],
        "summary": t.description or t.name,
        "parameters": [
            {"$ref": "#/components/parameters/tenant"},
            *(_parameter(f) for f in t.inputs),
            *generic,
        ],
        "responses": _response(f"#/components/schemas/{record}", "MI result (NOK is also 200)"),
    }


def _parameters() -> dict[str, Any]:
    params: dict[str, Any] = {
        "tenant": {
            "name": "tenant",
            "in": "path",
            "required": True,
            "description": "Tenant id (TI), e.g. TEST_TST",
            "schema": _STR,
        }
    }
    for name, (description, schema) in GENERIC_PARAMS.items():
        params[name] = {"name": name, "in": "query", "description": description, "schema": schema}
    return params


def _bulk_operation() -> dict[str, Any]:
    query = ["cono", "divi", "maxrecs", "extendedresult", "righttrim", "format"]
    return {
        "operationId": "bulk_execute",
        "tags": ["bulk"],
        "summary": "Run several transactions of one program; results come back in order",
        "parameters": [
            {"$ref": "#/components/parameters/tenant"},
            *({"$ref": f"#/components/parameters/{name}"} for name in query),
            {"name": "m3user", "in": "query", "description": "Run as this M3 user", "schema": _STR},
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BulkRequest"}}
            },
        },
        "responses": _response(None, "One result per transaction, in request order"),
    }


def _token_operation() -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}
    return {
        "operationId": "token",
        "tags": ["oauth2"],
        "summary": "OAuth 2.0 token endpoint (password, refresh_token, client_credentials)",
        "description": "Client authentication in the form body or as HTTP Basic.",
        "security": [{}, {"basic": []}],
        "parameters": [{"$ref": "#/components/parameters/tenant"}],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/TokenRequest"}
                }
            },
        },
        "responses": {
            "200": {
                "description": "A bearer token",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/TokenResponse"}}
                },
            },
            "400": {"description": "invalid_grant, invalid_request, ...", "content": error},
            "401": {"description": "invalid_client", "content": error},
        },
    }


def openapi_document(catalog: Catalog, *, server_url: str = "/") -> dict[str, Any]:
    """OpenAPI 3.1 of the simulated gateway: one GET per described transaction, bulk and token."""
    schemas = component_schemas(catalog)
    paths: dict[str, Any] = {
        "/{tenant}/as/token.oauth2": {"post": _token_operation()},
        API: {"post": _bulk_operation()},
    }
    tags = [{"name": "oauth2"}, {"name": "bulk"}]
    for p in sorted(catalog.programs.values(), key=lambda p: p.name):
        tags.append({"name": p.name, "description": p.description})
        for t in p.transactions.values():
            if t.described:
                paths[f"{API}/{p.name}/{t.name}"] = {"get": _operation(p, t, schemas)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ionsim: ION API Gateway and M3 MI programs",
            "version": "1",
            "description": "Generated from the MI program definitions the simulator enforces.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "tags": tags,
        "paths": paths,
        "components": {
            "parameters": _parameters(),
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }
