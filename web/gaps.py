"""Gaps the procure-to-pay chain cannot name by itself: a PO stuck in the ERP's outbound queue
or waiting on the supplier, and the steps only the rules know are owed (an ASN from a supplier
configured to send them, a receipt's GL journal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from web.ui import to_datetime


class Gap(NamedTuple):
    text: str  # "{at}" marks where the time goes
    at: datetime | None
    site: str | None
    step: str


# Open findings that say a step is owed, which the chain shows as optional (or not at all):
# (family, reason) -> (step, what to say, the event type whose time it names).
OWED_STEPS = {
    ("supplier_response", "no_asn"): (
        "shipped",
        "PO {po} acknowledged {{at}}; the supplier sends ASNs, and none came.",
        "po.acknowledged",
    ),
    ("reconciliation", "not_journaled"): (
        "journaled",
        "Receipt {receipt} posted {{at}}, not journaled to the GL.",
        "receipt.posted",
    ),
}


def supplier_gaps(events: list[dict[str, Any]]) -> list[Gap]:
    """Each PO of the transaction not yet sent to its supplier, or sent and not acknowledged."""
    out = []
    by_type: dict[tuple[str, str], dict[str, Any]] = {}
    for ev in events:
        if ev.get("po_number"):
            by_type.setdefault((ev["event_type"], ev["po_number"]), ev)
    for (etype, po), created in by_type.items():
        if etype != "po.created":
            continue
        sent = by_type.get(("po.transmitted", po))
        if sent is None:
            out.append(
                Gap(
                    f"PO {po} created {{at}}, not sent to the supplier (stuck in the ERP's "
                    "outbound queue?).",
                    to_datetime(created["occurred_at"]),
                    created.get("site"),
                    "transmitted",
                )
            )
        elif ("po.acknowledged", po) not in by_type:
            supplier = created.get("supplier_id") or "the supplier"
            out.append(
                Gap(
                    f"PO {po} sent to {supplier} {{at}}, not acknowledged.",
                    to_datetime(sent["occurred_at"]),
                    created.get("site"),
                    "acknowledged",
                )
            )
    return out


def owed_gaps(events: list[dict[str, Any]], exceptions: list[dict[str, Any]]) -> list[Gap]:
    """The steps the transaction's open exceptions say are owed."""
    out = []
    for exc in exceptions:
        owed = OWED_STEPS.get((exc.get("family") or "", exc.get("reason") or ""))
        if owed is None or exc.get("status") == "resolved":
            continue
        step, text, etype = owed
        po, receipt = exc.get("po_number") or "", exc.get("receipt_id") or ""
        key, value = ("receipt_id", receipt) if receipt else ("po_number", po)
        named = next(
            (e for e in events if e["event_type"] == etype and (e.get(key) or "") == value),
            None,
        )
        at = to_datetime(named["occurred_at"]) if named else None
        out.append(Gap(text.format(po=po, receipt=receipt), at, exc.get("site"), step))
    return out
