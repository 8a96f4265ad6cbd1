"""The OpenAPI document of the application (``/openapi.json``), in OpenAPI 3.0.

FastAPI writes OpenAPI 3.1 with 422 validation errors; :func:`openapi_builder` gives the
document the API serves: bad parameters are the 400 they are (:mod:`seawatch.api.errors`),
every route that needs credentials says so with its 401, 403, 429 and 503 answers
(:func:`describe_security`, from the actions of :mod:`seawatch.api.policy`), and the whole
is rewritten as OpenAPI 3.0 (:func:`to_openapi_30`), the version OGC API - Features names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seawatch.share import roles

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

    from fastapi import FastAPI

OPENAPI_VERSION = "3.0.3"
"""The API is described in OpenAPI 3.0 (the OGC conformance class ``oas30``)."""


def openapi_builder(app: FastAPI) -> Any:
    """``app.openapi`` giving an OpenAPI 3.0 document in which bad parameters are the 400
    they are (not FastAPI's 422)."""
    from fastapi.openapi.utils import get_openapi

    from seawatch.api.models import Error

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        for item in doc.get("paths", {}).values():
            for operation in item.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": "A parameter is malformed or out of range.",
                        "content": {"application/json": {"schema": {
                            "$ref": "#/components/schemas/Error"}}},
                    }
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas.setdefault("Error", Error.model_json_schema())
        doc = describe_security(doc, app.routes)
        doc_30: dict[str, Any] = to_openapi_30(doc)
        app.openapi_schema = doc_30
        return doc_30

    return openapi


def to_openapi_30(node: Any) -> Any:
    """An OpenAPI 3.1 document (as FastAPI writes it) rewritten as OpenAPI 3.0.

    ``anyOf [X, {type: null}]`` becomes ``X`` with ``nullable: true`` (``allOf [$ref]`` for
    a reference, whose siblings 3.0 ignores), ``const`` becomes a one-value ``enum`` and
    a schema's ``examples`` list its first ``example``.

    >>> to_openapi_30({"openapi": "3.1.0", "s": {"anyOf": [{"type": "string"},
    ...                {"type": "null"}], "examples": ["a"]}})
    {'openapi': '3.0.3', 's': {'type': 'string', 'example': 'a', 'nullable': True}}
    """
    if isinstance(node, list):
        return [to_openapi_30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "openapi" and isinstance(value, str):
            out[key] = OPENAPI_VERSION
        elif key == "examples" and isinstance(value, list):
            if value:
                out["example"] = to_openapi_30(value[0])
        elif key == "const":
            out["enum"] = [value]
        elif key == "anyOf" and isinstance(value, list):
            rest = [v for v in value if v != {"type": "null"}]
            if len(rest) < len(value):
                out["nullable"] = True
            if len(rest) == 1:
                only = to_openapi_30(rest[0])
                if "$ref" in only:
                    out["allOf"] = [only]
                else:
                    out.update(only)
            else:
                out["anyOf"] = to_openapi_30(rest)
        else:
            out[key] = to_openapi_30(value)
    if out.get("nullable") and "type" in out:  # keep 'nullable' last, after 'type'
        out["nullable"] = out.pop("nullable")
    return out


def security_schemes() -> dict[str, Any]:
    """OpenAPI security schemes: bearer token, session cookie (with its CSRF header)."""
    from seawatch.share import auth as share_auth

    return {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "An API token: `seawatch token create --user NAME`."},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": share_auth.SESSION_COOKIE,
                          "description": "Web session from POST /api/v1/auth/login; writes "
                                         "also need the X-CSRF-Token header."},
    }


def describe_security(doc: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Add security requirements and 401/403/429/503 responses to an OpenAPI document."""
    from seawatch.api.concurrency import SLOT_WAIT_S, SLOTS_PER_CALLER
    from seawatch.api.policy import operation_actions

    actions = operation_actions(routes)
    doc.setdefault("components", {}).setdefault("securitySchemes", {}).update(
        security_schemes())
    ref = {"$ref": "#/components/schemas/Error"}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            action = actions.get((path, method))
            if action is None or action == roles.PUBLIC:
                continue
            operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {
                "description": "No, or an invalid, expired or revoked, credential "
                               "(WWW-Authenticate: Bearer).",
                "content": {"application/json": {"schema": ref}}})
            responses.setdefault("403", {
                "description": f"The caller's role may not {action} (or a session write "
                               "without its X-CSRF-Token).",
                "content": {"application/json": {"schema": ref}}})
            responses.setdefault("429", {
                "description": "Too many failed authentications from this address "
                               "(Retry-After).",
                "content": {"application/json": {"schema": ref}}})
            responses.setdefault("503", {
                "description": f"The caller already runs {SLOTS_PER_CALLER} position queries "
                               f"and none ended within {SLOT_WAIT_S:g} s; retry after "
                               "Retry-After seconds.",
                "content": {"application/json": {"schema": ref}}})
    return doc
