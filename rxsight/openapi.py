"""The OpenAPI document's shared parts (DESIGN 7): the error body every API route answers
with, the security schemes, short operationIds, and the docs pages served from assets
installed with rxsight (the `fastapi-offline` package ships Swagger UI and ReDoc)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, ConfigDict, WithJsonSchema

# Declared by `rxsight.auth.require` (and the ingest routes) as dependencies that never
# refuse by themselves: the one decision stays in rxsight.authz; these only say, in the
# document, which credentials a route reads.
BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    description="Authorization: Bearer <token>: the admin token (RXSIGHT_ADMIN_TOKEN) on "
    "/api, an ingest token on /v1, metrics.auth's token on /metrics.",
    auto_error=False,
)
SESSION = APIKeyCookie(
    name="rxsight_session",
    scheme_name="sessionCookie",
    description="A console session (sign in at /login). Requests other than GET also "
    "send the session's CSRF token in X-CSRF-Token.",
    auto_error=False,
)
_CSRF = {
    "type": "apiKey",
    "in": "header",
    "name": "X-CSRF-Token",
    "description": "The CSRF token of the console session (cookie sessions, other than GET).",
}
_METRICS_BASIC = {
    "type": "http",
    "scheme": "basic",
    "description": "metrics.auth basic credentials, when configured.",
}
_READS = ("get", "head", "options")


class ApiModel(BaseModel):
    """A response body: every key it may carry is declared, so a key the code adds without
    declaring it fails loudly in tests instead of vanishing from the document."""

    model_config = ConfigDict(extra="forbid")


class ApiRow(BaseModel):
    """A row a stage reads from the store (an exception, an event, a delivery): its columns
    are declared, and a column a later release adds passes through rather than failing."""

    model_config = ConfigDict(extra="allow")


# Values as the stages hand them over (rxsight.timeutil.jsonable, or a store's Decimal and
# float): passed through untouched, so typing a route changes no byte of its answers; the
# schema tells a generated client what they are.
Instant = Annotated[Any, WithJsonSchema({"type": "string", "format": "date-time"})]
DecimalText = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
            "description": "a decimal as a string (exact: money and quantities)",
        }
    ),
]
Number = Annotated[Any, WithJsonSchema({"type": "number"})]


class ErrorBody(ApiModel):
    """Every refusal of an /api route: 400, 401, 403, 404, 409, 503."""

    detail: str


_ERROR_TEXT = {
    400: "The request was understood but cannot be done (the detail says why)",
    401: "No credentials, or credentials this server does not know",
    403: "The caller may not do this (role, owner scope, or a missing CSRF token)",
    404: "No such resource",
    409: "The resource is not in a state that allows this",
    503: "The stage that answers this is not running",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: these refusals, each with the ErrorBody shape."""
    return {code: {"model": ErrorBody, "description": _ERROR_TEXT[code]} for code in codes}


_CAMEL_WORD = re.compile(r"_([a-z0-9])")


def short_operation_id(route: APIRoute) -> str:
    """A route without an explicit operation_id gets its name in camelCase (get_kpis →
    getKpis), not FastAPI's name+path+method: generated clients name methods after it."""
    return _CAMEL_WORD.sub(lambda m: m.group(1).upper(), route.name)


def document(
    app: FastAPI, described: Mapping[str, Callable[[], dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The document FastAPI builds, plus what dependencies cannot say: a cookie session's
    writes also need the CSRF header, and /metrics takes basic credentials too.
    `described`: operationId → the parts of that operation a stage builds itself (a request
    body its route reads raw), built here, when the document is first asked for; their
    `x-component-schemas` join the components."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["csrfToken"] = _CSRF
    schemes["metricsBasic"] = _METRICS_BASIC
    components = doc["components"].setdefault("schemas", {})
    for operations in doc.get("paths", {}).values():
        for method, operation in operations.items():
            extra = (described or {}).get(operation.get("operationId", ""))
            if extra is not None:
                parts = dict(extra())
                for name, schema in parts.pop("x-component-schemas", {}).items():
                    if components.setdefault(name, schema) != schema:
                        raise ValueError(f"two different schemas are named {name}")
                operation.update(parts)
            if method in _READS:
                continue
            for requirement in operation.get("security", ()):
                if "sessionCookie" in requirement:
                    requirement["csrfToken"] = []
    app.openapi_schema = doc
    return doc
