"""Conformance: the shared scenario's expected findings (DESIGN 5) and KPI rows (DESIGN 7a)
against a live rxsight."""

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


def _check(live: Server, *extra: str) -> tuple[subprocess.CompletedProcess[str], str]:
    result = subprocess.run(
        [
            sys.executable,
            str(CONFORMANCE / "check.py"),
            *extra,
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
    return result, result.stdout + result.stderr


@pytest.mark.skipif(not SCENARIO.exists(), reason=f"no conformance scenario at {SCENARIO}")
def test_public_scenario_conforms(live: Server) -> None:
    result, output = _check(live)
    assert result.returncode == 0, f"check.py failed:\n{output}\nserver log:\n{live.log()}"
    assert "115/115" in output and "0 problems" in output, output


@pytest.mark.skipif(not SCENARIO.exists(), reason=f"no conformance scenario at {SCENARIO}")
def test_public_scenario_kpis_conform(live: Server) -> None:
    """GET /api/kpis against kpis.json (DESIGN 7a); the events are sent again, idempotently."""
    result, output = _check(live, "--kpis")
    assert result.returncode == 0, f"check.py --kpis failed:\n{output}\nserver log:\n{live.log()}"
    rows = int(output.rsplit("kpis: ", 1)[1].split("/", 1)[0])
    assert f"kpis: {rows}/{rows} rows right, 0 problems" in output and rows >= 53, output
