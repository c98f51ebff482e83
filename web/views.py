"""View models: rows from the rules stage shaped for the templates (tier objectives, status)."""

from __future__ import annotations

import json
from typing import Any

# DESIGN section 5, sla_breach defaults: p95 latency (ms), error rate, silence (s) per tier.
TIER_OBJECTIVES: dict[int, dict[str, float]] = {
    1: {"p95_ms": 5_000, "error_rate": 0.01, "silence_s": 15 * 60},
    2: {"p95_ms": 60_000, "error_rate": 0.02, "silence_s": 2 * 3600},
    3: {"p95_ms": 15 * 60_000, "error_rate": 0.05, "silence_s": 26 * 3600},
}


MIN_SPANS = 20


def _first(row: dict[str, Any], *names: str) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def _tier(value: Any) -> int | None:
    try:
        tier = int(str(value).removeprefix("tier-"))
    except (TypeError, ValueError):
        return None
    return tier if tier in TIER_OBJECTIVES else None


def flow_view(row: dict[str, Any]) -> dict[str, Any]:
    """One flow from `rules.public.flows`, with its objective and a green/breaching verdict."""
    tier = _tier(_first(row, "tier"))
    objective = dict(TIER_OBJECTIVES.get(tier or 3, TIER_OBJECTIVES[3]))
    for key in ("p95_ms", "error_rate", "silence_s"):
        given = _first(row, f"objective_{key}", f"{key}_objective", f"max_{key}")
        if given is not None:
            objective[key] = float(given)
    limits = row.get("limits") or row.get("objective")
    if isinstance(limits, dict):
        for key, value in limits.items():
            if value is None:
                continue
            if key == "p95_s":
                objective["p95_ms"] = float(value) * 1000
            else:
                objective[key] = float(value)
    # rules.public.flows: status is "ok", "never_seen" or the breach reason.
    status = str(_first(row, "status", "state") or "ok")
    reasons = _first(row, "reasons", "breaches")
    reason = _first(row, "reason", "breach")
    if reasons and not reason:
        reason = ", ".join(str(r) for r in reasons)
    p95 = _first(row, "p95_ms", "p95_duration_ms", "latency_p95_ms")
    if p95 is None and row.get("p95_s") is not None:
        p95 = float(row["p95_s"]) * 1000
    volume = _first(row, "volume", "spans", "span_count", "count")
    judged = volume is not None and int(volume) >= MIN_SPANS
    ok = status.lower() in ("ok", "green", "healthy", "pass", "within", "never_seen", "unknown")
    if not ok and not reason:
        reason = status
    return {
        "flow": str(_first(row, "flow", "name") or "?"),
        "tier": tier,
        "volume": volume,
        "errors": _first(row, "errors", "error_count"),
        "error_rate": _first(row, "error_rate"),
        "p95_ms": float(p95) if p95 is not None else None,
        "last_seen": _first(row, "last_seen", "last_span_at", "latest"),
        "status": status,
        "reason": reason,
        "ok": ok,
        "owner": _first(row, "owner"),
        "objective": objective,
        # Rates are judged only with enough spans (DESIGN 5: at least 20 in the window).
        "judged": judged,
        "min_spans": MIN_SPANS,
        "p95_over": p95 is not None and float(p95) > objective["p95_ms"] and judged,
        "error_over": row.get("error_rate") is not None
        and float(row["error_rate"]) > objective["error_rate"]
        and judged,
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


def invoice_lines(exc: dict[str, Any], details: dict[str, Any]) -> list[dict[str, Any]] | None:
    """An unmatched invoice's per-line facts (the rules stage lists each line as
    [line_no, qty, price, po_price, received, invoiced_so_far]) as rows; None when the
    details have another shape, so the page falls back to showing them as they are."""
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
    return [dict(zip(INVOICE_LINE_FIELDS, r, strict=True)) for r in raw]


ENTITY_FIELDS = (
    ("correlation_id", "Correlation ID"),
    ("po_number", "PO"),
    ("invoice_number", "Invoice"),
    ("supplier_id", "Supplier"),
    ("receipt_id", "Receipt"),
    ("flow", "Flow"),
)


def entity_label(exc: dict[str, Any]) -> str:
    """The entity an exception is about, as people name it: invoice, PO, receipt or flow."""
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
    return str(exc.get("exception_id", "?"))


def search_key(exc: dict[str, Any]) -> str | None:
    """What to search the timeline for from an exception."""
    for key in ("correlation_id", "po_number", "receipt_id", "invoice_number"):
        if exc.get(key):
            return str(exc[key])
    return None
