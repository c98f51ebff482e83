"""The rxsight CLI: migrate is idempotent and refuses a data directory a server holds."""

from __future__ import annotations

import json
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


def test_rules_evaluate_prints_findings_as_of_an_instant():
    token = "cli-admin-token-0123456789"
    server = Server(admin_token=token).start()
    try:
        status, _ = server.request(
            "POST",
            "/v1/events",
            {
                "event_id": "cli-req-1",
                "event_type": "replenishment.requested",
                "occurred_at": "2026-11-20T08:00:00Z",
                "correlation_id": "cli-corr-1",
                "source_system": "pharmacy",
                "site": "mercy-main",
                "item_id": "NDC-1",
                "quantity": 4,
                "priority": "stat",
            },
        )
        assert status == 200

        def evaluate(*extra: str) -> subprocess.CompletedProcess[str]:
            return _cli(
                "rules",
                "evaluate",
                "--url",
                server.url,
                "--token",
                token,
                "--as-of",
                "2026-11-20T09:30:00Z",
                *extra,
            )

        def found() -> subprocess.CompletedProcess[str] | None:
            run = evaluate()
            return run if "cli-corr-1" in run.stdout else None

        text = server.wait_for(found, timeout=10, interval=0.5)
        assert text.returncode == 0, text.stderr
        line = next(ln for ln in text.stdout.splitlines() if "cli-corr-1" in ln)
        assert "open_replenishment" in line and "no_po" in line
        assert "since 2026-11-20T09:00:00" in line  # the stat limit: one hour after the request
        run = evaluate("--json")
        assert run.returncode == 0
        body = json.loads(run.stdout)
        assert body["as_of"].startswith("2026-11-20T09:30:00")
        assert any(f["correlation_id"] == "cli-corr-1" for f in body["findings"])
        before = evaluate("--as-of", "2026-11-20T08:59:59Z")
        assert "cli-corr-1" not in before.stdout  # within the limit: no finding yet
    finally:
        server.cleanup()
