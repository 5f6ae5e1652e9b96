"""Documents built from the MI catalog: the metadata routes and an OpenAPI description.

They are derived from the same definitions the engine validates against, so what a client reads
in the metadata is exactly what the simulator enforces.
"""

from __future__ import annotations

from typing import Any

from simulator.m3.definitions import Catalog, Field, Program, Transaction

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


def _field(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "type": f.type,
        "length": f.length,
        "mandatory": f.mandatory,
        "description": f.description,
    }
    if f.decimals is not None:
        out["decimals"] = f.decimals
    return out


def metadata_programs(catalog: Catalog) -> dict[str, Any]:
    """`GET /{TI}/M3/m3api-rest/metadata`; the real shape is unknown, this one is ours.

    {"programs": [{"name": "CRS610MI", "description": "Customer interface", "version": "640K",
                   "transactions": ["Add", "AddAddress", ...]}, ...]}, sorted by name.
    """
    return {
        "programs": [
            {
                "name": p.name,
                "description": p.description,
                "version": p.version,
                "transactions": list(p.transactions),
            }
            for p in sorted(catalog.programs.values(), key=lambda p: p.name)
        ]
    }


def _transaction(t: Transaction) -> dict[str, Any]:
    return {
        "name": t.name,
        "description": t.description,
        "multipleRecords": t.list,
        "described": t.described,
        "input": [_field(f) for f in t.inputs],
        "output": [_field(f) for f in t.outputs],
    }


def metadata_program(program: Program) -> dict[str, Any]:
    """`GET /{TI}/M3/m3api-rest/metadata/{PROGRAM}`: the program and its field lists.

    {"name", "description", "version", "limitations": [...], "transactions": [{"name",
    "description", "multipleRecords", "described", "input": [{"name", "type" (A/N/D), "length",
    "mandatory", "description"[, "decimals"]}], "output": [...]}]}. `described: false` marks a
    transaction that exists in M3 but whose fields ionsim does not know.
    """
    return {
        "name": program.name,
        "description": program.description,
        "version": program.version,
        "limitations": list(program.limitations),
        "transactions": [_transaction(t) for t in program.transactions.values()],
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


_STR = {"type": "string"}
_MI_RESULT = {
    "type": "object",
    "required": ["transaction", "records"],
    "properties": {
        "transaction": _STR,
        "parameters": {"type": "object", "additionalProperties": _STR},
        "errorMessage": _STR,
        "errorType": _STR,
        "errorCode": _STR,
        "errorField": _STR,
        "errorCfg": _STR,
        "notProcessed": {"type": "boolean"},
        "records": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": _STR},
        },
    },
}
_MI_RESPONSE = {
    "type": "object",
    "required": [
        "results",
        "wasTerminated",
        "nrOfSuccessfullTransactions",
        "nrOfFailedTransactions",
    ],
    "properties": {
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/MIResult"}},
        "wasTerminated": {"type": "boolean"},
        "terminationReason": _STR,
        "terminationErrorType": _STR,
        "nrOfSuccessfullTransactions": {"type": "integer", "description": "sic: Successfull"},
        "nrOfNotProcessedTransactions": {"type": "integer"},
        "nrOfFailedTransactions": {"type": "integer"},
        "bulkJobId": _STR,
    },
}
_TOKEN_REQUEST = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"enum": ["password", "refresh_token", "client_credentials"]},
        "username": _STR,
        "password": _STR,
        "refresh_token": _STR,
        "client_id": _STR,
        "client_secret": _STR,
        "scope": _STR,
        "redirect_uri": _STR,
    },
}
_TOKEN_RESPONSE = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": _STR,
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
        "refresh_token": _STR,
        "scope": _STR,
    },
}
_OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": _STR, "error_description": _STR},
}


def _bulk_request(catalog: Catalog) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["program", "transactions"],
        "properties": {
            "program": {"type": "string", "enum": sorted(catalog.programs)},
            "cono": {"type": ["string", "integer"]},
            "divi": _STR,
            "transactions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["transaction"],
                    "properties": {
                        "transaction": _STR,
                        "record": {"type": "object", "additionalProperties": _STR},
                        "selectedColumns": {"type": "array", "items": _STR},
                    },
                },
            },
        },
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
    schemas: dict[str, Any] = {
        "MIResult": _MI_RESULT,
        "MIResponse": _MI_RESPONSE,
        "BulkRequest": _bulk_request(catalog),
        "TokenRequest": _TOKEN_REQUEST,
        "TokenResponse": _TOKEN_RESPONSE,
        "OAuthError": _OAUTH_ERROR,
    }
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
