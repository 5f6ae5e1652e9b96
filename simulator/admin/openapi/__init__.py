"""The whole OpenAPI 3.1 document of a running simulator: gateway, IMS and test control.

`simulator.m3.openapi.openapi_document` describes the MI programs (what the engine enforces);
this module adds every other route a client or a test can call (`/_sim/...`, ION messaging,
OAuth revoke, MI v1 and metadata, `/metrics`) with request bodies and response schemas precise
enough that a fuzzer (Schemathesis) can exercise them and check the answers against them.

Why the document is built per request from the live simulator: the `tenant` path parameters
list the tenants that exist *now* (an enum, so a generated request reaches real state instead
of 401/404 every time), and when the caller passes the app's routes the document is trimmed to
what is served and completed with a generic entry for any route it does not describe yet, so
"every route is in the document" stays true as routes are added.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from simulator.admin.openapi._parts import (
    _CONTROL_TAG,
    _OBJ,
    _STR,
    _T,
    _body,
    _gateway_errors,
    _obj,
    _path_param,
    _tenant_param,
)
from simulator.admin.openapi.control import _control_paths
from simulator.admin.openapi.gateway import _gateway_paths
from simulator.admin.openapi.schemas import SCHEMAS
from simulator.m3 import openapi as mi_openapi

# --- assembly -----------------------------------------------------------------------------

_CONVERTER = re.compile(r"\{(\w+)(:\w+)?\}")
_RENAME = {"ti": "tenant", "rest": "call"}


def route_template(path: str) -> str:
    """Starlette path `/{ti}/x/{rest:path}` as the document's template `/{tenant}/x/{call}`."""
    return _CONVERTER.sub(lambda m: "{" + _RENAME.get(m.group(1), m.group(1)) + "}", path)


def _served(routes: Iterable[Any]) -> dict[str, set[str]]:
    served: dict[str, set[str]] = {}
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods or path == "/{ti}/{rest:path}":
            continue  # mounts, websockets and the gateway's catch-all
        served.setdefault(route_template(path), set()).update(
            m.lower() for m in methods if m not in ("HEAD", "OPTIONS")
        )
    return served


def _generic(path: str, method: str) -> dict[str, Any]:
    """A route nobody described yet: its path parameters and 'any answer but a 5xx'."""
    params = [_path_param(n, n) for n in re.findall(r"\{(\w+)\}", path)]
    params = [_T if p["name"] == "tenant" else p for p in params]
    op: dict[str, Any] = {
        "operationId": f"{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')}",
        "tags": ["undescribed"],
        "summary": "Not described in detail yet",
        "security": [{}],
        "parameters": params,
        "responses": {"default": {"description": "Any answer"}},
    }
    if method in ("post", "put", "patch"):
        op["requestBody"] = _body(_OBJ, required=False)
    return op


def openapi_document(
    sim: Any, server_url: str = "/", *, routes: Iterable[Any] | None = None
) -> dict[str, Any]:
    """OpenAPI 3.1 of everything `sim` serves: MI operations from the catalog plus the rest.

    `routes` (the app's `routes`) trims the document to what is really served and adds a
    generic operation for any route without a description, so the document never lies about
    which routes exist.
    """
    doc = copy.deepcopy(mi_openapi.openapi_document(sim.catalog, server_url=server_url))
    tenants = sorted(getattr(sim, "tenants", {}) or {})
    components = doc["components"]
    components["parameters"]["tenant"] = _tenant_param(tenants)
    components["schemas"].update(copy.deepcopy(SCHEMAS))
    components["schemas"]["OpenApiDocument"] = _obj(
        {"openapi": _STR, "paths": _OBJ}, ["openapi", "paths"]
    )
    mi_errors = _gateway_errors(401, 404, 429, 503)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path.endswith("/token.oauth2"):
                op["responses"]["429"] = mi_errors["429"]
                continue
            responses = op["responses"]
            for status, resp in mi_errors.items():
                responses[status] = resp
            if method == "post":  # bulk
                responses.update(_gateway_errors(400, 413))
    doc["paths"].update(_gateway_paths())
    doc["paths"].update(_control_paths())
    doc["tags"] += [
        {"name": n} for n in ("MI v1", "metadata", "ION messaging", _CONTROL_TAG, "ops")
    ]
    if routes is not None:
        served = _served(routes)
        mi = re.compile(r"^/\{tenant\}/M3/m3api-rest/v2/execute/[^/{]+/[^/{]+$")
        for path in list(doc["paths"]):
            key = (
                "/{tenant}/M3/m3api-rest/v2/execute/{program}/{transaction}"
                if mi.match(path)
                else path
            )
            methods = served.get(key, set())
            item = doc["paths"][path]
            for method in list(item):
                if method not in methods:
                    del item[method]
            if not item:
                del doc["paths"][path]
        for path, methods in served.items():
            if path == "/{tenant}/M3/m3api-rest/v2/execute/{program}/{transaction}":
                continue  # described per transaction
            item = doc["paths"].setdefault(path, {})
            for method in sorted(methods):
                item.setdefault(method, _generic(path, method))
    return doc
