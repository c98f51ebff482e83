"""The simulated world's clock and scheduler: arrivals, polls and batch jobs, ERP outages."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from opentelemetry.trace import SpanKind

from simulator.backoffice import BackOffice
from simulator.catalog import (
    ERP_FLOWS,
    FLOW_BY_NAME,
    FLOWS,
    SITES,
    UNREGISTERED_SOURCE,
    Item,
    Site,
    build_items,
)
from simulator.config import SimConfig
from simulator.emit import Telemetry
from simulator.rand import LiteRandom, Rng, new_event_id
from simulator.timing import DIURNAL_MAX, DIURNAL_MEAN, diurnal, minutes, seconds


@dataclass
class Proc:
    """A process of the world: a generator yielding the instant it next wants to act."""

    gen: Iterator[datetime]
    rng: Rng


class Transaction(Protocol):
    def process(self) -> Iterator[datetime]: ...


NewTransaction = Callable[["World", int, datetime, Site, LiteRandom], Transaction]


@dataclass
class World:
    cfg: SimConfig
    tel: Telemetry
    anchor: datetime
    # Makes one replenishment's process (simulator.lifecycle.Replenishment): passed in, so the
    # world does not import the lifecycle that imports it.
    new_transaction: NewTransaction
    heap: list[tuple[datetime, int, Proc]] = field(default_factory=list)
    seq: int = 0
    tx_count: int = 0
    outages: list[tuple[datetime, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.items = build_items(self.cfg.seed)
        self.back_office = BackOffice(self.tel, self.items)
        # Generic lines are ordered far more often than specialty and biologic ones.
        self.item_weights = [
            1.0 if it.supplier_ids[0] in ("SUP-1001", "SUP-2002") else 0.3 for it in self.items
        ]
        self._prices: dict[tuple[str, str], Decimal] = {}
        self.start = self.anchor - timedelta(days=self.cfg.backfill_days)
        self.silent_flow = self.cfg.silent_flow
        self.silent_from = self.anchor - timedelta(hours=self.cfg.silent_hours)
        # A historical outage two days back (if in the window) and the configured live one.
        past = self.anchor - timedelta(days=2, hours=3)
        if past > self.start:
            self.outages.append((past, past + timedelta(minutes=45)))
        if self.cfg.outage_minutes > 0:
            begin = self.anchor + timedelta(minutes=self.cfg.outage_at_min)
            self.outages.append((begin, begin + timedelta(minutes=self.cfg.outage_minutes)))
        self._add(self._arrivals(), "arrivals")
        for flow in FLOWS:
            if flow.poll_minutes:
                self._add(self._poller(flow.name, flow.poll_minutes), f"poll/{flow.name}")
        office = self.back_office
        self._add(office.payment_run(self.rng("payment-run"), self.start), "payment-run")
        self._add(office.item_master(self.rng("item-master"), self.start), "item-master")

    # ------------------------------------------------------------------ scheduler
    def rng(self, name: str) -> random.Random:
        # The anchor is part of every stream: a run is reproduced by its seed and its "now";
        # runs at other times never reuse an event_id.
        return random.Random(f"{self.cfg.seed}/{self.anchor.isoformat()}/{name}")

    def _add(self, gen: Iterator[datetime], name: str) -> None:
        self.spawn(gen, self.rng(name))

    def spawn(self, gen: Iterator[datetime], rng: Rng) -> None:
        proc = Proc(gen, rng)
        self._advance(proc)

    def _advance(self, proc: Proc) -> None:
        self.tel.ids.rng = proc.rng
        try:
            when = next(proc.gen)
        except StopIteration:
            return
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, proc))

    def run_until(self, horizon: datetime, budget: int | None = None) -> int:
        """Run every action due at or before `horizon` (at most `budget`); returns the count."""
        done = 0
        while self.heap and self.heap[0][0] <= horizon:
            if budget is not None and done >= budget:
                break
            _, _, proc = heapq.heappop(self.heap)
            self._advance(proc)
            done += 1
        return done

    def next_due(self) -> datetime | None:
        return self.heap[0][0] if self.heap else None

    # ------------------------------------------------------------------ conditions
    def contract_price(self, item: Item, supplier_id: str) -> Decimal:
        """Each supplier's contract price for an item: list price within a few percent."""
        key = (item.ndc, supplier_id)
        if key not in self._prices:
            factor = random.Random(f"price/{self.cfg.seed}/{key}").uniform(-0.04, 0.04)
            self._prices[key] = _money(item.price * Decimal(str(round(1 + factor, 4))))
        return self._prices[key]

    def outage_at(self, t: datetime) -> tuple[datetime, datetime] | None:
        for begin, end in self.outages:
            if begin <= t < end:
                return begin, end
        return None

    def silent(self, flow: str, t: datetime) -> bool:
        return flow == self.silent_flow and t >= self.silent_from

    def erp_call(
        self, rng: Rng, t: datetime, median_s: float = 0.35
    ) -> tuple[timedelta, str | None]:
        """Duration and error of one call into the ERP at t (slow and failing in an outage)."""
        if self.outage_at(t):
            if rng.random() < self.cfg.faults.outage_error_rate:
                msg = rng.choice(
                    (
                        "ERP API 503 Service Unavailable",
                        "ERP API timeout after 30 s",
                        "connection reset by ERP load balancer",
                    )
                )
                return timedelta(seconds=rng.uniform(8, 30)), msg
            return timedelta(seconds=rng.uniform(6, 25)), None
        return seconds(rng, median_s, 0.6), None

    def erp_attempts(self, rng: Rng, t: datetime) -> list[tuple[datetime, str | None]]:
        """Retry schedule of an ERP post first tried at t: failed attempts every few minutes
        while the ERP is down, then the one that succeeds."""
        out: list[tuple[datetime, str | None]] = []
        for _ in range(200):
            if self.outage_at(t) and rng.random() < self.cfg.faults.outage_error_rate:
                out.append((t, "ERP API 503 Service Unavailable"))
                t += minutes(rng, 3, 6)
                continue
            out.append((t, None))
            return out
        out.append((t, None))
        return out

    # ------------------------------------------------------------------ processes
    def _arrivals(self) -> Iterator[datetime]:
        """Replenishment requests: a diurnal Poisson process per site while back-filling,
        then a steady `rate` per second once live."""
        rng = self.rng("arrivals")
        weights = [s.weight for s in SITES]
        t = self.start
        per_s = self.cfg.backfill_per_day / 86400
        while True:
            live = t >= self.anchor
            if live:
                if self.cfg.rate <= 0 or self.cfg.duration == 0:
                    return
                t += timedelta(seconds=rng.expovariate(self.cfg.rate))
            else:
                if per_s <= 0:
                    t = self.anchor
                    continue
                # Thinning: candidates at the peak rate, kept by the local hour's weight.
                t += timedelta(seconds=rng.expovariate(per_s * DIURNAL_MAX / DIURNAL_MEAN))
                if t >= self.anchor:
                    t = self.anchor
                    continue
            site = rng.choices(SITES, weights)[0]
            if not live and rng.random() > diurnal(t, site.timezone) / DIURNAL_MAX:
                continue
            yield t
            self.tx_count += 1
            n = self.cfg.number_base + self.tx_count
            tx_rng = LiteRandom()
            tx = self.new_transaction(self, n, t, site, tx_rng)
            self.spawn(tx.process(), tx_rng)

    def _poller(self, flow: str, period_min: float) -> Iterator[datetime]:
        """An integration's heartbeat: mailbox polls, queue drains and batch jobs."""
        rng = self.rng(f"poll/{flow}")
        spec = FLOW_BY_NAME[flow]
        service = spec.service
        retired = (
            self.anchor - timedelta(days=spec.retired_days_ago) if spec.retired_days_ago else None
        )
        t = self.start + timedelta(minutes=rng.uniform(0, period_min))
        names = {
            "replenishment-to-po": "poll-cabinet-queue",
            "po-transmit": "poll-outbound-queue",
            "po-ack-inbound": "poll-van-mailbox",
            "asn-inbound": "poll-portal",
            "goods-receipt-sync": "download-open-pos",
            "invoice-inbound": "poll-ap-inbox",
        }
        # The AP inbox is still polled through AP's API v1, deprecated for the flow (as OCR'd
        # invoices are posted through it: simulator/fulfilment.py).
        api_version = {"invoice-inbound": "v1"}.get(flow)
        while retired is None or t < retired:
            yield t
            failed = False
            # Each run of a governed integration carries a run ID as its correlation ID.
            run = f"{flow}-run-{t:%Y%m%dT%H%M%S}" if spec.correlated else None
            if not self.silent(flow, t):
                if flow == "ap-auto-match":
                    self.back_office.auto_match(t, rng, run)
                elif flow == "journal-posting":
                    self.back_office.journal_batch(t, rng, run)
                elif flow == "periop-usage-sync":
                    self._periop_usage(t, rng, run)
                elif flow == "inventory-sync":
                    # One cycle-count sync covering every site's cabinets.
                    d = seconds(rng, 2.5, 0.5)
                    self.tel.span(
                        service,
                        flow,
                        "inventory-sync.sync-counts",
                        t - d,
                        t,
                        kind=SpanKind.CLIENT,
                        corr=run,
                        attrs={"sites": len(SITES), "items.synced": rng.randint(200, 1600)},
                    )
                else:
                    if flow in ERP_FLOWS:
                        d, err = self.erp_call(rng, t, 0.25)
                    else:
                        d, err = seconds(rng, 0.4, 0.6), None
                    self.tel.span(
                        service,
                        flow,
                        f"{flow}.{names.get(flow, 'poll')}",
                        t - d,
                        t,
                        kind=SpanKind.CLIENT,
                        corr=run,
                        attrs={"api.version": api_version},
                        error=err,
                    )
                    failed = err is not None or d > timedelta(seconds=5)
            if failed:
                # A failing or slow call puts the engine in degraded mode, probing every
                # half minute until calls are healthy again: an outage shows as a burst.
                t += timedelta(seconds=rng.uniform(20, 40))
            else:
                t += timedelta(minutes=period_min * rng.uniform(0.9, 1.1))

    def _periop_usage(self, t: datetime, rng: random.Random, run: str | None) -> None:
        """The perioperative supply app's usage sync, run outside governance: its flow is
        not registered, nor is it as a source system of the inventory updates it sends."""
        sp = self.tel.span(
            "periop-supply",
            "periop-usage-sync",
            "periop-usage-sync.push-usage",
            t - seconds(rng, 0.8, 0.4),
            t,
            kind=SpanKind.CLIENT,
            corr=run,
        )
        self.tel.event_json(
            {
                "event_id": new_event_id(rng),
                "event_type": "inventory.updated",
                "occurred_at": t,
                "correlation_id": run,
                "source_system": UNREGISTERED_SOURCE,
                "domain": "supply",
                "site": rng.choice(SITES).id,
                "item_id": rng.choice(self.items).ndc,
                "quantity": rng.randint(1, 12),
                "status": "consumed",
                "attributes": {"location": "operating-room"},
            },
            sp,
        )


def _money(value: Decimal) -> Decimal:
    # Cheap unit-dose items are priced to the hundredth of a cent, as wholesalers do.
    return value.quantize(Decimal("0.0001") if value < 1 else Decimal("0.01"))
