"""The simulated health system's master data: sites, suppliers, items, services and flows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Site:
    id: str
    code: str
    name: str
    timezone: str
    # Share of the system's replenishment volume.
    weight: float

    @property
    def cost_center(self) -> str:
        return f"CC-PHARM-{self.code}"


@dataclass(frozen=True)
class Supplier:
    id: str
    name: str
    channel: str  # "edi" (850/855/856/810 through the EDI gateway) or "portal"
    # Order-to-delivery lead time in hours (min, max) for routine orders.
    lead_hours: tuple[float, float]
    terms_days: int
    invoice_prefix: str
    weight: float


@dataclass(frozen=True)
class Item:
    ndc: str
    description: str
    uom: str
    price: Decimal
    # Typical order quantity in `uom`.
    typical_qty: int
    supplier_ids: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    """An instrumented integration: one OTel resource, one exporter transport."""

    name: str
    tier: int | None  # resource-level integration.tier when every flow it serves shares one
    transport: str  # "http" or "grpc"


@dataclass(frozen=True)
class Flow:
    name: str
    tier: int
    owner: str
    domain: str
    # Heartbeat (poll / batch) period in minutes; 0 = only business traffic.
    poll_minutes: float
    service: str
    # Governance (DESIGN 5.8): whether the demo's configuration registers the flow; whether
    # its spans carry correlation IDs (its polls a run ID each); API versions the
    # configuration marks deprecated for it; its stale_days; and, for an interface retired
    # already, how many days before "now" its last poll ran.
    registered: bool = True
    correlated: bool = True
    deprecated_versions: tuple[str, ...] = ()
    stale_days: int | None = None
    retired_days_ago: float | None = None

    def config(self) -> dict[str, object]:
        """Its entry under `flows:` in the demo's configuration."""
        entry: dict[str, object] = {"tier": self.tier, "owner": self.owner, "domain": self.domain}
        if self.deprecated_versions:
            entry["deprecated_versions"] = list(self.deprecated_versions)
        if self.stale_days:
            entry["stale_days"] = self.stale_days
        return entry


SITES: tuple[Site, ...] = (
    Site("mercy-main", "MM", "Mercy Main Hospital", "America/Chicago", 0.40),
    Site("mercy-east", "ME", "Mercy East Hospital", "America/Chicago", 0.25),
    Site("lakeside", "LS", "Lakeside Community Hospital", "America/New_York", 0.22),
    Site("northgate-clinic", "NG", "Northgate Infusion Clinic", "America/Denver", 0.13),
)

SUPPLIERS: tuple[Supplier, ...] = (
    Supplier("SUP-1001", "Keystone Drug Wholesale", "edi", (14, 30), 5, "KDW", 0.45),
    Supplier("SUP-2002", "Meridian Pharma Distribution", "edi", (20, 48), 10, "MPD", 0.25),
    Supplier("SUP-3003", "Summit Specialty Pharmacy Services", "portal", (26, 56), 30, "SSP", 0.20),
    Supplier("SUP-4004", "Northfield Biologics", "portal", (40, 66), 30, "NFB", 0.10),
)

SERVICES: tuple[Service, ...] = (
    Service("pharmacy-omnicell", 1, "http"),
    Service("erp-adapter", 1, "http"),
    Service("erp-purchasing", 1, "http"),
    Service("edi-gateway", 1, "grpc"),
    Service("supplier-portal", 1, "grpc"),
    Service("receiving-dock", 1, "grpc"),
    Service("erp-inventory", 1, "http"),
    Service("pharmacy-inventory", 2, "http"),
    Service("ap-inbox", 2, "http"),
    Service("ap-erp", None, "grpc"),
    Service("gl-adapter", 2, "http"),
    Service("masterdata", 3, "grpc"),
    Service("fax-gateway", 3, "http"),
    Service("periop-supply", None, "http"),
)

FLOWS: tuple[Flow, ...] = (
    Flow("replenishment-to-po", 1, "integration-erp", "supply", 10, "erp-adapter"),
    Flow("po-transmit", 1, "integration-edi", "supply", 10, "edi-gateway"),
    Flow("po-ack-inbound", 1, "integration-edi", "supply", 10, "edi-gateway"),
    Flow("asn-inbound", 1, "integration-edi", "supply", 10, "supplier-portal"),
    Flow("goods-receipt-sync", 1, "integration-erp", "supply", 10, "receiving-dock"),
    Flow("inventory-sync", 2, "integration-pharmacy", "pharmacy", 30, "pharmacy-inventory"),
    # The AP inbox is polled, and OCR'd invoices posted, through AP's API v1 (deprecated);
    # EDI 810s through v2.
    Flow(
        "invoice-inbound",
        2,
        "integration-ap",
        "finance",
        30,
        "ap-inbox",
        deprecated_versions=("v1",),
    ),
    Flow("ap-auto-match", 2, "accounts-payable", "finance", 30, "ap-erp"),
    Flow("journal-posting", 2, "integration-gl", "finance", 60, "gl-adapter"),
    Flow("ap-payment-run", 3, "accounts-payable", "finance", 0, "ap-erp"),
    Flow("item-master-sync", 3, "integration-masterdata", "supply", 0, "masterdata"),
    # The rest of the governance story (DESIGN 5.8): supplier price files arrive through an
    # SFTP adapter that knows nothing of correlation IDs; the fax order gateway was retired
    # five days ago; the perioperative supply app syncs usage outside governance.
    Flow(
        "price-file-import",
        3,
        "integration-masterdata",
        "supply",
        30,
        "masterdata",
        correlated=False,
    ),
    Flow(
        "fax-order-gateway",
        3,
        "supply-it",
        "supply",
        60,
        "fax-gateway",
        stale_days=3,
        retired_days_ago=5,
    ),
    Flow("periop-usage-sync", 3, "periop-it", "supply", 20, "periop-supply", registered=False),
)
FLOW_BY_NAME = {f.name: f for f in FLOWS}
# Flows whose work ends in a post to the ERP: the ones an ERP outage slows and fails.
# The source systems the demo's configuration registers, with owners: every system whose
# events the world sends, but the perioperative supply app's.
SOURCE_SYSTEMS: dict[str, str] = {
    "pharmacy-omnicell": "integration-pharmacy",
    "pharmacy-inventory": "integration-pharmacy",
    "erp-purchasing": "integration-erp",
    "erp-inventory": "integration-erp",
    "receiving-dock": "integration-erp",
    "edi-gateway": "integration-edi",
    "supplier-portal": "integration-edi",
    "ap-inbox": "integration-ap",
    "ap-erp": "accounts-payable",
    "gl": "integration-gl",
}
UNREGISTERED_SOURCE = "periop-supply"
ERP_FLOWS = frozenset({"replenishment-to-po", "po-transmit", "goods-receipt-sync"})

# (description, uom, unit price, typical order quantity, supplier group). Prices are
# contract prices per unit of measure, roughly what a US hospital pharmacy pays.
_FORMULARY: tuple[tuple[str, str, str, int, str], ...] = (
    ("Heparin sodium 5,000 units/mL 1 mL vial", "VL", "2.35", 50, "gen"),
    ("Ondansetron 4 mg/2 mL injection", "VL", "0.62", 100, "gen"),
    ("Ceftriaxone 1 g vial", "VL", "1.48", 60, "gen"),
    ("Vancomycin 1 g vial", "VL", "4.10", 40, "gen"),
    ("Piperacillin-tazobactam 3.375 g vial", "VL", "6.95", 40, "gen"),
    ("Enoxaparin 40 mg/0.4 mL syringe", "EA", "8.75", 30, "gen"),
    ("Insulin lispro 100 units/mL 10 mL vial", "VL", "49.25", 12, "gen"),
    ("Insulin glargine 100 units/mL pen", "EA", "61.80", 10, "gen"),
    ("Morphine 2 mg/mL carpuject", "EA", "3.20", 25, "gen"),
    ("Hydromorphone 1 mg/mL carpuject", "EA", "4.05", 25, "gen"),
    ("Fentanyl citrate 50 mcg/mL 2 mL vial", "VL", "1.12", 25, "gen"),
    ("Propofol 10 mg/mL 20 mL vial", "VL", "3.90", 50, "gen"),
    ("Midazolam 1 mg/mL 2 mL vial", "VL", "0.98", 40, "gen"),
    ("Dexamethasone 4 mg/mL 1 mL vial", "VL", "0.85", 50, "gen"),
    ("Famotidine 20 mg/2 mL vial", "VL", "1.05", 50, "gen"),
    ("Pantoprazole 40 mg vial", "VL", "2.60", 50, "gen"),
    ("Furosemide 10 mg/mL 4 mL vial", "VL", "1.15", 50, "gen"),
    ("Potassium chloride 20 mEq/100 mL bag", "BG", "3.45", 48, "gen"),
    ("Sodium chloride 0.9% 1,000 mL bag", "BG", "1.95", 120, "gen"),
    ("Lactated Ringer's 1,000 mL bag", "BG", "2.10", 96, "gen"),
    ("Dextrose 5% 250 mL bag", "BG", "1.70", 72, "gen"),
    ("Acetaminophen 325 mg tablet, unit dose", "EA", "0.04", 500, "gen"),
    ("Metoprolol tartrate 25 mg tablet, unit dose", "EA", "0.05", 400, "gen"),
    ("Atorvastatin 40 mg tablet, unit dose", "EA", "0.09", 300, "gen"),
    ("Apixaban 5 mg tablet, unit dose", "EA", "8.90", 60, "gen"),
    ("Amiodarone 150 mg/3 mL vial", "VL", "2.80", 20, "gen"),
    ("Norepinephrine 4 mg/4 mL vial", "VL", "9.40", 20, "gen"),
    ("Epinephrine 1 mg/10 mL syringe", "EA", "14.60", 20, "gen"),
    ("Naloxone 0.4 mg/mL 1 mL vial", "VL", "11.25", 20, "gen"),
    ("Albuterol 2.5 mg/3 mL nebule", "EA", "0.32", 200, "gen"),
    ("Alteplase 100 mg kit", "KT", "9850.00", 1, "spec"),
    ("Tenecteplase 50 mg kit", "KT", "8420.00", 1, "spec"),
    ("Pembrolizumab 100 mg/4 mL vial", "VL", "5320.00", 2, "spec"),
    ("Rituximab 500 mg/50 mL vial", "VL", "4210.00", 2, "spec"),
    ("Infliximab 100 mg vial", "VL", "1180.00", 4, "spec"),
    ("Bevacizumab 400 mg/16 mL vial", "VL", "3150.00", 2, "spec"),
    ("Daptomycin 500 mg vial", "VL", "96.40", 10, "spec"),
    ("Remdesivir 100 mg vial", "VL", "390.00", 6, "spec"),
    ("Immune globulin 10% 10 g/100 mL", "VL", "1425.00", 3, "spec"),
    ("Factor VIII 1,000 IU kit", "KT", "1620.00", 2, "spec"),
    ("Influenza vaccine quadrivalent 0.5 mL syringe", "EA", "19.80", 50, "bio"),
    ("Hepatitis B vaccine 20 mcg/mL syringe", "EA", "64.20", 20, "bio"),
    ("Tdap vaccine 0.5 mL syringe", "EA", "47.10", 20, "bio"),
    ("Pneumococcal conjugate vaccine 0.5 mL syringe", "EA", "238.50", 10, "bio"),
    ("Rho(D) immune globulin 300 mcg syringe", "EA", "112.70", 6, "bio"),
    ("Botulinum toxin type A 100 units vial", "VL", "640.00", 2, "bio"),
)
_GROUP_SUPPLIERS = {
    "gen": ("SUP-1001", "SUP-2002"),
    "spec": ("SUP-3003", "SUP-1001"),
    "bio": ("SUP-4004", "SUP-3003"),
}
# Labeler codes (fictional) the catalog's NDC-like numbers are drawn from.
_LABELERS = ("00143", "00409", "25021", "63323", "68180", "70121", "55150", "00641", "69097")


def build_items(seed: int) -> tuple[Item, ...]:
    """The formulary with NDC-like numbers (5-4-2), stable for a seed."""
    rng = random.Random(f"catalog/{seed}")
    items = []
    seen: set[str] = set()
    for desc, uom, price, qty, group in _FORMULARY:
        while True:
            product, package = rng.randrange(1, 9999), rng.randrange(1, 99)
            ndc = f"NDC-{rng.choice(_LABELERS)}-{product:04d}-{package:02d}"
            if ndc not in seen:
                seen.add(ndc)
                break
        items.append(Item(ndc, desc, uom, Decimal(price), qty, _GROUP_SUPPLIERS[group]))
    return tuple(items)


def substitute_ndc(ndc: str) -> str:
    """Another manufacturer's package of the same product (a therapeutic substitution)."""
    _, labeler, product, package = ndc.split("-")
    other = _LABELERS[(_LABELERS.index(labeler) + 3) % len(_LABELERS)]
    return f"NDC-{other}-{product}-{package}"
