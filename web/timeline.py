"""The transaction timeline: events and spans on one time axis, the procure-to-pay steps with
the missing one called out, and ordered / received / invoiced quantities side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from web.gaps import owed_gaps, supplier_gaps
from web.quantities import (
    LineQty,
    PriceTolerance,
    ReceiptBooking,
    Totals,
    quantities,
    receipt_bookings,
)
from web.ui import to_datetime

# The procure-to-pay chain in order: (step, event type, label, optional). Optional steps are
# shown when present but are never reported missing (not every supplier sends an ASN).
STEPS = (
    ("requested", "replenishment.requested", "Requested", False),
    ("po", "po.created", "PO created", False),
    ("transmitted", "po.transmitted", "Sent to supplier", False),
    ("acknowledged", "po.acknowledged", "Acknowledged", False),
    ("shipped", "shipment.notified", "Shipped (ASN)", True),
    ("received", "goods.received", "Goods received", False),
    ("posted", "receipt.posted", "Posted to ERP", False),
    ("journaled", "journal.posted", "Journaled (GL)", True),
    ("invoiced", "invoice.received", "Invoiced", False),
    ("matched", "invoice.matched", "Invoice matched", False),
    ("scheduled", "payment.scheduled", "Payment scheduled", False),
    ("paid", "payment.sent", "Paid", True),
)

DOMAIN_OF_SOURCE = {"pharmacy": "pharmacy", "erp": "supply", "ap": "finance", "gl": "finance"}


@dataclass
class Step:
    key: str
    label: str
    at: datetime | None = None
    state: str = "later"  # done | missing | later | skipped
    optional: bool = False
    note: str | None = None
    gap_s: float | None = None  # time since the previous step that happened


@dataclass
class Issue:
    """A missing or incomplete step, phrased as a person would say it."""

    text: str  # "{at}" marks where the time goes, rendered in the site's zone
    at: datetime | None
    site: str | None = None
    step: str | None = None

    def parts(self) -> tuple[str, str | None]:
        before, sep, after = self.text.partition("{at}")
        return (before, after) if sep else (self.text, None)


@dataclass
class Mark:
    """One thing on the time axis: an event (a point) or a span (a bar)."""

    kind: str  # event | span
    lane: str
    label: str
    at: datetime
    end: datetime | None = None
    left: float = 0.0
    width: float = 0.0
    error: bool = False
    linked: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timeline:
    correlation_id: str
    site: str | None
    events: list[dict[str, Any]]
    linked_events: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    steps: list[Step]
    issues: list[Issue]
    lines: list[LineQty]
    totals: Totals
    bookings: list[ReceiptBooking]
    lanes: list[tuple[str, list[Mark]]]
    marks: list[Mark]
    ticks: list[tuple[float, datetime]]
    start: datetime | None
    end: datetime | None
    keys: dict[str, list[str]]

    @property
    def short(self) -> bool:
        """Over in less than 10 minutes: its axis needs seconds to tell ticks apart."""
        return (
            self.start is not None
            and self.end is not None
            and ((self.end - self.start).total_seconds() < SHORT_S)
        )


# A transaction shorter than this labels its time axis with seconds.
SHORT_S = 600


def _first(events: list[dict[str, Any]], event_type: str) -> dict[str, Any] | None:
    return next((e for e in events if e["event_type"] == event_type), None)


def steps_and_issues(
    events: list[dict[str, Any]], lines: list[LineQty]
) -> tuple[list[Step], list[Issue]]:
    """The chain with each step's first time; the first step not reached after the last one
    reached is `missing`. Issues add what the chain cannot say (one receipt of several not
    posted, a short receipt, an unmatched invoice)."""
    steps = []
    for key, etype, label, optional in STEPS:
        ev = _first(events, etype)
        steps.append(
            Step(key, label, to_datetime(ev["occurred_at"]) if ev else None, optional=optional)
        )
    reached = [i for i, s in enumerate(steps) if s.at is not None]
    cancelled = _first(events, "replenishment.cancelled")
    issues: list[Issue] = []
    if reached:
        first, last = reached[0], reached[-1]
        previous_at = None
        for i, step in enumerate(steps):
            if step.at is not None:
                step.state = "done"
                # Steps can arrive out of chain order (an invoice before the receipt): the
                # gap is shown only forward in time, from the latest step before it.
                if previous_at is not None and step.at > previous_at:
                    step.gap_s = (step.at - previous_at).total_seconds()
                previous_at = max(previous_at, step.at) if previous_at else step.at
            elif i < first:
                step.state = "skipped"
            elif i < last:
                # Skipped over: later steps happened without it (e.g. invoice before receipt).
                step.state = "skipped" if step.optional else "missing"
            else:
                step.state = "later"
        if cancelled is None:
            nxt = next((s for s in steps[last + 1 :] if not s.optional), None)
            if nxt is not None:
                nxt.state = "missing"
    if cancelled is not None:
        issues.append(
            Issue(
                "Request cancelled; nothing further expected.",
                to_datetime(cancelled["occurred_at"]),
            )
        )
    issues.extend(Issue(g.text, g.at, site=g.site, step=g.step) for g in supplier_gaps(events))
    issues.extend(_receipt_issues(events))
    issues.extend(_invoice_issues(events))
    for row in lines:
        if row.short and row.ordered:
            what = f"{row.po_number} line {row.line}"
            if row.item_id:
                what += f" ({row.item_id})"
            issues.append(
                Issue(
                    f"{what}: {_q(row.received)} of {_q(row.ordered)} received.",
                    None,
                    step="received",
                )
            )
    ack = [e for e in events if e["event_type"] == "po.acknowledged"]
    if ack and ack[-1].get("status") in ("backordered", "substituted", "rejected"):
        last_ack = ack[-1]
        issues.append(
            Issue(
                f"Supplier acknowledged PO {last_ack.get('po_number') or ''} "
                f"as {last_ack['status']}.",
                to_datetime(last_ack["occurred_at"]),
                site=last_ack.get("site"),
                step="acknowledged",
            )
        )
    # The first missing step, if the chain has one, leads the list: the specific issue about
    # it when there is one ("goods received 14:02, not posted to ERP"), else a general one.
    for step in steps:
        if step.state == "missing":
            specific = next((i for i in issues if i.step == step.key), None)
            if specific is not None:
                issues.remove(specific)
                issues.insert(0, specific)
                break
            prev = next((s for s in reversed(steps[: steps.index(step)]) if s.at), None)
            text = f"{step.label}: not yet"
            if prev is not None:
                text = f"{prev.label} {{at}}, then no “{step.label}” step."
            issues.insert(0, Issue(text, prev.at if prev else None, step=step.key))
            break
    return steps, issues


def _q(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _receipt_issues(events: list[dict[str, Any]]) -> list[Issue]:
    posted = {e.get("receipt_id") for e in events if e["event_type"] == "receipt.posted"}
    out = []
    for ev in events:
        if ev["event_type"] == "goods.received" and ev.get("receipt_id") not in posted:
            out.append(
                Issue(
                    f"Goods received {{at}} (receipt {ev.get('receipt_id') or '?'}), "
                    "not posted to ERP.",
                    to_datetime(ev["occurred_at"]),
                    site=ev.get("site"),
                    step="posted",
                )
            )
    return out


def _invoice_issues(events: list[dict[str, Any]]) -> list[Issue]:
    matched = {
        (e.get("supplier_id"), e.get("invoice_number"))
        for e in events
        if e["event_type"] == "invoice.matched"
    }
    out, seen = [], set()
    for ev in events:
        if ev["event_type"] != "invoice.received":
            continue
        ident = (ev.get("supplier_id"), ev.get("invoice_number"))
        if ident in seen:
            out.append(
                Issue(
                    f"Invoice {ev.get('invoice_number')} received again {{at}} (duplicate).",
                    to_datetime(ev["occurred_at"]),
                    site=ev.get("site"),
                    step="invoiced",
                )
            )
            continue
        seen.add(ident)
        if ident not in matched:
            out.append(
                Issue(
                    f"Invoice {ev.get('invoice_number')} received {{at}}, not matched.",
                    to_datetime(ev["occurred_at"]),
                    site=ev.get("site"),
                    step="matched",
                )
            )
    return out


Ticks = list[tuple[float, datetime]]


def _axis(marks: list[Mark]) -> tuple[datetime | None, datetime | None, Ticks]:
    if not marks:
        return None, None, []
    start = min(m.at for m in marks)
    end = max((m.end or m.at) for m in marks)
    total = (end - start).total_seconds() or 1.0
    for m in marks:
        m.left = (m.at - start).total_seconds() / total * 100
        if m.end is not None:
            m.width = max((m.end - m.at).total_seconds() / total * 100, 0.4)
    ticks = [(i * 25.0, start + (end - start) * (i / 4)) for i in range(5)]
    return start, end, ticks


def build(tx: dict[str, Any], price_tolerance: PriceTolerance) -> Timeline:
    """`tx` is what `web.transactions.transaction` returns; `price_tolerance(site)` is the
    unmatched_invoice rule's tolerance there (percent)."""
    events = tx["events"]
    linked = tx.get("linked_events") or []
    spans = tx["spans"]
    # The transaction as the business sees it: its own events and those linked by key.
    all_events = sorted(
        [*events, *({**e, "linked": True} for e in linked)],
        key=lambda e: (e["occurred_at"] or "", e["event_id"]),
    )
    site = next((e["site"] for e in all_events if e.get("site")), None)
    lines, totals = quantities(all_events, price_tolerance)
    steps, issues = steps_and_issues(all_events, lines)
    marks: list[Mark] = []
    for ev in all_events:
        at = to_datetime(ev["occurred_at"])
        if at is None:
            continue
        marks.append(
            Mark(
                kind="event",
                lane=ev.get("source_system") or "?",
                label=ev["event_type"],
                at=at,
                linked=bool(ev.get("linked")),
                detail=ev,
            )
        )
    for sp in spans:
        at = to_datetime(sp["start"])
        if at is None:
            continue
        end = at + timedelta(microseconds=int(sp.get("duration_ns") or 0) / 1000)
        marks.append(
            Mark(
                kind="span",
                lane=f"{sp.get('flow') or sp.get('service') or '?'}",
                label=sp.get("name") or "span",
                at=at,
                end=end,
                error=str(sp.get("status_code", "")).lower() in ("error", "status_code_error"),
                detail=sp,
            )
        )
    start, end, ticks = _axis(marks)
    marks.sort(key=lambda m: m.at)
    lanes: dict[str, list[Mark]] = {}
    for m in marks:
        lanes.setdefault(m.lane, []).append(m)
    keys = {
        k: sorted({e[k] for e in all_events if e.get(k)})
        for k in ("po_number", "receipt_id", "invoice_number")
    }
    return Timeline(
        correlation_id=tx["correlation_id"],
        site=site,
        events=events,
        linked_events=linked,
        spans=spans,
        steps=steps,
        issues=issues,
        lines=lines,
        totals=totals,
        bookings=receipt_bookings(all_events, lines),
        lanes=list(lanes.items()),
        marks=marks,
        ticks=ticks,
        start=start,
        end=end,
        keys=keys,
    )


def with_open_exceptions(view: Timeline, exceptions: list[dict[str, Any]]) -> None:
    """Steps the transaction's open exceptions say are owed (an ASN from a supplier that sends
    them) become missing, their issue first: the rules know what the chain cannot."""
    all_events = sorted(
        [*view.events, *view.linked_events], key=lambda e: (e["occurred_at"] or "", e["event_id"])
    )
    for gap in reversed(owed_gaps(all_events, exceptions)):
        step = next((s for s in view.steps if s.key == gap.step), None)
        if step is not None and step.at is None:
            step.state = "missing"
        # Said even when the step happened for another PO or receipt of the transaction.
        view.issues.insert(0, Issue(gap.text, gap.at, site=gap.site, step=gap.step))
