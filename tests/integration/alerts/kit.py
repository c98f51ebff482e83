"""Helpers for the alerts tests: a real webhook receiver on loopback, an independent Standard
Webhooks verifier, exception rows, and the alerts stage running in-process on real chDB."""

from __future__ import annotations

import base64
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from standardwebhooks import Webhook, WebhookVerificationError

from rules.lifecycle import COLUMNS
from rxsight.store.migrate import KERNEL, folder_of

# Only the tables the alerts stage touches: other stages' migrations are not its concern.
MIGRATIONS = (
    KERNEL / "003_audit_log.sql",
    folder_of("rules") / "010_exceptions.sql",
    folder_of("alerts") / "020_alerts.sql",
    folder_of("alerts") / "021_alerts_exception_poll.sql",
    KERNEL / "034_audit_chain.sql",
    KERNEL / "070_leases.sql",
    # Each exception's latest version, which the dispatcher reads at start and to resync.
    folder_of("rules") / "091_exceptions_now.sql",
)
SECRET = "whsec_" + base64.b64encode(b"rxsight-test-secret-0123456789ab").decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification with the reference implementation (`standardwebhooks`),
    independent of alerts/; it also refuses timestamps more than 5 minutes away."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


# The exception_history columns, as the rules stage writes them.
EXCEPTION_COLUMNS = list(COLUMNS)


def exception_row(
    exception_id: str,
    version: int,
    change: str = "opened",
    status: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    status = status or {
        "resolved": "resolved",
        "auto_resolved": "resolved",
        "acknowledged": "acknowledged",
    }.get(change, "open")
    row: dict[str, Any] = {c: "" for c in EXCEPTION_COLUMNS}
    row.update(
        exception_id=exception_id,
        version=version,
        at=now,
        change=change,
        status=status,
        actor="rules",
        rule_id="unmatched_invoice",
        family="unmatched_invoice",
        reason="price_variance",
        severity="warning",
        owner="accounts-payable",
        site="SITE-A",
        domain="finance",
        since=now,
        opened_at=now,
        summary=f"invoice {exception_id} does not match its PO",
        details='{"variance_pct": "4.1"}',
        supplier_id="SUP-1",
        invoice_number=exception_id,
    )
    row.update(fields)
    return row


def insert_exceptions(store: Any, rows: list[dict[str, Any]]) -> None:
    store.insert_rows(
        "exception_history", [[r[c] for c in EXCEPTION_COLUMNS] for r in rows], EXCEPTION_COLUMNS
    )


class Stage:
    """The alerts stage in this process on a fresh chDB directory (one at a time: chDB binds
    one directory per process)."""

    def __init__(
        self,
        alerts_config: dict[str, Any],
        console_url: str = "http://console",
        rules_config: dict[str, Any] | None = None,
    ) -> None:
        from alerts import build
        from rxsight.auth import Authenticator
        from rxsight.config import Config, Settings
        from rxsight.runtime import Runtime
        from rxsight.store import Store
        from rxsight.store.sql import split_statements

        self._tmp = tempfile.TemporaryDirectory(prefix="rxsight-alerts-")
        data = Path(self._tmp.name)
        settings = Settings(
            dsn=f"chdb://{data / 'clickhouse'}",
            data_dir=data,
            config=Config(alerts=alerts_config, console_url=console_url, rules=rules_config or {}),
        )
        self.store = Store(settings.dsn, settings.database)
        for path in MIGRATIONS:
            for stmt in split_statements(path.read_text()):
                self.store.command(stmt)
        self.registry = CollectorRegistry()
        self.runtime = Runtime(
            settings=settings,
            store=self.store,
            registry=self.registry,
            auth=Authenticator(settings),
        )
        self.service = build(self.runtime)
        self.runtime.alerts = self.service
        self.service.start()

    def exceptions(self, *rows: dict[str, Any]) -> None:
        insert_exceptions(self.store, list(rows))

    def alerts(self) -> list[dict[str, Any]]:
        return self.service.dispatcher.snapshot()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = predicate()
            if got:
                return got
            time.sleep(0.05)
        raise AssertionError("condition not met")

    def close(self) -> None:
        self.service.stop()
        self.store.close()
        self._tmp.cleanup()


def config(
    receivers: dict[str, list[str] | list[dict[str, Any]]],
    route: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """An alerts section with fast timers for tests."""
    recv = []
    for name, hooks in receivers.items():
        recv.append(
            {
                "name": name,
                "secret": SECRET,
                "webhooks": [h if isinstance(h, dict) else {"url": h} for h in hooks],
            }
        )
    timers = {"group_wait": "300ms", "group_interval": "500ms", "repeat_interval": "1h"}
    return {
        "poll_interval": "100ms",
        "receivers": recv,
        "route": {**timers, **route},
        "delivery": {"max_attempts": 3, "backoff_initial": "100ms", "backoff_max": "500ms"},
        **extra,
    }
