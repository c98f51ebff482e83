"""The simulated health system's master data crosswalk, and loading it into rxsight.

Canonical ids are what the ERP sends (NDCs, SUP-xxxx, site ids, CC-PHARM-xx), so every
other event maps to itself. Besides them: each item's ERP item number and each supplier's
catalog number (the EDI suppliers bill by catalog number on their own line numbers, see
`bills_by_catalog`), each supplier's EDI partner id and AP vendor number, each site's ERP
plant code and each cost center's GL account. What stays unmapped: the other manufacturer's
NDC of a substitution and, now and then, a catalog number the supplier introduced that the
crosswalk does not have yet (the `unmapped_item` fault): the master_data family's queue.
"""

from __future__ import annotations

import csv
import io
import zlib
from datetime import datetime, timedelta
from typing import Any

import httpx

from simulator.catalog import SITES, SUPPLIERS, Item, Supplier

# Controlled substances of the formulary (DEA schedule), by the start of their description.
_SCHEDULES = {
    "Morphine": "CII",
    "Hydromorphone": "CII",
    "Fentanyl": "CII",
    "Midazolam": "CIV",
}
# Kept between 2 and 8 °C.
_COLD = (
    "Insulin", "vaccine", "immune globulin", "Infliximab", "Rituximab", "Pembrolizumab",
    "Bevacizumab", "Botulinum", "Factor VIII", "Alteplase", "Tenecteplase", "Enoxaparin",
)  # fmt: skip


def bills_by_catalog(supplier: Supplier) -> bool:
    """The EDI suppliers' invoices (810) carry their own catalog numbers and line numbers."""
    return supplier.channel == "edi"


def catalog_number(item: Item, supplier: Supplier, revision: int = 0) -> str:
    """The supplier's catalog number for an item (stable); a revision is a new number the
    supplier moved the item to."""
    digits = zlib.crc32(f"{supplier.id}/{item.ndc}/{revision}".encode()) % 900_000 + 100_000
    return f"{supplier.invoice_prefix}-{digits}"


def erp_item_number(items: tuple[Item, ...], item: Item) -> str:
    return f"ERP-{10_000 + items.index(item)}"


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def files(items: tuple[Item, ...], valid_from: datetime) -> dict[str, str]:
    """The crosswalk as CSV text per kind (items, suppliers, sites, cost_centers)."""
    since = valid_from.strftime("%Y-%m-%dT%H:%M:%SZ")
    catalogs = [f"id.catalog.{s.id}" for s in SUPPLIERS]
    item_rows = []
    for it in items:
        schedule = next((v for k, v in _SCHEDULES.items() if it.description.startswith(k)), "")
        cold = any(word.lower() in it.description.lower() for word in _COLD)
        numbers = [catalog_number(it, s) if s.id in it.supplier_ids else "" for s in SUPPLIERS]
        item_rows.append(
            [it.ndc, it.description, it.uom, schedule, str(cold).lower(), it.ndc,
             erp_item_number(items, it), *numbers, since]
        )  # fmt: skip
    suppliers = [
        [s.id, s.name, str(s.channel == "edi").lower(), s.id,
         f"{s.invoice_prefix}EDI" if s.channel == "edi" else "", f"5{s.id[-4:]}", since]
        for s in SUPPLIERS
    ]  # fmt: skip
    return {
        "items": _csv(
            [
                "id",
                "name",
                "uom",
                "schedule",
                "cold_chain",
                "id.ndc",
                "id.erp",
                *catalogs,
                "valid_from",
            ],
            item_rows,
        ),  # fmt: skip
        "suppliers": _csv(
            ["id", "name", "asn_expected", "id.erp", "id.edi", "id.ap", "valid_from"], suppliers
        ),
        "sites": _csv(
            ["id", "name", "id.erp", "valid_from"],
            [[s.id, s.name, f"PLANT-{s.code}", since] for s in SITES],
        ),
        "cost_centers": _csv(
            ["id", "name", "id.gl", "valid_from"],
            [[s.cost_center, f"Pharmacy, {s.name}", f"GL-6100-{s.code}", since] for s in SITES],
        ),
    }


def load(url: str, admin_token: str, items: tuple[Item, ...], start: datetime) -> str:
    """Loads the world's crosswalk into rxsight (valid from a day before the world starts),
    unless it holds items already (a restarted demo); returns what it did."""
    headers = {"authorization": f"Bearer {admin_token}"}
    base = url.rstrip("/")
    with httpx.Client(headers=headers, timeout=60) as client:
        there = client.get(f"{base}/api/masterdata/items", params={"limit": 1})
        there.raise_for_status()
        if there.json()["entities"]:
            return "crosswalk already loaded"
        loaded = []
        for kind, text in files(items, start - timedelta(days=1)).items():
            resp = client.put(
                f"{base}/api/masterdata/{kind}",
                params={"filename": f"simulator-{kind}.csv"},
                content=text.encode(),
                headers={"content-type": "text/csv"},
            )
            resp.raise_for_status()
            loaded.append(f"{resp.json()['loaded']} {kind}")
        return "crosswalk loaded: " + ", ".join(loaded)


def billed_by_catalog(
    line: dict[str, Any], item: Item, supplier: Supplier, unmapped: bool
) -> dict[str, Any]:
    """An invoice line as a supplier billing by catalog number sends it: its catalog number
    (a new one the crosswalk lacks when `unmapped`) on its own line numbering (10, 20, ...)."""
    number = catalog_number(item, supplier, revision=1 if unmapped else 0)
    return {**line, "line_no": line["line_no"] * 10, "item_id": number}
