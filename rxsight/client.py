"""The CLI's HTTP calls to a running rxsight (httpx), with errors that say what happened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

DEFAULT_TIMEOUT_S = 120.0


class ApiError(Exception):
    """A call that did not succeed; str() is one line for a person (status and reason)."""


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300]
    if isinstance(body, dict):
        detail = body.get("detail", body.get("error", body))
        if isinstance(detail, list):  # FastAPI's 422: one entry per field
            return "; ".join(
                f"{'.'.join(str(p) for p in d.get('loc', ()))}: {d.get('msg')}" for d in detail
            )
        return str(detail)
    return str(body)


def _refusal(resp: httpx.Response) -> str:
    code, detail = resp.status_code, _detail(resp)
    if code == 401:
        return "401: the token was refused (give --token or set RXSIGHT_ADMIN_TOKEN)"
    if code == 403:
        return f"403: this token may not do that ({detail})"
    if code == 404:
        return f"404: not found ({detail})"
    if code in (400, 409, 422):
        return f"{code}: the request was refused: {detail}"
    if code == 429 or code == 503:
        wait = resp.headers.get("retry-after")
        later = f"; retry after {wait}s" if wait else ""
        return f"{code}: rxsight is busy or not ready ({detail}){later}"
    return f"{code}: rxsight failed to answer ({detail})"


def call(
    url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    json: Any = None,
    content: bytes | None = None,
    content_type: str | None = None,
    params: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> httpx.Response:
    """One request to rxsight at `url`; the response when it is 2xx, else ApiError. A body is
    `json`, or `content` sent as `content_type`."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["content-type"] = content_type
    target = url.rstrip("/") + path
    try:
        resp = httpx.request(
            method,
            target,
            json=json,
            content=content,
            params=params,
            headers=headers,
            timeout=timeout,
        )
    except httpx.ConnectError as exc:
        raise ApiError(
            f"cannot connect to rxsight at {url} ({exc}); is `rxsight serve` running there?"
        ) from None
    except httpx.TimeoutException:
        raise ApiError(f"rxsight at {url} did not answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise ApiError(f"the request to {target} failed: {exc}") from None
    if not resp.is_success:
        raise ApiError(_refusal(resp))
    return resp
