"""GET /metrics: the Prometheus text exposition of the app's registry, behind the optional
`metrics.auth` (bearer token or basic auth): exception counts per site and owner are
operational data."""

from __future__ import annotations

import base64
import binascii
import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from metrics.config import MetricsAuth
from metrics.service import MetricsStage
from rxsight.passwords import verify_password

router = APIRouter(tags=["ops"])
_EXPOSITION = CONTENT_TYPE_LATEST.split(";")[0]


def _allowed(auth: MetricsAuth, header: str) -> bool:
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and auth.bearer_token:
        return secrets.compare_digest(value.strip().encode(), auth.bearer_token.encode())
    if scheme == "basic" and auth.basic:
        try:
            user, _, password = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return False
        same_user = secrets.compare_digest(user.encode(), auth.basic.username.encode())
        return verify_password(password, auth.basic.password_hash) and same_user
    return False


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    description="The Prometheus text exposition format.",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {_EXPOSITION: {"schema": {"type": "string"}}}},
        401: {
            "description": "metrics.auth is configured and the credentials are missing or wrong",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
    # metrics.auth is optional: without it /metrics answers anyone.
    openapi_extra={"security": [{"bearerAuth": []}, {"metricsBasic": []}, {}]},
)
def get_metrics(request: Request) -> Response:
    stage = request.app.state.runtime.metrics
    auth = stage.config.auth if isinstance(stage, MetricsStage) else None
    if auth is not None and not _allowed(auth, request.headers.get("authorization", "")):
        challenge = 'Basic realm="rxsight metrics"' if auth.basic else "Bearer"
        return Response(
            "metrics.auth: send the configured bearer token or basic credentials\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": challenge},
        )
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
