"""Conformance: the shared scenario's expected findings against a live rxsight (DESIGN 5)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support import CONFORMANCE, Server

TOKEN = "conformance-admin-token-0123456789"
SCENARIO = CONFORMANCE / "scenario-public"


@pytest.fixture(scope="module", params=["chdb", "http"])
def live(request: pytest.FixtureRequest) -> Iterator[Server]:
    """rxsight on its embedded store, and on a ClickHouse server (RXSIGHT_CLICKHOUSE_DSN)."""
    dsn = request.getfixturevalue("clickhouse_dsn") if request.param == "http" else None
    srv = Server(admin_token=TOKEN, dsn=dsn).start()
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.mark.skipif(not SCENARIO.exists(), reason=f"no conformance scenario at {SCENARIO}")
def test_public_scenario_conforms(live: Server) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(CONFORMANCE / "check.py"),
            "--dir",
            str(SCENARIO),
            "--url",
            live.url,
            "--token",
            TOKEN,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"check.py failed:\n{output}\nserver log:\n{live.log()}"
    assert "115/115" in output and "0 problems" in output, output
