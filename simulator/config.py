"""Simulator knobs: target endpoints, volume, time window, and the rate of every fault."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime


@dataclass(frozen=True)
class Faults:
    """Probability of each fault per transaction (or per shipment / invoice where noted)."""

    backorder: float = 0.06  # supplier acknowledges the PO as back-ordered
    substitution: float = 0.03  # supplier substitutes another NDC on one line
    supplier_reject: float = 0.005  # supplier rejects the PO (discontinued item)
    supplier_no_ack: float = 0.01  # supplier never acknowledges the PO
    edi_queue_stall: float = 0.02  # the ERP's outbound queue holds the PO 1-10 h
    partial_shipment: float = 0.08  # first shipment short on some lines
    late_delivery: float = 0.05  # delivery slips past the promised date
    invoice_before_receipt: float = 0.08  # supplier bills on acceptance, before delivery
    price_variance: float = 0.05  # invoice price off contract by 3-12 %
    duplicate_invoice: float = 0.03  # the same invoice number sent twice
    unknown_po_invoice: float = 0.02  # invoice quotes a PO number that does not exist
    receipt_not_posted: float = 0.02  # goods receipt never reaches the ERP
    erp_quantity_off: float = 0.02  # the ERP books another quantity than the dock received
    gl_journal_drop: float = 0.02  # the GL interface drops a receipt's journal
    journal_amount_off: float = 0.01  # the GL journals a receipt 2-8 % off its value
    approval_stuck: float = 0.02  # requisition waits days for a buyer's approval
    requisition_rejected: float = 0.02
    cancellation: float = 0.02  # pharmacy cancels the request before a PO
    outage_error_rate: float = 0.4  # share of ERP calls that fail during an outage
    # With the crosswalk: an invoice line billed under a catalog number it does not know yet.
    unmapped_item: float = 0.02

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_overrides(self, overrides: dict[str, float]) -> Faults:
        unknown = set(overrides) - set(self.names())
        if unknown:
            raise ValueError(
                f"unknown fault(s) {', '.join(sorted(unknown))}; known: {', '.join(self.names())}"
            )
        for name, value in overrides.items():
            if not 0 <= value <= 1:
                raise ValueError(f"fault {name}: rate {value} is not between 0 and 1")
        return replace(self, **overrides)


@dataclass(frozen=True)
class SimConfig:
    url: str = "http://127.0.0.1:8000"
    # host:port of OTLP/gRPC; None = send everything over HTTP.
    grpc_endpoint: str | None = "127.0.0.1:4317"
    token: str | None = None
    seed: int = 42
    # New replenishment transactions per second once live.
    rate: float = 2.0
    # Seconds of live traffic after the back-fill; None = until stopped, 0 = back-fill only.
    duration: float | None = None
    backfill_days: float = 7.0
    # Back-filled volume: replenishment requests per day across all sites.
    backfill_per_day: float = 150.0
    # "Now" at start; None = the wall clock. Fixing it makes a run reproducible to the byte.
    anchor: datetime | None = None
    # The live ERP outage, in minutes relative to the start (negative = already running).
    outage_at_min: float = -8.0
    outage_minutes: float = 20.0
    # One flow stops emitting this many hours before the start; None = no silent flow.
    silent_flow: str | None = "inventory-sync"
    silent_hours: float = 3.0
    faults: Faults = field(default_factory=Faults)
    # Numbers (PO, receipt, invoice, correlation) start at this offset: lets a restarted demo
    # continue on the same data without reusing business keys.
    number_base: int = 0
    # Load the world's master data crosswalk with this admin token (simulator/crosswalk.py);
    # the EDI suppliers then bill by catalog number. None: no crosswalk, ids as the ERP's.
    crosswalk_token: str | None = None
    # Print progress lines.
    verbose: bool = True
