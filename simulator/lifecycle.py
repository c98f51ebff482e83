"""One replenishment transaction, request to payment, planned up front and emitted in time."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opentelemetry.trace import Span, SpanKind

from simulator.catalog import SUPPLIERS, Item, Site, substitute_ndc
from simulator.rand import LiteRandom
from simulator.timing import hours, minutes, seconds, within_hours
from simulator.world import ApInvoice, World, new_event_id

_SUPPLIER = {s.id: s for s in SUPPLIERS}
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    line_no: int
    item: Item
    qty: int
    price: Decimal

    def as_event(self, qty: int | None = None, price: Decimal | None = None) -> dict[str, Any]:
        return {
            "line_no": self.line_no,
            "item_id": self.item.ndc,
            "quantity": self.qty if qty is None else qty,
            "unit_price": self.price if price is None else price,
            "uom": self.item.uom,
        }


@dataclass
class Shipment:
    ship_at: datetime
    deliver_at: datetime
    qty: dict[int, int]  # line_no -> quantity shipped
    receipt_id: str


@dataclass
class Invoice:
    at: datetime
    number: str
    po_number: str
    lines: list[tuple[Line, int, Decimal]]  # PO line, billed quantity, billed price
    corr: str
    duplicate_of: str | None = None

    @property
    def amount(self) -> Decimal:
        return sum((Decimal(q) * p for _, q, p in self.lines), Decimal(0)).quantize(_CENT)


class Replenishment:
    """A pharmacy's request for one item and everything that follows from it: requisition,
    PO, EDI or portal exchange with the supplier, shipments, receipts, invoices."""

    def __init__(self, world: World, n: int, t0: datetime, site: Site, rng: LiteRandom):
        self.w = world
        self.tel = world.tel
        self.f = world.cfg.faults
        self.n = n
        self.t0 = t0
        self.site = site
        # A full `random.Random` while planning (see process), then this small one.
        self.rng: Any = rng
        self.corr = f"RQ-{site.code}-{n:07d}"
        self.po = f"PO-{4_000_000 + n}"
        self._plan: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        self._now = t0
        self._request_span: Span | None = None
        # First failed receive per receipt, for the retries' links.
        self._receipt_spans: dict[str, Span] = {}

    # ------------------------------------------------------------------ plumbing
    def at(self, t: datetime, fn: Callable[..., None], *args: Any) -> None:
        # The method's name, not a bound method or a partial: a live demo holds thousands of
        # open transactions for days, so each planned action is kept small.
        self._plan.append((t, len(self._plan), fn.__name__, args))

    def process(self) -> Iterator[datetime]:
        lite = self.rng
        self.rng = self.w.rng(f"tx/{self.n}")
        self.build()
        lite.seed(self.rng.getrandbits(64))
        self.rng = lite
        # Latest first, consumed from the end: each action is released once done.
        plan = sorted(self._plan, key=lambda a: (a[0], a[1]), reverse=True)
        self._plan = []
        while plan:
            t, _, name, args = plan.pop()
            yield t
            self._now = t
            getattr(self, name)(*args)

    def ev(self, event_type: str, at: datetime, source: str, **fields: Any) -> dict[str, Any]:
        event = {
            "event_id": new_event_id(self.rng),
            "event_type": event_type,
            "occurred_at": at,
            "correlation_id": fields.pop("corr", self.corr),
            "source_system": source,
        }
        event.update({k: v for k, v in fields.items() if v is not None})
        return event

    def erp_duration(self, t: datetime, err: str | None) -> timedelta:
        if err:
            return timedelta(seconds=self.rng.uniform(8, 30))
        if self.w.outage_at(t):
            return timedelta(seconds=self.rng.uniform(6, 25))
        return seconds(self.rng, 0.35, 0.6)

    # ------------------------------------------------------------------ the plan
    def build(self) -> None:
        rng, f, w = self.rng, self.f, self.w
        self.priority = rng.choices(("routine", "urgent", "stat"), (0.75, 0.2, 0.05))[0]
        item = rng.choices(w.items, w.item_weights)[0]
        sup = _SUPPLIER[item.supplier_ids[0] if rng.random() < 0.8 else item.supplier_ids[1]]
        self.sup = sup
        qty = max(1, round(item.typical_qty * math.exp(rng.gauss(0, 0.45))))
        if self.priority != "routine":
            qty = max(1, qty // 2)
        if qty >= 40:
            qty = round(qty, -1)
        self.item, self.qty = item, qty
        self.edi = sup.channel == "edi"

        # The cabinet hands the request to the interface engine (queued, so it returns at
        # once); the engine's post to the ERP is retried while the ERP is down.
        sent = self.t0 + seconds(rng, 0.06)
        self.at(sent, self.emit_request, sent)
        attempts = w.erp_attempts(rng, sent + seconds(rng, 0.5))
        done = self.t0
        for i, (ta, err) in enumerate(attempts):
            durations = (seconds(rng, 0.08), seconds(rng, 0.05), self.erp_duration(ta, err))
            end = ta + sum(durations, timedelta())
            self.at(end, self.emit_to_erp, ta, durations, err, i == 0)
            done = end

        if rng.random() < f.cancellation:
            self.at(done + minutes(rng, 5, 45), self.emit_cancel, "found stock at a sister site")
            return

        # Approval: stat and urgent auto-approve; routine waits for a buyer's working hours.
        if self.priority == "routine":
            t_ap = done + seconds(rng, 5400, 0.8)
            t_ap = within_hours(rng, t_ap, self.site.timezone, 7.0, 18.0, 2.0)
        else:
            t_ap = done + minutes(rng, 1, 6)
        if rng.random() < f.approval_stuck:
            t_ap += hours(rng, 26, 96)
        t_ap = self.after_outage(t_ap)
        if rng.random() < f.requisition_rejected:
            reason = rng.choice(("non-formulary item", "duplicate request", "over budget"))
            self.at(t_ap, self.emit_requisition, t_ap, False, reason)
            self.at(t_ap + minutes(rng, 10, 180), self.emit_cancel, f"requisition {reason}")
            return
        self.at(t_ap, self.emit_requisition, t_ap, True, None)

        # The PO: the requested line, sometimes topped up with other par-level items.
        t_po = self.after_outage(t_ap + minutes(rng, 1, 20))
        lines = [Line(1, item, qty, w.contract_price(item, sup.id))]
        if rng.random() < 0.35:
            others = [it for it in w.items if sup.id in it.supplier_ids and it != item]
            for extra in rng.sample(others, k=min(len(others), rng.randint(1, 3))):
                q = max(1, round(extra.typical_qty * math.exp(rng.gauss(0, 0.4))))
                lines.append(Line(len(lines) + 1, extra, q, w.contract_price(extra, sup.id)))
        self.lines = lines
        if self.priority == "stat":
            lead = hours(rng, 3, 8)  # courier
        else:
            lead = hours(rng, *sup.lead_hours)
            if self.priority == "urgent":
                lead = hours(rng, 8, 20)  # priority overnight
        expected = self.dock(t_po + lead)
        self.at(t_po, self.emit_po, t_po, expected)

        t_tx = t_po + minutes(rng, 1, 12)
        self.at(t_tx, self.emit_transmit, t_tx)

        # The supplier's answer.
        if self.priority != "routine":
            t_ack = t_tx + hours(rng, 0.1, 1)  # the supplier's rush desk answers at once
        else:
            t_ack = t_tx + (hours(rng, 0.3, 4) if self.edi else hours(rng, 1, 20))
        x = rng.random()
        ack_lines = list(lines)
        if x < f.supplier_reject:
            status, promised = "rejected", None
        elif x < f.supplier_reject + f.backorder:
            status, promised = "backordered", self.dock(expected + hours(rng, 72, 240))
        elif x < f.supplier_reject + f.backorder + f.substitution:
            status, promised = "substituted", self.dock(expected + hours(rng, 0, 24))
            k = rng.randrange(len(lines))
            old = lines[k]
            sub = replace(old.item, ndc=substitute_ndc(old.item.ndc))
            price = (old.price * Decimal(str(round(rng.uniform(0.99, 1.06), 3)))).quantize(
                Decimal("0.0001") if old.price < 1 else _CENT
            )
            ack_lines[k] = Line(old.line_no, sub, old.qty, price)
        else:
            status = "accepted"
            promised = max(expected + hours(rng, -3, 3), t_ack + timedelta(hours=1))
            if self.priority != "stat":
                promised = self.dock(promised)
        self.at(t_ack, self.emit_ack, t_ack, status, promised, ack_lines)
        if promised is None:
            if rng.random() < 0.5:
                self.at(t_ack + hours(rng, 2, 24), self.emit_cancel, "supplier rejected the PO")
            return

        # Shipments: usually one; a partial first shipment leaves a remainder, which
        # mostly follows days later and sometimes never. A back-order or a substitution
        # slips past its new promise often; other orders rarely.
        slips = {"backordered": 0.35, "substituted": 0.3}.get(status, 0.0)
        late = rng.random() < f.late_delivery or rng.random() < slips
        d1 = promised + (hours(rng, 5, 36) if late else hours(rng, -6, 1.5))
        d1 = max(d1, t_ack + hours(rng, 2, 6))
        if self.priority != "stat":
            d1 = self.dock(d1)
        transit = hours(rng, 6, 18) if self.edi else hours(rng, 12, 40)
        s1 = max(t_ack + minutes(rng, 20, 90), d1 - transit)
        full = {ln.line_no: ln.qty for ln in ack_lines}
        first = dict(full)
        remainder: dict[int, int] = {}
        # Only lines of two units or more can ship short.
        splittable = [ln for ln in ack_lines if ln.qty >= 2]
        partial_ship = bool(splittable) and rng.random() < f.partial_shipment
        if partial_ship:
            short = [ln for ln in splittable if rng.random() < 0.6] or splittable[:1]
            for ln in short:
                first[ln.line_no] = max(1, min(ln.qty - 1, int(ln.qty * rng.uniform(0.3, 0.8))))
                remainder[ln.line_no] = ln.qty - first[ln.line_no]
        shipments = [Shipment(s1, d1, first, self.receipt_id(0))]
        if remainder and rng.random() < 0.75:
            d2 = self.dock(d1 + hours(rng, 48, 144))
            shipments.append(Shipment(d2 - transit, d2, remainder, self.receipt_id(1)))
        for k, shp in enumerate(shipments):
            self.at(shp.ship_at, self.emit_asn, shp, ack_lines, k)
            self.plan_receipt(shp, ack_lines)

        self.plan_invoices(t_ack, ack_lines, shipments, partial_ship)

    def dock(self, t: datetime) -> datetime:
        """Deliveries land while the site's dock is staffed (06:00-17:00 local)."""
        return within_hours(self.rng, t, self.site.timezone, 6.0, 17.0, 3.0)

    def after_outage(self, t: datetime) -> datetime:
        outage = self.w.outage_at(t)
        return outage[1] + minutes(self.rng, 2, 15) if outage else t

    def receipt_id(self, k: int) -> str:
        return f"GR-{70_000_000 + self.n * 4 + k}"

    def plan_receipt(self, shp: Shipment, ack_lines: list[Line]) -> None:
        rng = self.rng
        d = shp.deliver_at
        scan = (seconds(rng, 0.2), seconds(rng, 0.06))
        if rng.random() < self.f.receipt_not_posted:
            self.at(d + sum(scan, timedelta(seconds=3)), self.emit_receipt, shp, ack_lines, scan)
            return
        attempts = self.w.erp_attempts(rng, d + sum(scan, timedelta()))
        posted = d
        for i, (ta, err) in enumerate(attempts):
            dur = self.erp_duration(ta, err)
            if i == 0:
                self.at(ta + dur, self.emit_receipt, shp, ack_lines, scan, dur, err)
            else:
                self.at(ta + dur, self.emit_receipt_retry, shp, ta, dur, err)
            posted = ta + dur
        self.at(posted, self.emit_posted, shp, posted)
        synced = posted + minutes(rng, 5, 40)
        self.at(synced, self.emit_inventory, shp, ack_lines, synced)

    def plan_invoices(
        self,
        t_ack: datetime,
        ack_lines: list[Line],
        shipments: list[Shipment],
        partial_ship: bool,
    ) -> None:
        rng, f, sup = self.rng, self.f, self.sup
        by_no = {ln.line_no: ln for ln in ack_lines}
        invoices: list[Invoice] = []
        seq = [0]

        def number() -> str:
            seq[0] += 1
            return f"{sup.invoice_prefix}-{8_000_000 + self.n * 4 + seq[0]}"

        def make(at: datetime, qty: dict[int, int]) -> Invoice:
            num = number()
            lines = [(by_no[no], q, by_no[no].price) for no, q in sorted(qty.items()) if q > 0]
            return Invoice(at, num, self.po, lines, f"AP-{sup.id}-{num}")

        if rng.random() < f.invoice_before_receipt:
            # Billed on acceptance: the whole order, before anything has arrived.
            invoices.append(
                make(t_ack + hours(rng, 1, 12), {ln.line_no: ln.qty for ln in ack_lines})
            )
        else:
            bill_full = partial_ship and rng.random() < 0.5
            for k, shp in enumerate(shipments):
                lag = min(max(seconds(rng, 18 * 3600, 0.8), timedelta(hours=1)), timedelta(days=4))
                if k == 0 and bill_full:
                    invoices.append(
                        make(shp.deliver_at + lag, {ln.line_no: ln.qty for ln in ack_lines})
                    )
                    break
                invoices.append(make(shp.deliver_at + lag, shp.qty))
        if not invoices:
            return
        first = invoices[0]
        if rng.random() < f.price_variance:
            k = rng.randrange(len(first.lines))
            ln, q, p = first.lines[k]
            bumped = (p * Decimal(str(round(rng.uniform(1.03, 1.12), 3)))).quantize(
                Decimal("0.0001") if p < 1 else _CENT
            )
            first.lines[k] = (ln, q, bumped)
        if rng.random() < f.unknown_po_invoice:
            # The supplier's billing system drops the PO prefix: AP cannot find the order.
            first.po_number = self.po.removeprefix("PO-")
            if rng.random() < 0.5:
                fixed = Invoice(
                    first.at + hours(rng, 48, 120), number(), self.po, list(first.lines), ""
                )
                fixed.corr = f"AP-{sup.id}-{fixed.number}"
                invoices.append(fixed)
        if rng.random() < f.duplicate_invoice:
            dup = replace(first, at=first.at + hours(rng, 2, 72), corr=first.corr + "-2")
            dup.duplicate_of = first.number
            invoices.append(dup)

        # Receipts over time per PO line, for AP's three-way match.
        received: dict[int, list[tuple[datetime, int]]] = {}
        for shp in shipments:
            for no, q in shp.qty.items():
                received.setdefault(no, []).append((shp.deliver_at, q))
        billed: dict[int, int] = {}
        for inv in sorted(invoices, key=lambda i: i.at):
            self.at(inv.at, self.emit_invoice, inv)
            if inv.duplicate_of:
                self.at(inv.at + minutes(rng, 10, 120), self.emit_dispute, inv, "duplicate")
                continue
            if inv.po_number != self.po:
                if rng.random() < 0.5:
                    self.at(inv.at + hours(rng, 24, 96), self.emit_dispute, inv, "po_not_found")
                continue
            priced_ok = all(
                abs(p - ln.price) <= ln.price * Decimal("0.02") for ln, _, p in inv.lines
            )
            covered: datetime | None = inv.at
            for ln, q, _ in inv.lines:
                billed[ln.line_no] = billed.get(ln.line_no, 0) + q
                need, got, when = billed[ln.line_no], 0, None
                for t, rq in sorted(received.get(ln.line_no, [])):
                    got += rq
                    if got >= need:
                        when = t
                        break
                if when is None:
                    covered = None
                elif covered is not None:
                    covered = max(covered, when)
            if not priced_ok:
                self.at(inv.at + hours(rng, 4, 72), self.emit_dispute, inv, "price_variance")
            elif covered is not None:
                ready = covered + minutes(rng, 5, 90)
                self.at(ready, self.queue_match, inv, ready)

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

    def now(self) -> datetime:
        # The instant the scheduler resumed this transaction at (set in process()).
        return self._now

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
                amount=amount.quantize(_CENT),
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

    def emit_posted(self, shp: Shipment, t: datetime) -> None:
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
            ),
            sp,
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
        tel.span("ap-erp", flow, "ap.create-invoice", t + recv + extract,
                 t + recv + extract + post * 0.8, parent=post_sp, kind=SpanKind.SERVER,
                 corr=inv.corr)  # fmt: skip
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
                lines=[ln.as_event(q, p) for ln, q, p in inv.lines],
                attributes={"invoice.channel": "pdf-ocr" if ocr else "edi-810"},
            ),
            root,
        )

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
        self.w.ap_ready.append(
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
