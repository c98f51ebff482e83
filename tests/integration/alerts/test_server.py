"""Alerts through a real `rxsight serve`: config rejected with file/path/reason, reload keeps
the previous config, the HTTP API (silences CRUD, test alerts, deliveries, dead letters and
replay, /metrics), and kill -9 with notifications pending."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from rxsight.audit import CHAIN_STARTED
from testkit.receiver import Receiver
from tests.integration.alerts.kit import (
    MIGRATIONS,
    SECRET,
    config,
    exception_row,
    insert_exceptions,
    verify,
)
from tests.support import REPO, Server

TOKEN = "alerts-admin-token-0123456789"


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def test_invalid_routing_config_is_rejected_with_file_path_and_reason(tmp_path: Path) -> None:
    bad = config({"ap": ["http://127.0.0.1:9/x"]}, {"receiver": "ap"})
    bad["route"]["routes"] = [
        {"matchers": ["site=~(unclosed"], "receiver": "ap"},
        {"matchers": ["family=x"], "receiver": "nobody"},
    ]
    bad["route"]["group_wait"] = "soon"
    path = tmp_path / "rxsight.yaml"
    path.write_text(yaml.safe_dump({"alerts": bad}))
    check = subprocess.run(
        [sys.executable, "-m", "rxsight.cli", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert check.returncode != 0
    assert str(path) in check.stderr
    assert "alerts.route.group_wait" in check.stderr and "not a duration" in check.stderr
    # The duration is fixed; what remains is reported with the path into the tree.
    bad["route"]["group_wait"] = "1s"
    path.write_text(yaml.safe_dump({"alerts": bad}))
    check = subprocess.run(
        [sys.executable, "-m", "rxsight.cli", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert "alerts.route.routes.0.matchers.0: invalid regular expression" in check.stderr
    assert "alerts.route.routes.1.receiver: unknown receiver 'nobody'" in check.stderr
    # serve refuses to start with it.
    srv = Server({"alerts": bad}, admin_token=TOKEN)
    try:
        try:
            srv.start(timeout=40)
            raise AssertionError("serve started with an invalid alerts config")
        except RuntimeError as exc:
            assert "unknown receiver 'nobody'" in str(exc)
    finally:
        srv.cleanup()


def test_api_silences_test_alert_deliveries_dead_letters_reload_metrics() -> None:
    good = Receiver().start()
    down = Receiver()  # nothing listening until later
    cfg = config(
        {"ap": [good.url("/ap")], "down": [{"url": down.url("/down"), "format": "rxsight"}]},
        {"receiver": "ap"},
    )
    cfg["delivery"]["max_attempts"] = 2
    srv = Server({"alerts": cfg}, admin_token=TOKEN)
    try:
        srv.start()
        # -------- silences CRUD
        now = datetime.now(UTC)
        status, created = srv.request(
            "POST",
            "/api/silences",
            {
                "matchers": [{"name": "site", "value": "SITE-A"}, 'family=~"unmatched.*"'],
                "endsAt": iso(now + timedelta(hours=1)),
                "comment": "ERP upgrade at site A",
            },
        )
        assert status == 201, created
        sid = created["id"]
        assert created["status"]["state"] == "active" and created["createdBy"] == "admin-token"
        assert created["matchers"][1] == {
            "name": "family",
            "value": "unmatched.*",
            "isRegex": True,
            "isEqual": True,
        }
        status, err = srv.request(
            "POST", "/api/silences", {"matchers": [], "endsAt": iso(now), "comment": "x"}
        )
        assert status == 400 and "matchers" in err["detail"]
        status, _ = srv.request(
            "POST",
            "/api/silences",
            {"matchers": ["site=A"], "endsAt": iso(now + timedelta(hours=1)), "comment": "x"},
            token=None,
        )
        assert status == 401
        status, updated = srv.request(
            "PUT", f"/api/silences/{sid}", {"comment": "ERP upgrade, extended"}
        )
        assert status == 200 and updated["comment"] == "ERP upgrade, extended"
        assert srv.request("GET", f"/api/silences/{sid}")[1]["comment"] == "ERP upgrade, extended"
        assert [s["id"] for s in srv.request("GET", "/api/silences?state=active")[1]] == [sid]
        status, expired = srv.request("DELETE", f"/api/silences/{sid}")
        assert status == 200 and expired["status"]["state"] == "expired"
        assert srv.request("GET", "/api/silences?state=active")[1] == []
        assert srv.request("GET", "/api/silences/nope")[0] == 404

        # -------- test alert, deliveries
        status, sent = srv.request("POST", "/api/alerts/test", {"receiver": "ap"})
        assert status == 202, sent
        hit = good.wait(1, "/ap")[0]
        assert hit.headers["webhook-id"] == sent["notification_ids"][0]
        assert verify(SECRET, hit.headers, hit.body)
        assert hit.json["alerts"][0]["labels"]["alertname"] == "rxsight_test"
        assert srv.request("POST", "/api/alerts/test", {"receiver": "zz"})[0] == 404

        def delivered() -> Any:
            got = srv.request("GET", "/api/deliveries?status=delivered")[1]["deliveries"]
            return got and got[0]["history"] and got

        rows = srv.wait_for(delivered)
        assert rows[0]["id"] == hit.headers["webhook-id"]
        assert rows[0]["history"][0]["status_code"] == 200
        assert rows[0]["history"][0]["latency_ms"] > 0

        # -------- dead letter via the API, then replay once the receiver is up
        status, sent = srv.request("POST", "/api/alerts/test", {"receiver": "down"})
        dead_id = sent["notification_ids"][0]

        def dead() -> Any:
            return srv.request("GET", "/api/dead-letters")[1]["dead_letters"]

        letters = srv.wait_for(dead, timeout=15)
        assert letters[0]["id"] == dead_id and letters[0]["attempts"] == 2
        assert len(letters[0]["history"]) == 2 and letters[0]["last_error"]
        down.start()
        status, replay = srv.request("POST", f"/api/dead-letters/{dead_id}/replay")
        assert status == 202, replay
        got = down.wait(1, "/down")[0]
        assert got.headers["webhook-id"] == dead_id
        assert got.json["type"] == "rxsight.alerts" and got.json["alerts"][0]["console_url"]
        srv.wait_for(lambda: not dead())
        assert srv.request("POST", f"/api/dead-letters/{dead_id}/replay")[0] == 409

        # -------- metrics
        # The replayed letter leaves the dead list when it is queued, a moment before its
        # delivery is recorded: wait for the outbox to drain, then read the counters.
        text = srv.wait_for(
            lambda: (
                (t := srv.request("GET", "/metrics")[1])
                and "rxsight_alert_outbox_depth 0.0" in t
                and t
            ),
            timeout=15,
        )
        assert 'rxsight_alert_notifications_total{outcome="delivered",receiver="ap"} 1.0' in text
        assert 'rxsight_alert_notifications_total{outcome="dead",receiver="down"} 1.0' in text
        assert "rxsight_alert_delivery_latency_seconds_bucket" in text
        assert "rxsight_alert_outbox_depth 0.0" in text

        # -------- reload: a broken file is rejected, the previous config stays active
        doc = yaml.safe_load(srv.config_path.read_text())
        doc["alerts"]["route"]["receiver"] = "missing"
        srv.config_path.write_text(yaml.safe_dump(doc))
        status, body = srv.request("POST", "/api/alerts/reload")
        assert status == 400
        assert any(
            str(srv.config_path) in p and "alerts.route.receiver" in p for p in body["problems"]
        ), body
        status, _ = srv.request("POST", "/api/alerts/test", {"receiver": "ap"})
        assert status == 202
        good.wait(2, "/ap")
        # A good file is taken.
        doc["alerts"]["route"]["receiver"] = "down"
        srv.config_path.write_text(yaml.safe_dump(doc))
        assert srv.request("POST", "/api/alerts/reload")[0] == 200
        cfg_now = srv.request("GET", "/api/alerts/config")[1]
        assert cfg_now["route"]["receiver"] == "down" and cfg_now["last_reload_error"] is None
        assert "secret" not in str(cfg_now["receivers"])
        # Every person's change is in the audit log.
        srv.stop()
        actions = _audit(srv.data_dir)
        assert {("create", "silence"), ("update", "silence"), ("expire", "silence")} <= actions
        assert ("replay", "alert_notification") in actions
        assert ("reload", "alerts_config") in actions
    finally:
        srv.cleanup()
        good.stop()
        down.stop()


def _audit(data_dir: Path) -> set[tuple[str, str]]:
    from rxsight.store import Store

    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    try:
        rows = store.query(
            "SELECT action, object_type, actor FROM audit_log WHERE action != {seal:String}",
            {"seal": CHAIN_STARTED},
        )
    finally:
        store.close()
    # The file watch may see the test's config writes before the API reload does (more so on
    # a loaded machine); it audits its reloads under its own name, which is right, not a person.
    rows = [r for r in rows if r["actor"] != "config-file-watch"]
    assert all(r["actor"] == "admin-token" for r in rows), rows
    return {(r["action"], r["object_type"]) for r in rows}


def _seed(data_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Write exception rows into a data dir no server holds (chDB: one process per dir)."""
    from rxsight.store import Store
    from rxsight.store.sql import split_statements

    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    try:
        for path in MIGRATIONS:
            for stmt in split_statements(path.read_text()):
                store.command(stmt)
        insert_exceptions(store, rows)
    finally:
        store.close()


def test_kill_9_with_notifications_pending_then_everything_delivered(tmp_path: Path) -> None:
    receiver = Receiver()  # down while the first server runs
    cfg = config({"ap": [receiver.url("/ap")]}, {"receiver": "ap", "group_by": ["site"]})
    cfg["delivery"] = {"max_attempts": 50, "backoff_initial": "200ms", "backoff_max": "500ms"}
    sites = [f"SITE-{i}" for i in range(5)]
    _seed(tmp_path, [exception_row(f"INV-K{i}", 1, site=s) for i, s in enumerate(sites)])
    srv = Server({"alerts": cfg}, admin_token=TOKEN, data_dir=tmp_path)
    try:
        srv.start()

        def pending() -> Any:
            rows = srv.request("GET", "/api/deliveries?status=pending")[1]["deliveries"]
            return len(rows) == 5 and all(r["attempts"] >= 1 for r in rows) and rows

        ids = {r["id"] for r in srv.wait_for(pending, timeout=20)}
        srv.kill9()
        receiver.start()
        srv.start()
        hits = receiver.wait(5, "/ap", timeout=20)
        time.sleep(1.0)
        hits = receiver.delivered("/ap")
        # Every pending notification arrived, each exactly once, with its original webhook-id;
        # nothing was re-notified under a new id after the restart.
        assert sorted(h.headers["webhook-id"] for h in hits) == sorted(ids)
        assert {h.json["groupLabels"]["site"] for h in hits} == set(sites)
        assert all(verify(SECRET, h.headers, h.body) for h in hits)
        srv.wait_for(
            lambda: (
                len(srv.request("GET", "/api/deliveries?status=delivered")[1]["deliveries"]) == 5
            )
        )
        # After a clean restart nothing is sent again (the notification log survived).
        srv.stop()
        srv.start()
        time.sleep(1.5)
        assert len(receiver.delivered("/ap")) == 5
        alerts = srv.request("GET", "/api/alerts?state=firing")[1]
        assert alerts["count"] == 5
    finally:
        srv.cleanup()
        receiver.stop()
