"""What a replenishment sends on its way to the supplier: the pharmacy's request, the
interface engine's hand-off to the ERP, requisition, PO, transmission and acknowledgement.
Each step is a span (or a few) and the business event it carries."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opentelemetry.trace import Span, SpanKind

from simulator.documents import CENT, Line
from simulator.timing import seconds


class OrderingEmissions:
    """Mixed into simulator.lifecycle.Replenishment, whose state these read."""

    # ------------------------------------------------------------------ emissions
    def emit_request(self, sent: datetime) -> None:
        self._request_span = self.tel.span(
            "pharmacy-omnicell",
            "replenishment-to-po",
            "replenishment.request",
            self.t0,
            sent,
            kind=SpanKind.PRODUCER,
            corr=self.corr,
            attrs={"site": self.site.id, "priority": self.priority, **self._patient()},
        )
        self.tel.event_otlp(
            "pharmacy-omnicell",
            self.ev(
                "replenishment.requested",
                self.t0,
                "pharmacy-omnicell",
                site=self.site.id,
                domain="pharmacy",
                item_id=self.item.ndc,
                quantity=self.qty,
                priority=self.priority,
                cost_center=self.site.cost_center,
                attributes={
                    "item.description": self.item.description,
                    "uom": self.item.uom,
                    "cabinet": f"OMNI-{self.site.code}-{self.n % 17 + 1:02d}",
                    **self._patient(),
                },
            ),
            f"{self.site.id} requests {self.qty} {self.item.uom} of {self.item.description} "
            f"({self.priority})",
            self._request_span,
        )

    def _patient(self) -> dict[str, str]:
        """Stat requests are for a patient's first dose, and cabinets send the (fake) MRN
        along: PHI that rxsight must drop at ingest."""
        return {"patient.mrn": f"MRN{9_000_000 + self.n}"} if self.priority == "stat" else {}

    def emit_to_erp(
        self, ta: datetime, durations: tuple[timedelta, ...], err: str | None, first: bool
    ) -> None:
        """The interface engine's receive -> transform -> post to the ERP (or a retry)."""
        tel = self.tel
        recv, transform, post = durations
        total = recv + transform + post
        flow = "replenishment-to-po"
        root = self._request_span if first else None
        name = "replenishment-to-po.receive" if first else "replenishment-to-po.retry"
        server = tel.span(
            "erp-adapter",
            flow,
            name,
            ta,
            ta + total,
            parent=root,
            link=None if first else self._request_span,
            kind=SpanKind.CONSUMER if first else SpanKind.INTERNAL,
            corr=self.corr,
            error=err,
        )
        tel.span(
            "erp-adapter", flow, "replenishment-to-po.transform", ta + recv, ta + recv + transform,
            parent=server, corr=self.corr, attrs={"mapping": "omnicell-to-erp-requisition"},
        )  # fmt: skip
        tel.span(
            "erp-adapter",
            flow,
            "replenishment-to-po.post-requisition",
            ta + recv + transform,
            ta + total,
            parent=server,
            kind=SpanKind.CLIENT,
            corr=self.corr,
            attrs={"http.request.method": "POST", "server.address": "erp.internal"},
            error=err,
        )

    def emit_cancel(self, reason: str) -> None:
        t = self.now()
        root = self.tel.span(
            "pharmacy-omnicell",
            "replenishment-to-po",
            "replenishment.cancel",
            t - seconds(self.rng, 0.3),
            t,
            kind=SpanKind.CLIENT,
            corr=self.corr,
        )
        self.tel.event_otlp(
            "pharmacy-omnicell",
            self.ev(
                "replenishment.cancelled",
                t,
                "pharmacy-omnicell",
                site=self.site.id,
                domain="pharmacy",
                item_id=self.item.ndc,
                status="cancelled",
                attributes={"reason": reason},
            ),
            f"{self.site.id} cancels {self.corr}: {reason}",
            root,
        )

    def emit_requisition(self, t: datetime, approved: bool, reason: str | None) -> None:
        sp = self.tel.span(
            "erp-purchasing",
            "replenishment-to-po",
            "replenishment-to-po.approve" if approved else "replenishment-to-po.reject",
            t - seconds(self.rng, 0.2),
            t,
            kind=SpanKind.SERVER,
            corr=self.corr,
        )
        kind = "requisition.approved" if approved else "requisition.rejected"
        self.tel.event_json(
            self.ev(
                kind,
                t,
                "erp-purchasing",
                site=self.site.id,
                domain="supply",
                item_id=self.item.ndc,
                quantity=self.qty,
                priority=self.priority,
                status="approved" if approved else "rejected",
                attributes={"approver": "auto" if self.priority != "routine" else "buyer"}
                | ({"reason": reason} if reason else {}),
            ),
            sp,
        )

    def emit_po(self, t: datetime, expected: datetime) -> None:
        sp = self.tel.span(
            "erp-purchasing",
            "replenishment-to-po",
            "replenishment-to-po.create-po",
            t - seconds(self.rng, 0.4),
            t,
            kind=SpanKind.SERVER,
            corr=self.corr,
            attrs={"po_number": self.po, "supplier_id": self.sup.id},
        )
        amount = sum((Decimal(ln.qty) * ln.price for ln in self.lines), Decimal(0))
        self.tel.event_json(
            self.ev(
                "po.created",
                t,
                "erp-purchasing",
                site=self.site.id,
                domain="supply",
                po_number=self.po,
                supplier_id=self.sup.id,
                item_id=self.item.ndc,
                quantity=self.qty,
                priority=self.priority,
                cost_center=self.site.cost_center,
                amount=amount.quantize(CENT),
                expected_at=expected,
                lines=[ln.as_event() for ln in self.lines],
                attributes={"supplier.name": self.sup.name},
            ),
            sp,
        )

    def _inbound(
        self, service: str, flow: str, t: datetime, parse: str, attrs: dict[str, Any]
    ) -> tuple[Span, datetime]:
        """receive -> parse/map -> post to ERP, the shape of every gateway exchange."""
        rng, tel = self.rng, self.tel
        recv, parse_d = seconds(rng, 0.05), seconds(rng, 0.12)
        post_at = t + recv + parse_d
        post_d, err = self.w.erp_call(rng, post_at)
        end = post_at + post_d
        root = tel.span(
            service, flow, f"{flow}.receive", t, end,
            kind=SpanKind.SERVER, corr=self.corr, attrs=attrs, error=err,
        )  # fmt: skip
        tel.span(service, flow, f"{flow}.{parse}", t + recv, post_at, parent=root, corr=self.corr)
        tel.span(
            service, flow, f"{flow}.post-erp", post_at, end,
            parent=root, kind=SpanKind.CLIENT, corr=self.corr, error=err,
        )  # fmt: skip
        return root, end

    def emit_transmit(self, t: datetime) -> None:
        service = "edi-gateway" if self.edi else "supplier-portal"
        flow = "po-transmit"
        rng, tel = self.rng, self.tel
        root = tel.span(
            service, flow, f"{flow}.receive", t, t + seconds(rng, 0.9),
            kind=SpanKind.SERVER, corr=self.corr,
            attrs={"transmit.channel": "edi-850" if self.edi else "portal"},
        )  # fmt: skip
        if self.edi:
            tel.span(service, flow, f"{flow}.map-850", t, t + seconds(rng, 0.1), parent=root,
                     corr=self.corr, attrs={"edi.control_number": f"{self.n:09d}"})  # fmt: skip
            send = "send-as2"
        else:
            send = "publish-portal"
        tel.span(service, flow, f"{flow}.{send}", t, t + seconds(rng, 0.6), parent=root,
                 kind=SpanKind.CLIENT, corr=self.corr)  # fmt: skip
        tel.event_otlp(
            service,
            self.ev(
                "po.transmitted",
                t,
                service,
                site=self.site.id,
                domain="supply",
                po_number=self.po,
                supplier_id=self.sup.id,
                status="sent",
                attributes={"channel": "edi-850" if self.edi else "portal"},
            ),
            f"{self.po} sent to {self.sup.name}",
            root,
        )

    def emit_ack(
        self, t: datetime, status: str, promised: datetime | None, lines: list[Line]
    ) -> None:
        service = "edi-gateway" if self.edi else "supplier-portal"
        root, _ = self._inbound(
            service, "po-ack-inbound", t, "parse-855" if self.edi else "parse-portal-ack",
            {"supplier_id": self.sup.id, "ack.status": status},
        )  # fmt: skip
        self.tel.event_otlp(
            service,
            self.ev(
                "po.acknowledged",
                t,
                service,
                site=self.site.id,
                domain="supply",
                po_number=self.po,
                supplier_id=self.sup.id,
                status=status,
                promised_at=promised,
                lines=[ln.as_event() for ln in lines],
            ),
            f"{self.sup.name} {status} {self.po}",
            root,
        )
