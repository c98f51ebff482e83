"""Test support: a real `rxsight serve` subprocess on a loopback port with its own data dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from testkit.server import REPO, Server, free_port, rxsight_cli

__all__ = ["REPO", "Server", "free_port", "rxsight_cli", "store_events"]

SHARED = Path(os.environ.get("RXSIGHT_SHARED_DIR", REPO.parent / "shared"))
CONFORMANCE = SHARED / "conformance"


def store_events(store: Any, *events: dict[str, Any]) -> None:
    """Events written to a Store's business_events as the collector writes them (its views fill
    the rules' tables). Each gives `at` (a datetime) for occurred_at; event_id (unless given)
    and source_system are made up."""
    import uuid

    from collector.events import events_table
    from rxsight.model import event_row

    rows = [
        event_row(
            {
                "event_id": str(uuid.uuid4()),
                "source_system": "test",
                **{k: v for k, v in e.items() if k != "at"},
                "occurred_at": e["at"].isoformat(),
            }
        )
        for e in events
    ]
    store.insert_arrow("business_events", events_table(rows))
