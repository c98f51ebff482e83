"""Shared fixtures: one live server per module for read-mostly tests; tests that need their
own configuration or kill the process start their own `Server`."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxsight.app import migrate_store
from rxsight.store import Store
from testkit.server import stop_all
from tests.support import ClickHouseHttp, Server, copy_database

ADMIN_TOKEN = "test-admin-token-0123456789"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Whatever a test started and left running (a failed start, a forgotten cleanup, an
    interrupted run) is stopped with the session, and said so."""
    left = stop_all()
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"stopped {left} child process(es) the tests left running")


# Per module, not per session: an idle server still polls its store (about 7 % of a core),
# and a session's server idled through every later module of its worker.
@pytest.fixture(scope="module")
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


@pytest.fixture(scope="session")
def clickhouse_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An http:// DSN: RXSIGHT_TEST_CLICKHOUSE_DSN when set (a real ClickHouse server), else
    the chDB-backed HTTP endpoint of tests/clickhouse_http.py, started once per session."""
    external = os.environ.get("RXSIGHT_TEST_CLICKHOUSE_DSN")
    if external:
        yield external
        return
    endpoint = ClickHouseHttp(tmp_path_factory.mktemp("clickhouse-http"), password="test-pw")
    endpoint.start()
    try:
        yield endpoint.dsn()
    finally:
        endpoint.stop()


# Every store test runs on both engines the DSN can pick (DESIGN 3): embedded chDB and a
# ClickHouse server over HTTP.
STORE_ENGINES = ["chdb", "http"]


@pytest.fixture(scope="session")
def migrated_databases() -> Iterator[dict[str, str]]:
    """Per DSN, the name of a database migrate_store brought up to date, made on first use;
    each test's own database is a copy of it."""
    made: dict[str, str] = {}
    yield made
    for dsn, database in made.items():
        # The session's own HTTP endpoint may have stopped first (its data goes with it); a
        # server named by RXSIGHT_TEST_CLICKHOUSE_DSN still runs and drops the database.
        with contextlib.suppress(Exception):
            st = Store(dsn, database)
            st.command(f"DROP DATABASE IF EXISTS {database}")
            st.close()


@pytest.fixture(params=STORE_ENGINES)
def store(
    request: pytest.FixtureRequest, chdb_dir: Path, migrated_databases: dict[str, str]
) -> Iterator[Store]:
    """A migrated store in a database of its own, dropped afterwards."""
    if request.param == "http":
        dsn = request.getfixturevalue("clickhouse_dsn")
    else:
        dsn = f"chdb://{chdb_dir}"
    migrated = Store(dsn, migrated_databases.get(dsn) or f"migrated_{uuid.uuid4().hex[:12]}")
    try:
        if dsn not in migrated_databases:
            migrate_store(migrated)
            migrated_databases[dsn] = migrated.database
        st = copy_database(migrated, f"test_{uuid.uuid4().hex[:12]}")
    finally:
        # Closed between tests: chDB binds one directory per process while a connection is
        # open, and some tests open a server's directory in-process once it stopped.
        migrated.close()
    try:
        yield st
    finally:
        st.command(f"DROP DATABASE IF EXISTS {st.database}")
        st.close()
