"""Stage-owned migrations, one ordered sequence: a database made by an older release is
brought up to date with its data intact, and one made by the current layout needs nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rxsight.app import STAGES_WITH_SCHEMA, migrate_store
from rxsight.store import Store
from rxsight.store.migrate import KERNEL, folder_of, migrations
from tests.support import REPO, Server, rxsight_cli

TOKEN = "migrate-admin-token-0123456789ab"
# The schema of an older release: everything up to the alerts stage's first migrations.
OLDER = "021"

_OLDER_DATABASE = """
import sys
from datetime import datetime
from rxsight.store import Store
from rxsight.store.migrate import apply, migrations
store = Store(sys.argv[1])
apply(store, [m for m in migrations(sys.argv[3].split(",")) if m[0] <= sys.argv[2]])
store.command(
    "INSERT INTO business_events (event_id, event_type, occurred_at, source_system, "
    "correlation_id, site, priority, item_id, quantity) VALUES "
    "('old-1', 'replenishment.requested', {at:DateTime64(3, 'UTC')}, 'pharmacy', 'c-old-1', "
    "'mercy-main', 'stat', 'NDC-1', 2)",
    {"at": datetime.fromisoformat(sys.argv[4])},
)
store.close()
"""


def _versions(data_dir: Path) -> list[str]:
    script = (
        "import json,sys; from rxsight.store import Store; s=Store(sys.argv[1]);"
        "print(json.dumps(sorted(r[0] for r in s.query_rows("
        "'SELECT version FROM schema_migrations FINAL')))); s.close()"
    )
    dsn = f"chdb://{data_dir / 'clickhouse'}"
    out = subprocess.run(
        [sys.executable, "-c", script, dsn], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_each_stage_keeps_its_migrations_and_the_sequence_is_one() -> None:
    every = [version for version, _ in migrations(STAGES_WITH_SCHEMA)]
    assert every == sorted(every) and len(every) == len(set(every))
    assert {p.stem for p in folder_of("rules").glob("*.sql")} >= {"010_exceptions"}
    assert {p.stem for p in folder_of("alerts").glob("*.sql")} >= {"020_alerts"}
    assert {p.stem for p in folder_of("web").glob("*.sql")} >= {"031_console_keys"}
    # The kernel keeps only what every stage shares.
    assert not any(p.stem.startswith(("01", "02")) for p in KERNEL.glob("*.sql"))


def test_an_older_database_is_upgraded_with_its_data() -> None:
    with tempfile.TemporaryDirectory(prefix="rxsight-upgrade-") as tmp:
        data_dir = Path(tmp)
        requested = datetime.now(UTC) - timedelta(hours=3)
        made = subprocess.run(
            [
                sys.executable,
                "-c",
                _OLDER_DATABASE,
                f"chdb://{data_dir / 'clickhouse'}",
                OLDER,
                ",".join(STAGES_WITH_SCHEMA),
                requested.isoformat(),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        every = [version for version, _ in migrations(STAGES_WITH_SCHEMA)]
        older = [v for v in every if v <= OLDER]
        assert _versions(data_dir) == older

        upgraded = rxsight_cli("migrate", "--data-dir", str(data_dir))
        assert upgraded.returncode == 0, upgraded.stderr
        newer = [v for v in every if v > OLDER]
        assert upgraded.stdout.strip() == "applied: " + ", ".join(newer)
        assert _versions(data_dir) == every

        again = rxsight_cli("migrate", "--data-dir", str(data_dir))
        assert again.stdout.strip() == "applied: nothing, schema is current"

        # The old request is still there, and the rules judge it: a stat request without a PO
        # for three hours.
        server = Server(admin_token=TOKEN, data_dir=data_dir).start()
        try:
            status, body = server.request("POST", "/api/rules/evaluate?persist=false", {})
            assert status == 200, body
            found = [f for f in body["findings"] if f["correlation_id"] == "c-old-1"]
            assert [(f["family"], f["reason"]) for f in found] == [("open_replenishment", "no_po")]
        finally:
            server.stop()


def test_the_test_stores_database_is_defined_as_a_migrated_one(store: Store) -> None:
    """The `store` fixture copies a database migrated once per session (tests/conftest.py);
    every store test relies on that copy being what migrating an empty database gives."""

    def definitions(st: Store) -> list[tuple[str, str, str, int]]:
        rows = st.query(
            "SELECT name, engine, create_table_query, total_rows FROM system.tables "
            "WHERE database = {db:String} ORDER BY name",
            {"db": st.database},
        )
        return [
            (
                r["name"],
                r["engine"],
                r["create_table_query"].replace(f"{st.database}.", ""),
                r["total_rows"],
            )
            for r in rows
        ]

    fresh = Store(store.dsn, f"fresh_{store.database}")
    try:
        migrate_store(fresh)
        assert definitions(store) == definitions(fresh)
        assert store.query_rows("SELECT version FROM schema_migrations FINAL ORDER BY version") == (
            fresh.query_rows("SELECT version FROM schema_migrations FINAL ORDER BY version")
        )
    finally:
        fresh.command(f"DROP DATABASE IF EXISTS {fresh.database}")
        fresh.close()
