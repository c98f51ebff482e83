"""The master data crosswalk: entities in force at an instant, searched, and one entity's
versions. Loading is the API's and the CLI's (`PUT /api/masterdata/{kind}`, admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

import rules.public as rules_public
from rxsight.auth import Principal
from rxsight.timeutil import utcnow
from web import data
from web.deps import ConsoleError, console_user, render, store_of
from web.downloads import csv_response, wants_csv
from web.timecontrol import time_view

router = APIRouter()

# (kind in the URL, label); attributes shown per kind, in order.
KIND_LABELS = {
    "items": "Items",
    "suppliers": "Suppliers",
    "sites": "Sites",
    "cost_centers": "Cost centers",
}
ATTRIBUTES = {
    "items": ("uom", "schedule", "cold_chain"),
    "suppliers": ("asn_expected",),
    "sites": (),
    "cost_centers": (),
}
SINGULAR = {
    "items": "Item",
    "suppliers": "Supplier",
    "sites": "Site",
    "cost_centers": "Cost center",
}
ATTRIBUTE_LABELS = {
    "uom": "UoM",
    "schedule": "DEA schedule",
    "cold_chain": "Cold chain",
    "asn_expected": "ASN expected",
}
CSV_COLUMNS = ("id", "name", "identifiers", "attributes", "valid_from", "loaded_at", "loaded_by")
SHOWN = 500


def _kind(kind: str) -> str:
    if kind not in KIND_LABELS:
        raise ConsoleError(
            404, f"no master data kind {kind!r} (items, suppliers, sites, cost_centers)"
        )
    return kind


def _csv_row(e: dict[str, Any]) -> dict[str, Any]:
    ids = " ".join(f"{p['system']}={p['identifier']}" for p in e["identifiers"])
    attrs = " ".join(f"{k}={v}" for k, v in sorted(e["attributes"].items()))
    return {**e, "identifiers": ids, "attributes": attrs}


@router.get("/masterdata", response_class=HTMLResponse)
def masterdata_page(
    request: Request,
    kind: str = "items",
    q: str = "",
    as_of: str | None = None,
    format: str = "",
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    kind = _kind(kind)
    tc = time_view(request, as_of)
    when = tc.when or utcnow()
    store = store_of(request)
    found = data.attempt(
        "Master data",
        rules_public.masterdata_search,
        store,
        rules_public.MASTERDATA_KINDS[kind],
        q[:256],
        when,
        SHOWN + 1,
    )
    rows = found.value or []
    if wants_csv(format):
        if found.error:
            raise ConsoleError(503, found.error)
        return csv_response(
            request, principal, f"masterdata-{kind}", CSV_COLUMNS, map(_csv_row, rows)
        )
    unmapped = data.attempt(
        "Unmapped identifiers",
        rules_public.list_exceptions,
        store,
        family="master_data",
        status="active",
        limit=1,
    )
    return render(
        request,
        "masterdata.html",
        {
            "kind": kind,
            "kinds": KIND_LABELS,
            "singular": SINGULAR,
            "attributes": ATTRIBUTES[kind],
            "attribute_labels": ATTRIBUTE_LABELS,
            "rows": rows[:SHOWN],
            "more": len(rows) > SHOWN,
            "q": q,
            "at": when,
            "error": found.error,
            "unmapped": unmapped.value[1] if unmapped.value else None,
            "tc": tc,
        },
        principal=principal,
    )


@router.get("/masterdata/{kind}/{canonical_id:path}", response_class=HTMLResponse)
def masterdata_entity_page(
    request: Request,
    kind: str,
    canonical_id: str,
    principal: Principal = Depends(console_user("viewer")),
) -> Response:
    kind = _kind(kind)
    found = data.attempt(
        "History",
        rules_public.masterdata_history,
        store_of(request),
        rules_public.MASTERDATA_KINDS[kind],
        canonical_id,
    )
    if found.value == []:
        raise ConsoleError(404, f"no {kind} {canonical_id!r} in the crosswalk")
    return render(
        request,
        "masterdata_entity.html",
        {
            "kind": kind,
            "kinds": KIND_LABELS,
            "attribute_labels": ATTRIBUTE_LABELS,
            "id": canonical_id,
            "versions": list(reversed(found.value or [])),
            "error": found.error,
            "tc": time_view(request, None),
            "tc_now_only": True,
        },
        principal=principal,
    )
