"""supplier_response: POs stuck before the supplier, rejected, unacknowledged, or without an ASN."""

from __future__ import annotations

from pydantic import Field

from rules.families import Details, Entity, Family, Rule, put_threshold
from rxsight.config import Strict
from rxsight.timeutil import summary_time

REASONS = ("not_transmitted", "rejected", "no_ack", "no_asn")
_HOUR_MS = 3_600_000
_MINUTE_MS = 60_000


class SupplierLimits(Strict):
    """The limits of DESIGN 5.5; unset ones come from the next level (a supplier at a site,
    the supplier, the site, everywhere, the defaults)."""

    transmit_minutes: float | None = Field(default=None, ge=0)
    rejected_hours: float | None = Field(default=None, ge=0)
    ack_hours: float | None = Field(default=None, ge=0)
    # no_asn is due this long before the PO's due (promised_at, else expected_at).
    asn_lead_hours: float | None = Field(default=None, ge=0)
    # Only suppliers that send ASNs are expected to.
    asn_expected: bool | None = None


class SupplierResponseThresholds(SupplierLimits):
    suppliers: dict[str, SupplierLimits] = {}


def _limits(out: dict[str, int], t: SupplierLimits, suffix: str, with_defaults: bool) -> None:
    asn = None if t.asn_expected is None else int(t.asn_expected)
    put_threshold(
        out, f"supplier.transmit_ms{suffix}", t.transmit_minutes, _MINUTE_MS, 30, with_defaults
    )
    put_threshold(
        out, f"supplier.rejected_ms{suffix}", t.rejected_hours, _HOUR_MS, 0, with_defaults
    )
    put_threshold(out, f"supplier.ack_ms{suffix}", t.ack_hours, _HOUR_MS, 4, with_defaults)
    put_threshold(
        out, f"supplier.asn_lead_ms{suffix}", t.asn_lead_hours, _HOUR_MS, 12, with_defaults
    )
    put_threshold(out, f"supplier.asn_expected{suffix}", asn, 1, 0, with_defaults)


def threshold_values(t: SupplierResponseThresholds, with_defaults: bool) -> dict[str, int]:
    """`supplier.<limit>` for the section, `supplier.<limit>@<supplier_id>` for each supplier
    it names (only what that supplier sets): the query takes the most specific one."""
    out: dict[str, int] = {}
    _limits(out, t, "", with_defaults)
    for supplier_id, limits in t.suppliers.items():
        _limits(out, limits, f"@{supplier_id}", False)
    return out


def severity_of(reason: str, details: Details) -> str | None:
    # A rejected PO will not be delivered at all: someone must order elsewhere now.
    return "critical" if reason == "rejected" else None


def summarize(reason: str, e: Entity, d: Details) -> str:
    po = f"PO {e['po_number']} to {e.get('supplier_id') or 'its supplier'}"
    if reason == "not_transmitted":
        return f"{po} created {summary_time(d.get('created_at'))}, not transmitted"
    if reason == "rejected":
        return f"{po} rejected by the supplier {summary_time(d.get('acknowledged_at'))}"
    if reason == "no_ack":
        return f"{po} transmitted {summary_time(d.get('transmitted_at'))}, not acknowledged"
    return f"{po}: no ASN and nothing received, due {summary_time(d.get('due'))}"


FAMILY = Family(
    name="supplier_response",
    order=35,
    description="POs not transmitted, rejected, not acknowledged, or without the ASN expected",
    rules=(
        Rule(
            "supplier_response",
            "POs stuck in the outbound queue, rejected or not acknowledged by the supplier, or "
            "without an ASN before their due date (suppliers expected to send one)",
            "supplier_response",
            scope_key="po_number",
            touched_column="supplier_po_numbers",
        ),
    ),
    default_owner="purchasing",
    default_severity="warning",
    summarize=summarize,
    severity_of=severity_of,
    thresholds=SupplierResponseThresholds,
    threshold_values=threshold_values,
    alert_labels=("supplier_id",),
    reasons=REASONS,
    module_file=__file__,
)
