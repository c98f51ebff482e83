"""One replenishment transaction, request to payment, planned up front and emitted in time."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opentelemetry.trace import Span

from simulator.catalog import SUPPLIERS, Site, substitute_ndc
from simulator.documents import CENT, Invoice, Line, Shipment
from simulator.fulfilment import FulfilmentEmissions
from simulator.ordering import OrderingEmissions
from simulator.rand import LiteRandom, new_event_id
from simulator.timing import hours, minutes, seconds, within_hours
from simulator.world import World

_SUPPLIER = {s.id: s for s in SUPPLIERS}


class Replenishment(OrderingEmissions, FulfilmentEmissions):
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
        if rng.random() < f.edi_queue_stall:
            # The ERP's outbound queue stalls: the PO leaves hours late.
            t_tx += hours(rng, 1, 10)
        self.at(t_tx, self.emit_transmit, t_tx)
        if rng.random() < f.supplier_no_ack:
            # The supplier never answers; nothing more happens to this PO.
            return

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
                Decimal("0.0001") if old.price < 1 else CENT
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
        booked = {no: q for no, q in shp.qty.items() if q > 0}
        if booked and rng.random() < self.f.erp_quantity_off:
            # The ERP books another quantity on one line than the dock received.
            no = rng.choice(sorted(booked))
            booked[no] += -1 if booked[no] > 1 else 1
        if rng.random() < self.f.gl_journal_drop:
            journal = None  # the GL interface drops it
        elif rng.random() < self.f.journal_amount_off:
            journal = Decimal(str(round(rng.uniform(1.02, 1.08), 3)))
        else:
            journal = Decimal(1)
        self.at(posted, self.emit_posted, shp, posted, booked, journal)
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
                Decimal("0.0001") if p < 1 else CENT
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

    def now(self) -> datetime:
        # The instant the scheduler resumed this transaction at (set in process()).
        return self._now
