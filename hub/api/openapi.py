"""OpenAPI 3.1 document generated from the router's msgspec types (no hand-written schema)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hub import __version__
from hub.api.errors import ErrorResponse
from hub.api.routing import Route

_STATUS_TEXT = {
    400: "Malformed request (bad JSON or query)",
    401: "Missing or unknown token",
    403: "Token lacks the role",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Body failed validation",
    429: "Rate limited",
    503: "Not ready",
}


def _schema_types(routes: list[Route]) -> list[Any]:
    types: list[Any] = [ErrorResponse]
    for route in routes:
        for candidate in (route.body, route.response):
            if candidate is not None and candidate not in types:
                types.append(candidate)
    return types


def _query_parameters(query: type[msgspec.Struct], components: dict[str, Any]) -> list[dict[str, Any]]:
    (schema,), _ = msgspec.json.schema_components([query], ref_template="#/components/schemas/{name}")
    name = schema["$ref"].rsplit("/", 1)[-1]
    properties = components.get(name, {}).get("properties", {})
    required = set(components.get(name, {}).get("required", []))
    return [
        {"name": field, "in": "query", "required": field in required, "schema": prop}
        for field, prop in properties.items()
    ]


def build_openapi(routes: list[Route], *, websocket_doc: dict[str, Any] | None = None) -> dict[str, Any]:
    schemas, components = msgspec.json.schema_components(
        _schema_types(routes), ref_template="#/components/schemas/{name}"
    )
    by_type = dict(zip(_schema_types(routes), schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": route.summary,
            "tags": list(route.tags),
            "responses": {},
        }
        if route.description:
            operation["description"] = route.description
        if route.auth != "none":
            operation["security"] = [{"bearer": []}]
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", route.path)
        ]
        if route.query is not None:
            parameters += _query_parameters(route.query, components)
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": by_type[route.body]}},
            }
        ok: dict[str, Any] = {"description": "OK" if route.status == 200 else "Created"}
        if route.response is not None:
            ok["content"] = {"application/json": {"schema": by_type[route.response]}}
        operation["responses"][str(route.status)] = ok
        errors = set(route.errors)
        if route.body is not None:
            errors |= {400, 413, 415, 422}
        if route.auth != "none":
            errors.add(401)
        if route.auth == "admin":
            errors.add(403)
        for status in sorted(errors):
            operation["responses"][str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": by_type[ErrorResponse]}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    if websocket_doc:
        paths.update(websocket_doc)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SmartPOS hub LAN API",
            "version": __version__,
            "description": "The store hub's API for paired tablets, integrators and the technician's CLI.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Device token from /api/v1/pair",
                }
            },
        },
        "paths": paths,
    }
