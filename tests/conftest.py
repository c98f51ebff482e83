"""Shared fixtures: one live server per session for read-mostly tests; tests that need their
own configuration or kill the process start their own `Server`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxsight.app import migrate_store
from rxsight.store import Store
from tests.support import Server

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    srv = Server(admin_token=ADMIN_TOKEN).start()
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one chDB directory in-process store tests share (chDB binds one per process)."""
    return tmp_path_factory.mktemp("chdb") / "clickhouse"


@pytest.fixture
def store(chdb_dir: Path) -> Iterator[Store]:
    """A migrated store in a database of its own, dropped afterwards."""
    db = f"test_{uuid.uuid4().hex[:12]}"
    st = Store(f"chdb://{chdb_dir}", db)
    migrate_store(st)
    try:
        yield st
    finally:
        st.command(f"DROP DATABASE IF EXISTS {db}")
        st.close()
