"""Two `rxsight serve` on one ClickHouse (DESIGN 9): one runs the rules scheduler and the alert
dispatcher (a lease in the store), the other waits. kill -9 the active one: the other takes
over, rules keep running, no notification is sent twice and none is lost."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from testkit.receiver import Receiver
from tests.integration.alerts.kit import SECRET, config, verify
from tests.support import ClickHouseHttp, Server

TOKEN = "pair-admin-token-0123456789"
LEASE_S = 3.0


def _invoices(sites: list[str]) -> list[dict[str, Any]]:
    """Invoices against POs nobody knows, received hours ago: an unmatched_invoice each."""
    at = (datetime.now(UTC) - timedelta(hours=6)).isoformat().replace("+00:00", "Z")
    return [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "invoice.received",
            "occurred_at": at,
            "source_system": "ap",
            "correlation_id": f"pair-{site}",
            "site": site,
            "supplier_id": "SUP-PAIR",
            "invoice_number": f"INV-{site}",
            "po_number": f"PO-NOBODY-{site}",
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": "1", "unit_price": "2.00"}],
        }
        for site in sites
    ]


def _delivered(server: Server) -> list[dict[str, Any]]:
    return server.request("GET", "/api/deliveries?status=delivered")[1]["deliveries"]


def _leases(server: Server) -> dict[str, bool]:
    return server.request("GET", "/readyz")[1].get("leases", {})


def test_kill_9_of_the_active_server_hands_over_without_double_or_lost_sends(
    tmp_path: Path,
) -> None:
    endpoint = ClickHouseHttp(tmp_path / "clickhouse").start()
    receiver = Receiver().start()
    alerts = config({"ap": [receiver.url("/ap")]}, {"receiver": "ap", "group_by": ["site"]})
    cfg = {"lease_ttl_s": LEASE_S, "rules": {"interval_s": 0.5}, "alerts": alerts}
    shared = {"RXSIGHT_DATABASE": f"rxsight_pair_{uuid.uuid4().hex[:6]}"}
    servers = [
        Server(cfg, admin_token=TOKEN, data_dir=tmp_path / name, dsn=endpoint.dsn(), env=shared)
        for name in ("a", "b")
    ]
    try:
        for server in servers:
            server.start()
        both = {"rules-scheduler", "alerts-dispatcher"}

        def holders() -> dict[str, list[int]]:
            seen: dict[str, list[int]] = {name: [] for name in both}
            for i, server in enumerate(servers):
                for name, held in _leases(server).items():
                    if held:
                        seen[name].append(i)
            return seen

        # Each role held by exactly one of the two.
        roles = servers[0].wait_for(
            lambda: (h := holders()) and all(len(v) == 1 for v in h.values()) and h, timeout=30
        )
        active = servers[roles["alerts-dispatcher"][0]]
        standby = servers[1 - roles["alerts-dispatcher"][0]]

        first = [f"S-{i}" for i in range(5)]
        status, _ = standby.request("POST", "/v1/events", _invoices(first))
        assert status == 200
        receiver.wait(5, "/ap", timeout=60)
        # Killed between deliveries: one killed halfway through a send is delivered again under
        # its webhook-id (at least once, tests/integration/test_alerts_server.py).
        active.wait_for(lambda: len(_delivered(active)) == 5, timeout=30)

        active.kill9()
        killed_at = time.monotonic()
        second = [f"S-{i}" for i in range(5, 10)]
        status, _ = standby.request("POST", "/v1/events", _invoices(second))
        assert status == 200
        standby.wait_for(lambda: _leases(standby) == dict.fromkeys(both, True), timeout=60)
        takeover_s = time.monotonic() - killed_at
        receiver.wait(10, "/ap", timeout=60)
        time.sleep(2 * LEASE_S)  # anything sent twice would have arrived by now
        hits = receiver.delivered("/ap")
        stored = _delivered(standby)
    finally:
        for server in servers:
            server.cleanup()
        receiver.stop()
        endpoint.stop()

    ids = [h.headers["webhook-id"] for h in hits]
    sites = sorted(h.json["groupLabels"]["site"] for h in hits)
    print(
        f"\ntwo servers, kill -9 of the active: takeover {takeover_s:.1f} s (lease {LEASE_S:g} s);"
        f" notifications stored {len(stored)}, received {len(hits)}, distinct webhook-ids "
        f"{len(set(ids))}, duplicates {len(ids) - len(set(ids))}, sites {len(set(sites))}/10"
    )
    assert len(ids) == len(set(ids)), "a notification was sent twice"
    assert sites == sorted(first + second), "a site was notified twice or not at all"
    assert all(verify(SECRET, h.headers, h.body) for h in hits)
