"""The master-data page in real headless Chromium, on the conformance scenario with a crosswalk
that names its suppliers and most of its items: search, an entity's history, the unmapped
queue, and supplier names beside exceptions coming from the crosswalk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from rxsight.timeutil import parse_rfc3339, rfc3339
from tests import family_oracle
from tests.e2e import scenario
from tests.e2e.kit import AS_OF, scenario_server, shot, sign_in
from tests.support import Server

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.e2e

SUPPLIERS = """id,name,asn_expected,id.edi,id.ap,valid_from
SUP-1001,Keystone Drug Wholesale,true,KDW01,50001,2026-01-01T00:00:00Z
SUP-2002,Meridian Pharma Distribution,true,MPD02,50002,2026-01-01T00:00:00Z
SUP-3003,Summit Specialty Pharmacy,false,,50003,2026-01-01T00:00:00Z
SUP-4004,Northfield Biologics,false,,50004,2026-01-01T00:00:00Z
"""
# Seven of the scenario's eight items; NDC-0002-1433-80 stays unmapped. The canonical ids are
# the NDCs the systems send, so every other family's findings stay as they were.
ITEMS = """id,name,uom,schedule,cold_chain,id.erp,id.catalog.SUP-1001,valid_from
NDC-0069-0110-30,Ceftriaxone 1 g vial,VL,,false,ERP-10011,KDW-30011,2026-01-01T00:00:00Z
NDC-0143-9875-25,Hydromorphone 1 mg/mL inj,EA,CII,false,ERP-10012,KDW-30012,2026-01-01T00:00:00Z
NDC-0338-0049-04,Sodium chloride 0.9% 1000 mL bag,BG,,false,ERP-10013,,2026-01-01T00:00:00Z
NDC-0409-4888-02,Heparin 5000 units/mL vial,VL,,false,ERP-10014,KDW-30014,2026-01-01T00:00:00Z
NDC-25021-0402-67,Insulin lispro 100 units/mL vial,VL,,true,ERP-10015,,2026-01-01T00:00:00Z
NDC-63323-0262-01,Enoxaparin 40 mg syringe,EA,,false,ERP-10016,,2026-01-01T00:00:00Z
NDC-70121-1568-01,Pembrolizumab 100 mg/4 mL vial,VL,,true,ERP-10017,,2026-01-01T00:00:00Z
"""
# The heparin's Keystone catalog number changed the day before the scenario's instant.
ITEMS_LATER = """id,name,uom,schedule,cold_chain,id.erp,id.catalog.SUP-1001,valid_from
NDC-0409-4888-02,Heparin sodium 5000 u/mL 1 mL,VL,,false,ERP-10014,KDW-30099,2026-11-19T00:00:00Z
"""


def put(srv: Server, kind: str, text: str, name: str) -> dict[str, Any]:
    status, body = srv.request(
        "PUT", f"/api/masterdata/{kind}?filename={name}", text.encode(), content_type="text/csv"
    )
    assert status == 200 and not body["rejected"], body
    return body


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    config: dict[str, Any] = scenario.console_config()
    config["rules"] = {"interval_s": 86400}
    with scenario_server(config) as srv:
        put(srv, "suppliers", SUPPLIERS, "suppliers.csv")
        put(srv, "items", ITEMS, "items.csv")
        put(srv, "items", ITEMS_LATER, "items-nov.csv")
        status, answer = scenario.evaluate(srv, AS_OF)
        assert status == 200, answer
        yield srv


def test_crosswalk_of_the_ids_as_sent_changes_only_who_owes_asns(live: Server) -> None:
    status, answer = live.request("POST", f"/api/rules/evaluate?as_of={AS_OF}", {})
    assert status == 200, answer
    others = [f for f in answer["findings"] if f["family"] != "master_data"]
    # The scenario's findings, but the two suppliers the crosswalk says send ASNs now owe them.
    rows = [json.loads(line) for line in (scenario.SCENARIO / "events.ndjson").open()]
    events = [e for e in rows if not e.get("_invalid")]
    asn = family_oracle.supplier_response(
        events, parse_rfc3339(AS_OF), asn_suppliers=frozenset({"SUP-1001", "SUP-2002"})
    )
    expected = [e for e in scenario.expected() if e["family"] != "supplier_response"]
    expected += [
        {"family": "supplier_response", "po_number": po, "reason": reason, "since": rfc3339(since)}
        for po, (reason, since) in asn.items()
    ]
    assert any(e["reason"] == "no_asn" for e in expected)
    assert len(others) == len(expected)
    for e in expected:
        assert [f for f in others if all(f.get(k) == v for k, v in e.items())], e
    assert answer["errors"] == []
    unmapped = [f for f in answer["findings"] if f["family"] == "master_data"]
    assert {f["details"]["identifier"] for f in unmapped} == {"NDC-0002-1433-80"}
    assert {f["details"]["source_system"] for f in unmapped} >= {"pharmacy-omnicell"}


def test_master_data_page_search_history_and_names(browser: Browser, live: Server) -> None:
    context = sign_in(browser, live, "vera")
    page = context.new_page()
    page.goto("/masterdata?kind=items")
    expect(page.locator("h1")).to_have_text("Master data")
    expect(page.get_by_test_id("masterdata-count")).to_have_text("7")
    unmapped = page.get_by_role("link", name="unmapped identifier")
    expect(unmapped).to_contain_text("unmapped identifier")
    # Search by a supplier catalog number: the version in force now carries the new one.
    page.get_by_label("Search").fill("KDW-30099")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#masterdata tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Heparin sodium 5000 u/mL 1 mL")
    expect(rows.first).to_contain_text("catalog.SUP-1001")
    shot(page, "masterdata-search")
    # As of before the change, the old catalog number finds it and the new one does not.
    page.goto("/masterdata?kind=items&q=KDW-30014&as_of=2026-11-18T12:00:00Z")
    expect(page.locator("#masterdata tbody tr")).to_have_count(1)
    page.goto("/masterdata?kind=items&q=KDW-30014")
    expect(page.locator("#masterdata")).to_have_count(0)

    page.goto("/masterdata?kind=items&q=heparin")
    page.get_by_role("link", name="NDC-0409-4888-02").click()
    versions = page.locator("#versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("KDW-30099")
    expect(versions.nth(0)).to_contain_text("items-nov.csv, row 2")
    expect(versions.nth(1)).to_contain_text("KDW-30014")
    shot(page, "masterdata-history")

    page.goto("/masterdata?kind=suppliers")
    expect(page.locator("#masterdata tbody tr")).to_have_count(4)
    expect(page.locator("#masterdata")).to_contain_text("Keystone Drug Wholesale")
    shot(page, "masterdata-suppliers")

    # The exception list names suppliers from the crosswalk (the scenario sends no names).
    page.goto("/exceptions?family=unmatched_invoice")
    expect(page.locator("table")).to_contain_text("Keystone Drug Wholesale")
    page.goto("/exceptions?family=master_data")
    expect(page.locator("table")).to_contain_text("NDC-0002-1433-80")
    shot(page, "masterdata-unmapped-queue")
    context.close()
