"""The simulated back office's batch jobs: AP's auto-match and payment run, the GL journal
interface, the nightly item-master sync. Invoices reach it from fulfilment (ApInvoice)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opentelemetry.trace import SpanKind

from simulator.catalog import Item
from simulator.emit import Telemetry
from simulator.rand import Rng, new_event_id
from simulator.timing import minutes, next_local, seconds

AP_TZ = "America/Chicago"  # the shared-services centre (AP, GL, master data) runs on HQ time


@dataclass
class ApInvoice:
    corr: str
    supplier_id: str
    invoice_number: str
    po_number: str
    amount: Decimal
    due_at: datetime
    site: str
    cost_center: str
    rng: Rng

    def keys(self) -> dict[str, Any]:
        """The business keys its finance events carry."""
        return {
            "supplier_id": self.supplier_id,
            "invoice_number": self.invoice_number,
            "po_number": self.po_number,
            "amount": self.amount,
        }


@dataclass
class ReceiptJournal:
    """A posted goods receipt on its way to the GL (the ERP's inventory accrual)."""

    corr: str
    receipt_id: str
    po_number: str
    supplier_id: str
    amount: Decimal
    site: str
    cost_center: str
    rng: Rng

    def keys(self) -> dict[str, Any]:
        return {
            "supplier_id": self.supplier_id,
            "receipt_id": self.receipt_id,
            "po_number": self.po_number,
            "amount": self.amount,
        }


class BackOffice:
    """What AP and the GL hold between their runs, and the runs themselves."""

    def __init__(self, tel: Telemetry, items: list[Item]) -> None:
        self.tel = tel
        self.items = items
        self.ap_ready: list[ApInvoice] = []
        self.payables: list[ApInvoice] = []
        self.gl_queue: list[ApInvoice] = []
        self.gl_receipts: list[ReceiptJournal] = []

    def auto_match(self, t: datetime, rng: random.Random, run: str | None) -> None:
        """AP's auto-match job: invoices whose PO and receipts now agree are matched,
        scheduled for payment and queued for the GL."""
        ready, self.ap_ready = self.ap_ready, []
        run_d = seconds(rng, 4 + 0.3 * len(ready), 0.3)
        start = t - run_d
        root = self.tel.span(
            "ap-erp",
            "ap-auto-match",
            "ap-auto-match.run",
            start,
            t,
            corr=run,
            attrs={"invoices.matched": len(ready)},
        )
        step = run_d / max(1, len(ready))
        for i, inv in enumerate(ready):
            at = start + step * i
            sp = self.tel.span(
                "ap-erp",
                "ap-auto-match",
                "ap-auto-match.three-way-match",
                at,
                at + step * 0.8,
                parent=root,
                corr=inv.corr,
                attrs={"po_number": inv.po_number, "invoice_number": inv.invoice_number},
            )
            base = {
                "correlation_id": inv.corr,
                "source_system": "ap-erp",
                "domain": "finance",
                "site": inv.site,
                "supplier_id": inv.supplier_id,
                "invoice_number": inv.invoice_number,
                "po_number": inv.po_number,
            }
            self.tel.event_json(
                {
                    **base,
                    "event_id": new_event_id(inv.rng),
                    "event_type": "invoice.matched",
                    "occurred_at": at,
                    "status": "matched",
                    "amount": inv.amount,
                },
                sp,
            )
            self.tel.event_json(
                {
                    **base,
                    "event_id": new_event_id(inv.rng),
                    "event_type": "payment.scheduled",
                    "occurred_at": at,
                    "amount": inv.amount,
                    "due_at": inv.due_at,
                    "status": "scheduled",
                },
                sp,
            )
            self.payables.append(inv)
            self.gl_queue.append(inv)

    def journal_batch(self, t: datetime, rng: random.Random, run: str | None) -> None:
        """The hourly GL interface: one journal per goods receipt the ERP posted (inventory
        accrual, naming the receipt) and one per matched invoice (naming its PO)."""
        batch: list[ApInvoice | ReceiptJournal] = [*self.gl_receipts, *self.gl_queue]
        self.gl_receipts, self.gl_queue = [], []
        run_d = seconds(rng, 6 + 0.2 * len(batch), 0.3)
        start = t - run_d
        self._batch_trace(
            ("gl-adapter", "journal-posting", "journal-posting.batch", "post-entry"),
            start,
            t,
            batch,
            run,
            {"journals": len(batch)},
            lambda inv: {
                "event_type": "journal.posted",
                "source_system": "gl",
                "site": inv.site,
                "cost_center": inv.cost_center,
                "attributes": {"gl.account": "1410-PHARMACY-INVENTORY"},
            },
        )

    def _batch_trace(
        self,
        names: tuple[str, str, str, str],
        start: datetime,
        end: datetime,
        items: list[ApInvoice] | list[ApInvoice | ReceiptJournal],
        run: str | None,
        root_attrs: dict[str, Any],
        event_fields: Callable[[Any], dict[str, Any]],
    ) -> None:
        """A finance batch job's trace: the run's root span, then per invoice a client span
        and the business event it carries. names: service, flow, root span, item step."""
        service, flow, root_name, step_name = names
        root = self.tel.span(service, flow, root_name, start, end, corr=run, attrs=root_attrs)
        step = (end - start) / max(1, len(items))
        for i, inv in enumerate(items):
            at = start + step * i
            sp = self.tel.span(
                service,
                flow,
                f"{flow}.{step_name}",
                at,
                at + step * 0.8,
                parent=root,
                corr=inv.corr,
                kind=SpanKind.CLIENT,
            )
            self.tel.event_json(
                {
                    "event_id": new_event_id(inv.rng),
                    "occurred_at": at,
                    "correlation_id": inv.corr,
                    "domain": "finance",
                    **inv.keys(),
                    **event_fields(inv),
                },
                sp,
            )

    def payment_run(self, rng: Rng, start: datetime) -> Iterator[datetime]:
        """AP's daily payment run at 15:00 HQ time: pays what falls due within two days."""
        t = start
        while True:
            t = next_local(t, AP_TZ, 15.0) + minutes(rng, 0, 10)
            yield t
            horizon = t + timedelta(days=2)
            due = [p for p in self.payables if p.due_at <= horizon]
            self.payables = [p for p in self.payables if p.due_at > horizon]
            run_d = seconds(rng, 40 + 0.5 * len(due), 0.3)
            start = t - run_d
            self._batch_trace(
                ("ap-erp", "ap-payment-run", "ap-payment-run.run", "send-ach"),
                start,
                t,
                due,
                f"ap-payment-run-{t:%Y%m%d}",
                {"payments": len(due)},
                lambda inv: {
                    "event_type": "payment.sent",
                    "source_system": "ap-erp",
                    "status": "ach_sent",
                    "attributes": {"payment.method": "ACH"},
                },
            )

    def item_master(self, rng: Rng, start: datetime) -> Iterator[datetime]:
        """Nightly item-master sync (tier 3) at 02:00 HQ time: a batch with one span per item."""
        t = start
        while True:
            t = next_local(t, AP_TZ, 2.0) + minutes(rng, 0, 5)
            run_d = timedelta(minutes=rng.uniform(3, 9))
            yield t + run_d
            corr = f"IMS-{t.strftime('%Y%m%d')}"
            root = self.tel.span(
                "masterdata",
                "item-master-sync",
                "item-master-sync.run",
                t,
                t + run_d,
                kind=SpanKind.SERVER,
                corr=corr,
            )
            changed = rng.sample(self.items, k=min(len(self.items), rng.randint(12, 30)))
            step = run_d / (len(changed) + 1)
            for i, item in enumerate(changed):
                at = t + step * (i + 0.5)
                self.tel.span(
                    "masterdata",
                    "item-master-sync",
                    "item-master-sync.upsert-item",
                    at,
                    at + seconds(rng, 1.5, 0.5),
                    parent=root,
                    corr=corr,
                    attrs={"item.ndc": item.ndc},
                )
