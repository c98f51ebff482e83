"""`rxsight audit verify`: through a running server, on its data directory, and after tampering."""

from __future__ import annotations

import json
import subprocess
import sys

from rxsight.store import Store
from tests.support import REPO, Server

TOKEN = "audit-admin-token-0123456789"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rxsight.cli", "audit", "verify", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_through_the_server_then_on_disk_then_after_tampering() -> None:
    server = Server(admin_token=TOKEN).start()
    try:
        for _ in range(3):
            status, _body = server.request("POST", "/api/alerts/reload")
            assert status in (200, 400)
        live = _cli("--url", server.url, "--token", TOKEN)
        assert live.returncode == 0, live.stderr
        assert "audit log intact: 4 entries" in live.stdout  # the seal and three reloads
        anchor = live.stdout.split("--anchor): ")[1].strip()
        assert anchor.startswith("4:")
        busy = _cli("--data-dir", str(server.data_dir))
        assert busy.returncode == 2 and "in use by another rxsight process" in busy.stderr
        status, listed = server.request("GET", "/api/audit?action=reload")
        assert status == 200 and listed["total"] == 3
        assert listed["items"][0]["actor"] == "admin-token"
        server.stop()

        on_disk = _cli("--data-dir", str(server.data_dir), "--anchor", anchor, "--json")
        assert on_disk.returncode == 0, on_disk.stderr
        assert json.loads(on_disk.stdout)["head"]["seq"] == 4
        store = Store(f"chdb://{server.data_dir / 'clickhouse'}")
        try:
            store.command(
                "ALTER TABLE audit_log UPDATE actor = 'someone-else' WHERE seq = 3"
                " SETTINGS mutations_sync = 2"
            )
        finally:
            store.close()
        broken = _cli("--data-dir", str(server.data_dir))
        assert broken.returncode == 1
        assert "entry #3 (reload alerts_config alerts) was altered" in broken.stderr
        assert "audit log NOT intact: 1 problem\n" in broken.stderr
    finally:
        server.cleanup()
