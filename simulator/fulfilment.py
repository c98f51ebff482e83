"""What comes back from the supplier: ASN, receipts (and their retries), posting, inventory,
invoices, disputes, and the match queue for accounts payable."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opentelemetry.trace import SpanKind

from simulator.backoffice import ApInvoice, ReceiptJournal
from simulator.crosswalk import billed_by_catalog, bills_by_catalog
from simulator.documents import CENT, Invoice, Line, Shipment
from simulator.timing import seconds


class FulfilmentEmissions:
    """Mixed into simulator.lifecycle.Replenishment, whose state these read."""

    def emit_asn(self, shp: Shipment, lines: list[Line], k: int) -> None:
        service = "edi-gateway" if self.edi else "supplier-portal"
        by_no = {ln.line_no: ln for ln in lines}
        root, _ = self._inbound(
            service, "asn-inbound", shp.ship_at, "parse-856" if self.edi else "parse-portal-asn",
            {"supplier_id": self.sup.id, "shipment.sequence": k + 1},
        )  # fmt: skip
        self.tel.event_otlp(
            service,
            self.ev(
                "shipment.notified",
                shp.ship_at,
                service,
                site=self.site.id,
                domain="supply",
                po_number=self.po,
                supplier_id=self.sup.id,
                expected_at=shp.deliver_at,
                status="shipped",
                lines=[by_no[no].as_event(q) for no, q in sorted(shp.qty.items()) if q > 0],
                attributes={
                    "carrier": "courier" if self.priority == "stat" else "ground",
                    "tracking": f"1Z{self.n:08d}{k}",
                },
            ),
            f"{self.sup.name} shipped {self.po} (shipment {k + 1})",
            root,
        )

    def emit_receipt(
        self,
        shp: Shipment,
        lines: list[Line],
        scan: tuple[timedelta, timedelta],
        post_d: timedelta | None = None,
        err: str | None = None,
    ) -> None:
        tel, flow, t = self.tel, "goods-receipt-sync", shp.deliver_at
        by_no = {ln.line_no: ln for ln in lines}
        recv, transform = scan
        never = post_d is None
        if never:
            post_d = seconds(self.rng, 0.4)
            err = "ERP rejected goods receipt: PO line closed for receiving"
        assert post_d is not None
        end = t + recv + transform + post_d
        root = tel.span(
            "receiving-dock", flow, f"{flow}.receive", t, end,
            kind=SpanKind.SERVER, corr=self.corr,
            attrs={"site": self.site.id, "receipt_id": shp.receipt_id}, error=err,
        )  # fmt: skip
        if err:
            self._receipt_spans[shp.receipt_id] = root
        tel.span("receiving-dock", flow, f"{flow}.transform", t + recv, t + recv + transform,
                 parent=root, corr=self.corr)  # fmt: skip
        tel.span(
            "receiving-dock", flow, f"{flow}.post-erp", t + recv + transform, end,
            parent=root, kind=SpanKind.CLIENT, corr=self.corr, error=err,
        )  # fmt: skip
        tel.event_otlp(
            "receiving-dock",
            self.ev(
                "goods.received",
                t,
                "receiving-dock",
                site=self.site.id,
                domain="supply",
                po_number=self.po,
                supplier_id=self.sup.id,
                receipt_id=shp.receipt_id,
                lines=[by_no[no].as_event(q) for no, q in sorted(shp.qty.items()) if q > 0],
                attributes={"dock": f"{self.site.code}-DOCK-1"},
            ),
            f"{self.site.id} received {self.po} ({shp.receipt_id})",
            root,
        )

    def emit_receipt_retry(
        self, shp: Shipment, ta: datetime, dur: timedelta, err: str | None
    ) -> None:
        flow = "goods-receipt-sync"
        first = self._receipt_spans.get(shp.receipt_id)
        if not err:
            self._receipt_spans.pop(shp.receipt_id, None)
        root = self.tel.span(
            "receiving-dock", flow, f"{flow}.retry-post", ta, ta + dur,
            kind=SpanKind.INTERNAL, corr=self.corr,
            attrs={"receipt_id": shp.receipt_id}, error=err, link=first,
        )  # fmt: skip
        self.tel.span(
            "receiving-dock", flow, f"{flow}.post-erp", ta, ta + dur,
            parent=root, kind=SpanKind.CLIENT, corr=self.corr, error=err,
        )  # fmt: skip

    def emit_posted(
        self, shp: Shipment, t: datetime, booked: dict[int, int], journal: Decimal | None
    ) -> None:
        """The ERP books the receipt (its lines at the PO's prices) and queues its journal for
        the GL, the amount scaled by `journal` (1: as booked; None: the journal is lost)."""
        price = {ln.line_no: ln.price for ln in self.lines}
        amount = sum((Decimal(q) * price[no] for no, q in booked.items()), Decimal(0))
        amount = amount.quantize(CENT)
        sp = self.tel.span(
            "erp-inventory",
            "goods-receipt-sync",
            "erp.book-receipt",
            t - seconds(self.rng, 0.25),
            t,
            kind=SpanKind.SERVER,
            corr=self.corr,
            attrs={"receipt_id": shp.receipt_id},
        )
        self.tel.event_json(
            self.ev(
                "receipt.posted",
                t,
                "erp-inventory",
                site=self.site.id,
                domain="supply",
                po_number=self.po,
                supplier_id=self.sup.id,
                receipt_id=shp.receipt_id,
                status="posted",
                lines=[
                    ln.as_event(booked[ln.line_no]) for ln in self.lines if ln.line_no in booked
                ],
                amount=amount,
            ),
            sp,
        )
        if journal is not None:
            self.w.back_office.gl_receipts.append(
                ReceiptJournal(
                    corr=self.corr,
                    receipt_id=shp.receipt_id,
                    po_number=self.po,
                    supplier_id=self.sup.id,
                    amount=(amount * journal).quantize(CENT),
                    site=self.site.id,
                    cost_center=self.site.cost_center,
                    rng=self.rng,
                )
            )

    def emit_inventory(self, shp: Shipment, lines: list[Line], t: datetime) -> None:
        flow = "inventory-sync"
        if self.w.silent(flow, t):
            return
        by_no = {ln.line_no: ln for ln in lines}
        sp = self.tel.span(
            "pharmacy-inventory",
            flow,
            "inventory-sync.apply-receipt",
            t - seconds(self.rng, 1.2),
            t,
            kind=SpanKind.CLIENT,
            corr=self.corr,
            attrs={"site": self.site.id},
        )
        received = [by_no[no].as_event(q) for no, q in sorted(shp.qty.items()) if q > 0]
        self.tel.event_otlp(
            "pharmacy-inventory",
            self.ev(
                "inventory.updated",
                t,
                "pharmacy-inventory",
                site=self.site.id,
                domain="pharmacy",
                receipt_id=shp.receipt_id,
                item_id=received[0]["item_id"],
                quantity=received[0]["quantity"],
                status="synced",
                lines=received,
                attributes={"location": "central-pharmacy"},
            ),
            f"{self.site.id} stock updated from {shp.receipt_id}",
            sp,
        )

    def emit_invoice(self, inv: Invoice) -> None:
        rng, tel, flow, t = self.rng, self.tel, "invoice-inbound", inv.at
        ocr = not self.edi
        recv, extract = seconds(rng, 0.1), seconds(rng, 12 if ocr else 0.15, 0.5)
        post = seconds(rng, 0.4)
        root = tel.span(
            "ap-inbox", flow, f"{flow}.receive", t, t + recv + extract + post,
            kind=SpanKind.SERVER, corr=inv.corr,
            attrs={"invoice.channel": "pdf-ocr" if ocr else "edi-810"},
        )  # fmt: skip
        tel.span("ap-inbox", flow, f"{flow}.{'ocr' if ocr else 'parse-810'}", t + recv,
                 t + recv + extract, parent=root, corr=inv.corr)  # fmt: skip
        post_sp = tel.span(
            "ap-inbox", flow, f"{flow}.post-ap", t + recv + extract, t + recv + extract + post,
            parent=root, kind=SpanKind.CLIENT, corr=inv.corr,
        )  # fmt: skip
        # OCR'd invoices still come in through AP's API v1, which is deprecated for the flow.
        route = f"/ap/{'v1' if ocr else 'v2'}/invoices"
        tel.span("ap-erp", flow, "ap.create-invoice", t + recv + extract,
                 t + recv + extract + post * 0.8, parent=post_sp, kind=SpanKind.SERVER,
                 corr=inv.corr, attrs={"http.route": route})  # fmt: skip
        tel.event_json(
            self.ev(
                "invoice.received",
                t,
                "ap-inbox",
                corr=inv.corr,
                site=self.site.id,
                domain="finance",
                supplier_id=self.sup.id,
                invoice_number=inv.number,
                po_number=inv.po_number,
                amount=inv.amount,
                currency="USD",
                due_at=t + timedelta(days=self.sup.terms_days),
                lines=self.billed_lines(inv),
                attributes={"invoice.channel": "pdf-ocr" if ocr else "edi-810"},
            ),
            root,
        )

    def billed_lines(self, inv: Invoice) -> list[dict[str, Any]]:
        lines = [ln.as_event(q, p) for ln, q, p in inv.lines]
        if not (self.w.cfg.crosswalk_token and bills_by_catalog(self.sup)):
            return lines
        rate = self.w.cfg.faults.unmapped_item
        return [
            billed_by_catalog(line, ln.item, self.sup, self.rng.random() < rate)
            for line, (ln, _, _) in zip(lines, inv.lines, strict=True)
        ]

    def emit_dispute(self, inv: Invoice, reason: str) -> None:
        t = self.now()
        sp = self.tel.span(
            "ap-erp",
            "invoice-inbound",
            "invoice-inbound.dispute",
            t - seconds(self.rng, 0.3),
            t,
            corr=inv.corr,
            attrs={"dispute.reason": reason},
        )
        self.tel.event_json(
            self.ev(
                "invoice.disputed",
                t,
                "ap-erp",
                corr=inv.corr,
                site=self.site.id,
                domain="finance",
                supplier_id=self.sup.id,
                invoice_number=inv.number,
                po_number=inv.po_number,
                amount=inv.amount,
                status=reason,
            ),
            sp,
        )

    def queue_match(self, inv: Invoice, ready: datetime) -> None:
        self.w.back_office.ap_ready.append(
            ApInvoice(
                corr=inv.corr,
                supplier_id=self.sup.id,
                invoice_number=inv.number,
                po_number=inv.po_number,
                amount=inv.amount,
                due_at=inv.at + timedelta(days=self.sup.terms_days),
                site=self.site.id,
                cost_center=self.site.cost_center,
                rng=self.rng,
            )
        )
