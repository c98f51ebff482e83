"""The alerts section is reloaded when its file changes (watchfiles): written in place, or
replaced by a rename as editors and config management do; a broken edit keeps the running
configuration and says why."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support import Server

TOKEN = "config-watch-admin-token-01234"


def _alerts(receiver: str) -> dict[str, Any]:
    return {
        "alerts": {
            "receivers": [
                {
                    "name": receiver,
                    "secret": "config-watch-signing-secret",
                    "webhooks": [{"url": "http://127.0.0.1:9/hook"}],
                }
            ],
            "route": {"receiver": receiver},
        }
    }


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(_alerts("first"), admin_token=TOKEN).start()
    try:
        yield srv
    finally:
        srv.cleanup()


def _receivers(server: Server) -> list[str]:
    status, body = server.request("GET", "/api/alerts/config")
    assert status == 200, body
    return [r["name"] for r in body["receivers"]]


def _reload_error(server: Server) -> Any:
    return server.request("GET", "/api/alerts/config")[1]["last_reload_error"]


def test_an_edited_or_replaced_file_is_reloaded(server: Server) -> None:
    path = server.config_path
    assert path is not None and _receivers(server) == ["first"]

    path.write_text(yaml.safe_dump(_alerts("edited")))
    server.wait_for(lambda: _receivers(server) == ["edited"], timeout=15, interval=0.3)

    staged = path.with_name("rxsight.yaml.new")
    staged.write_text(yaml.safe_dump(_alerts("renamed")))
    os.replace(staged, path)
    server.wait_for(lambda: _receivers(server) == ["renamed"], timeout=15, interval=0.3)

    broken = _alerts("broken")
    broken["alerts"]["route"]["receiver"] = "nobody"
    path.write_text(yaml.safe_dump(broken))
    problems = server.wait_for(lambda: _reload_error(server), timeout=15, interval=0.3)
    assert any("nobody" in p for p in problems), problems
    assert _receivers(server) == ["renamed"]
