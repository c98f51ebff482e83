"""Past 10,000 matching exceptions the console and the API stop counting (as search engines
cap their hit counts): "more than 10,000", with every page still reachable; below the cap the
count stays exact."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rules.lifecycle import COLUMNS, COUNT_CAP, EXCEPTIONS_TABLE
from rxsight.app import migrate_store
from rxsight.store import Store
from tests.e2e.scenario import console_config
from tests.integration.rxsight.conftest import signed_in
from tests.support import Server

TOKEN = "exceptions-count-admin-token-0123"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
MANY = COUNT_CAP + 1
FEW = 3


def _exception(n: int, family: str) -> list:
    row = {c: "" for c in COLUMNS} | {
        "exception_id": f"{family}:DOC-{n:05d}",
        "version": 1,
        "at": T0,
        "change": "opened",
        "status": "open",
        "actor": "rules",
        "rule_id": family,
        "family": family,
        "reason": "missing",
        "severity": "warning",
        "owner": "accounts-payable",
        "site": "s1",
        "since": T0 + timedelta(seconds=n),
        "opened_at": T0,
        "summary": f"document {n}",
        "details": "{}",
    }
    return [row[c] for c in COLUMNS]


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="rxsight-count-") as tmp:
        # Written as the rules stage writes them, before the server holds the store.
        store = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        migrate_store(store)
        rows = [_exception(n, "unmatched_invoice") for n in range(MANY)]
        rows += [_exception(n, "delayed_receipt") for n in range(FEW)]
        store.insert_rows(EXCEPTIONS_TABLE, rows, list(COLUMNS))
        store.close()
        server = Server(
            {**console_config(), "rules": {"interval_s": 86400}},
            admin_token=TOKEN,
            data_dir=Path(tmp),
        ).start()
        try:
            yield server
        finally:
            server.stop()


def test_the_api_says_more_than_the_cap_and_counts_exactly_below_it(srv: Server) -> None:
    status, page = srv.request("GET", "/api/exceptions?limit=1", token=TOKEN)
    assert status == 200, page
    assert (page["total"], page["total_capped"]) == (COUNT_CAP, True)
    status, page = srv.request("GET", "/api/exceptions?family=delayed_receipt", token=TOKEN)
    assert (page["total"], page["total_capped"], len(page["items"])) == (FEW, False, FEW)
    # Every match is still there past the cap: the last one, oldest first.
    query = f"family=unmatched_invoice&limit=10&offset={MANY - 1}"
    status, page = srv.request("GET", f"/api/exceptions?{query}", token=TOKEN)
    assert [e["exception_id"] for e in page["items"]] == [f"unmatched_invoice:DOC-{MANY - 1:05d}"]


def test_the_list_says_more_than_the_cap_and_pages_on(srv: Server) -> None:
    with signed_in(srv.url, "vera") as client:
        first = client.get("/exceptions?owner=all&family=unmatched_invoice").text
        count = re.search(r'id="result-count"[^>]*>(.*?)</p>', first, re.S)
        assert count, first[:2000]
        text = re.sub(r"<[^>]+>", "", count.group(1))
        assert "more than 10,000 exceptions" in text, text
        assert "page 1 of more than 200" in text, text
        assert 'rel="next"' in first
        # The last page past the cap: its one exception, and no next page.
        last = client.get("/exceptions?owner=all&family=unmatched_invoice&page=201").text
        assert f"DOC-{MANY - 1:05d}" in last
        assert 'rel="next"' not in last
        assert "Page 201 of more than 200" in last
        few = client.get("/exceptions?owner=all&family=delayed_receipt").text
        assert re.search(r'data-testid="exception-total">3</span> exceptions', few), few[:2000]
        assert "more than" not in few
