"""Shared fixtures: one live server per session for read-mostly tests; tests that need their
own configuration or kill the process start their own `Server`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import Server

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    srv = Server(admin_token=ADMIN_TOKEN).start()
    try:
        yield srv
    finally:
        srv.cleanup()
