"""The rxsight CLI: migrate is idempotent and refuses a data directory a server holds."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO, Server


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rxsight.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_applies_once_then_reports_current(tmp_path):
    first = _cli("migrate", "--data-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "001_otel_traces" in first.stdout and "002_business_events" in first.stdout
    second = _cli("migrate", "--data-dir", str(tmp_path))
    assert second.returncode == 0, second.stderr
    assert "nothing, schema is current" in second.stdout


def test_commands_refuse_a_data_dir_a_running_server_holds():
    server = Server().start()
    try:
        busy = _cli("migrate", "--data-dir", str(server.data_dir))
        assert busy.returncode == 2
        assert "in use by another rxsight process" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        server.cleanup()
