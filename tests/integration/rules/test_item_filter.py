"""The item filter and search reach every family whose exceptions are about an item: named
by the finding (a replenishment's item) or on a line of the exception's PO or invoice (a
late delivery, an unmatched invoice). Case-insensitive prefixes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from rules import config as rules_config
from rules import public as rules_public
from rules.engine import evaluate
from rules.lifecycle import persist
from rxsight.config import load_settings
from rxsight.store import Store
from rxsight.timeutil import utcnow
from tests.integration.rules.test_exceptions_as_of import _instant
from tests.support import store_events


def _line(n: int, item: str) -> dict:
    return {"line_no": n, "item_id": item, "quantity": 10, "unit_price": 2.5}


def _undelivered_po(name: str, now: datetime, *items: str) -> dict:
    """PO `{name}-1`, due five days ago and never delivered: a late receipt about its items."""
    return {
        "event_type": "po.created",
        "correlation_id": f"C-{name}",
        "po_number": f"{name}-1",
        "supplier_id": "SUP-1",
        "site": "s1",
        "expected_at": (now - timedelta(days=5)).isoformat(),
        "lines": [_line(n, item) for n, item in enumerate(items, 1)],
        "at": now - timedelta(days=10),
    }


def _invoice(number: str, at: datetime, item: str, **ids: str) -> dict:
    """Invoice `number` with one line of `item`; `ids`: its correlation, supplier, PO."""
    return {
        "event_type": "invoice.received",
        "invoice_number": number,
        "site": "s1",
        "amount": 25,
        "lines": [_line(1, item)],
        "at": at,
        **ids,
    }


def test_item_prefix_finds_exceptions_of_every_family_about_the_item(
    store: Store, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path)
    now = utcnow()
    store_events(
        store,
        _undelivered_po("PO-LATE", now, "NDC-Alpha-0001", "NDC-BETA-0002"),
        # An invoice for no PO: unmatched, about a third item.
        _invoice(
            "INV-NOPO-1",
            now - timedelta(days=6),
            "NDC-GAMMA-0003",
            correlation_id="C-INV",
            supplier_id="SUP-2",
        ),
        # A stat request with no PO: its finding names its item.
        {
            "event_type": "replenishment.requested",
            "correlation_id": "C-REQ",
            "site": "s1",
            "priority": "stat",
            "item_id": "NDC-ALPHA-0009",
            "quantity": 5,
            "at": now - timedelta(hours=3),
        },
    )
    persist(store, evaluate(store, rules_config.load(settings), settings, now))
    every, _ = rules_public.list_exceptions(store, limit=100)
    families = {e["family"] for e in every}
    assert {"delayed_receipt", "unmatched_invoice", "open_replenishment"} <= families, every

    def found(**filters: str) -> set[str]:
        rows, total = rules_public.list_exceptions(store, limit=100, **filters)
        assert total == len(rows)
        return {r["po_number"] or r["invoice_number"] or r["correlation_id"] for r in rows}

    assert found(item="ndc-alpha") == {"PO-LATE-1", "C-REQ"}
    assert found(item="NDC-beta-0002") == {"PO-LATE-1"}
    assert found(item="ndc-gamma") == {"INV-NOPO-1"}
    assert found(item="ndc-gamma", family="unmatched_invoice") == {"INV-NOPO-1"}
    assert found(item="ndc-delta") == set()
    # Search by an item code's prefix, any case, finds the same.
    assert found(q="ndc-gamma-0") == {"INV-NOPO-1"}
    assert {"PO-LATE-1"} <= found(q="Ndc-Beta")


def test_a_line_written_after_the_exception_finds_it_at_every_instant(
    store: Store, tmp_path: Path
) -> None:
    """Each version keeps the items its documents carried when written (line_items); a line
    that arrives later is found too. Which documents carry an item is not dated (the same at
    every instant): an instant before the line arrived finds the exception by it as well."""
    settings = load_settings(data_dir=tmp_path)
    now = utcnow()
    store_events(store, _undelivered_po("PO-LATER", now, "NDC-KNOWN-0001"))
    persist(store, evaluate(store, rules_config.load(settings), settings, now))
    # The late delivery (the PO's other findings are found the same way).
    rows, _ = rules_public.list_exceptions(store, item="ndc-known", family="delayed_receipt")
    (exception,) = rows
    assert exception["po_number"] == "PO-LATER-1"
    before_line = _instant()
    # The PO's invoice brings a line with an item the PO's own lines did not name.
    store_events(
        store,
        _invoice(
            "INV-LATER-1",
            now - timedelta(days=1),
            "NDC-OMEGA-0007",
            correlation_id="C-PO-LATER",
            supplier_id="SUP-1",
            po_number="PO-LATER-1",
        ),
    )
    after_line = _instant()
    # A version written after the line carries it.
    rules_public.act(store, exception["exception_id"], "ack", "ana")
    after_ack = _instant()
    stored = store.query(
        "SELECT version, line_items FROM exception_history WHERE exception_id = {e:String}"
        " ORDER BY version",
        {"e": exception["exception_id"]},
    )
    assert [(r["version"], r["line_items"]) for r in stored] == [
        (1, ["ndc-known-0001"]),
        (2, ["ndc-known-0001", "ndc-omega-0007"]),
    ]

    def found(at: datetime | None, **filters: str) -> list[tuple[str, int]]:
        rows, total = rules_public.list_exceptions(
            store, as_of=at, limit=100, family="delayed_receipt", **filters
        )
        assert total == len(rows)
        return [(r["po_number"], int(r["version"])) for r in rows]

    # Versions 1 (read from the history: written before the line) and 2.
    for at, version in ((before_line, 1), (after_line, 1), (after_ack, 2), (None, 2)):
        assert found(at, item="ndc-omega") == [("PO-LATER-1", version)], at
        assert found(at, item="NDC-OMEGA-0007") == [("PO-LATER-1", version)], at
        assert found(at, q="Ndc-Omega") == [("PO-LATER-1", version)], at
        assert found(at, item="ndc-known") == [("PO-LATER-1", version)], at
        assert found(at, item="ndc-omega-0008") == [], at

    # Lines older than every version's line_items_at (no line written since, the usual case
    # between evaluations): the page leaves its look-up of new lines out and finds the
    # exception by the items its versions carry.
    store.command(
        "ALTER TABLE rules_item_documents UPDATE written_at = now64(3) - INTERVAL 1 DAY"
        " WHERE 1 SETTINGS mutations_sync = 1"
    )
    assert found(None, item="ndc-omega") == [("PO-LATER-1", 2)]
    assert found(None, q="Ndc-Omega") == [("PO-LATER-1", 2)]
    assert found(None, item="ndc-omega-0008") == []
