"""Helpers for the alerts tests: a real webhook receiver on loopback, an independent Standard
Webhooks verifier, exception rows, and the alerts stage running in-process on real chDB."""

from __future__ import annotations

import base64
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from standardwebhooks import Webhook, WebhookVerificationError

from rules.lifecycle import COLUMNS
from rxsight.store.migrate import KERNEL, folder_of
from tests.support import free_port

# Only the tables the alerts stage touches: other stages' migrations are not its concern.
MIGRATIONS = (
    KERNEL / "003_audit_log.sql",
    folder_of("rules") / "010_exceptions.sql",
    folder_of("alerts") / "020_alerts.sql",
    folder_of("alerts") / "021_alerts_exception_poll.sql",
    KERNEL / "034_audit_chain.sql",
)
SECRET = "whsec_" + base64.b64encode(b"rxsight-test-secret-0123456789ab").decode()


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP server in a thread that records every POST. `script[path]` lists the statuses to
    answer in turn (then 200); `headers_for[status]` adds response headers."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.hits: list[Hit] = []
        self.script: dict[str, list[int]] = {}
        self.response_headers: dict[int, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with owner._lock:
                    queue = owner.script.get(self.path) or []
                    status = queue.pop(0) if queue else 200
                if status < 0:
                    # A negative entry: hang that many seconds, then answer 200 (a timeout).
                    time.sleep(-status)
                    status = 200
                with owner._lock:
                    owner.hits.append(
                        Hit(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            status,
                            time.time(),
                        )
                    )
                self.send_response(status)
                for k, v in owner.response_headers.get(status, {}).items():
                    self.send_header(k, v)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if 200 <= h.status < 300 and path in (None, h.path)]

    def wait(self, n: int, path: str | None = None, timeout: float = 15) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.delivered(path)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.delivered(path))} deliveries to {path}, wanted {n}")


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

    def __init__(self, alerts_config: dict[str, Any], console_url: str = "http://console") -> None:
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
            config=Config(alerts=alerts_config, console_url=console_url),
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
