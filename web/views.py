"""View models: rows from the rules stage shaped for the templates (status verdicts, labels)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from rules.public import FlowStatus, TierObjective


def flow_view(row: FlowStatus) -> dict[str, Any]:
    """One flow from `rules.public.flows`, with a green/breaching verdict for the templates."""
    ok = row.status in ("ok", "never_seen")
    p95_ms = row.p95_s * 1000 if row.p95_s is not None else None
    objective = row.objective
    return {
        "flow": row.flow,
        "tier": row.tier,
        "volume": row.volume,
        "errors": row.errors,
        "error_rate": row.error_rate,
        "p95_ms": p95_ms,
        "p95_s": row.p95_s,
        "last_seen": row.last_seen,
        "status": row.status,
        "reason": row.reason or (None if ok else row.status),
        "ok": ok,
        "owner": row.owner,
        "objective": objective,
        # Rates are judged only with enough spans (DESIGN 5: min_spans in the window).
        "judged": row.judged,
        "min_spans": row.min_spans,
        "p95_over": p95_ms is not None and p95_ms > objective.p95_ms and row.judged,
        "error_over": row.error_rate is not None
        and row.error_rate > objective.error_rate
        and row.judged,
    }


def unlisted_flow_view(flow: str, tier: int | None, objective: TierObjective) -> dict[str, Any]:
    """A flow that sent spans lately but that the rules stage did not judge."""
    return {
        "flow": flow,
        "tier": tier,
        "volume": None,
        "errors": None,
        "error_rate": None,
        "p95_ms": None,
        "p95_s": None,
        "last_seen": None,
        "status": "unknown",
        "reason": None,
        "ok": True,
        "owner": None,
        "objective": objective,
        "judged": False,
        "p95_over": False,
        "error_over": False,
    }


def details_of(exc: dict[str, Any]) -> dict[str, Any]:
    """A finding's `details` may arrive as a JSON string (the history column) or a dict."""
    raw = exc.get("details")
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {"details": raw}
        return parsed if isinstance(parsed, dict) else {"details": parsed}
    return {}


INVOICE_LINE_FIELDS = ("line_no", "qty", "price", "po_price", "received", "invoiced_so_far")


def invoice_lines(
    exc: dict[str, Any], details: dict[str, Any], price_tolerance_pct: Decimal
) -> list[dict[str, Any]] | None:
    """An unmatched invoice's per-line facts (the rules stage lists each line as
    [line_no, qty, price, po_price, received, invoiced_so_far]) as rows, each with
    `price_off`: its price differs from the PO's by more than the rule's tolerance. None when
    the details have another shape, so the page falls back to showing them as they are."""
    raw = details.get("lines")
    if exc.get("family") != "unmatched_invoice" or raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, list) or not all(
        isinstance(r, list) and len(r) == len(INVOICE_LINE_FIELDS) for r in raw
    ):
        return None
    rows = [dict(zip(INVOICE_LINE_FIELDS, r, strict=True)) for r in raw]
    for row in rows:
        row["price_off"] = price_off(row["price"], row["po_price"], price_tolerance_pct)
    return rows


def price_off(price: Any, po_price: Any, tolerance_pct: Decimal) -> bool:
    """Whether an invoice price differs from the PO price by more than the tolerance (the
    unmatched_invoice rule's test, shown where a person compares the two)."""
    try:
        invoiced, ordered = Decimal(str(price)), Decimal(str(po_price))
    except (InvalidOperation, ValueError):
        return False
    if not ordered or po_price in (None, ""):
        return False
    return abs(invoiced - ordered) * 100 > ordered * tolerance_pct


ENTITY_FIELDS = (
    ("correlation_id", "Correlation ID"),
    ("po_number", "PO"),
    ("invoice_number", "Invoice"),
    ("supplier_id", "Supplier"),
    ("receipt_id", "Receipt"),
    ("flow", "Flow"),
)


def entity_label(exc: dict[str, Any]) -> str:
    """The entity an exception is about, as people name it: invoice, PO, receipt, flow,
    source system or an identifier the crosswalk lacks."""
    details = exc.get("details")
    if exc.get("family") == "master_data" and isinstance(details, dict):
        kind = str(details.get("kind", "")).replace("_", " ").capitalize()
        return f"{kind} {details.get('identifier')} from {details.get('source_system')}"
    if exc.get("family") == "open_replenishment" and exc.get("correlation_id"):
        return f"Replenishment {exc['correlation_id']}"
    if exc.get("invoice_number"):
        sup = f" ({exc['supplier_id']})" if exc.get("supplier_id") else ""
        return f"Invoice {exc['invoice_number']}{sup}"
    if exc.get("receipt_id"):
        return f"Receipt {exc['receipt_id']}"
    if exc.get("po_number"):
        return f"PO {exc['po_number']}"
    if exc.get("flow"):
        return f"Flow {exc['flow']}"
    if exc.get("correlation_id"):
        return f"Transaction {exc['correlation_id']}"
    details = details_of(exc)
    if details.get("kind") == "source_system" and details.get("name"):
        return f"Source system {details['name']}"  # a governance finding
    return str(exc.get("exception_id", "?"))


def search_key(exc: dict[str, Any]) -> str | None:
    """What to search the timeline for from an exception."""
    for key in ("correlation_id", "po_number", "receipt_id", "invoice_number"):
        if exc.get(key):
            return str(exc[key])
    return None
