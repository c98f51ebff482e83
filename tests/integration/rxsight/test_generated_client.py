"""A client generated from the live /openapi.json by a real generator (openapi-python-client)
calls rxsight on a loopback port: typed events in, typed answers out (issue 23 item 3)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.support import Server

BIN = Path(sys.executable).parent
# The generator models JSON bodies only: it leaves the binary encodings (OTLP protobuf,
# NDJSON) out with a warning, and the JSON one of each route stays. (Mapping them to bytes
# with its content_type_overrides trips a missing import in 0.29's output.)
KNOWN_WARNINGS = {
    ("POST /v1/traces within ingest", "Unsupported content type application/x-protobuf"),
    ("POST /v1/logs within ingest", "Unsupported content type application/x-protobuf"),
    ("POST /v1/events within ingest", "Unsupported content type application/x-ndjson"),
}


ADMIN_TOKEN = "generated-client-admin-token-0123"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """A server of its own: the test persists rule findings."""
    srv = Server(admin_token=ADMIN_TOKEN).start()
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture(scope="module")
def client_package(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("generated")
    (work / "openapi.json").write_bytes(httpx.get(f"{server.url}/openapi.json").content)
    name = "rxsight_generated_client"
    generated = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(work / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(work / name),
        ],
        capture_output=True,
        text=True,
        # Its post-generation step formats the code with ruff, found on PATH.
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=300,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    warnings = re.findall(r"WARNING parsing (.+)\.\s+(\S.+)\n", output)
    assert len(warnings) == output.count("WARNING") and set(warnings) <= KNOWN_WARNINGS, output
    sys.path.insert(0, str(work))
    try:
        yield name
    finally:
        sys.path.remove(str(work))
        for module in [m for m in sys.modules if m.split(".")[0] == name]:
            del sys.modules[module]


def _module(package: str, path: str) -> ModuleType:
    return importlib.import_module(f"{package}.{path}")


def _api(package: str, server: Server, token: str = ADMIN_TOKEN) -> Any:
    client = _module(package, "client")
    return client.AuthenticatedClient(
        base_url=server.url, token=token, raise_on_unexpected_status=True
    )


def test_every_generated_module_imports(client_package: str, server: Server) -> None:
    """One function module per operation, one class per named schema, all importable."""
    package = importlib.import_module(client_package)
    names = [m.name for m in pkgutil.walk_packages(package.__path__, f"{client_package}.")]
    for name in names:
        importlib.import_module(name)
    doc = httpx.get(f"{server.url}/openapi.json").json()
    operations = [op for item in doc["paths"].values() for op in item.values()]
    functions = [n for n in names if n.startswith(f"{client_package}.api.") and n.count(".") == 3]
    assert len(functions) == len(operations)


def test_generated_client_ingests_reads_and_lists(client_package: str, server: Server) -> None:
    models = _module(client_package, "models")
    ingest = _module(client_package, "api.ingest.ingest_events")
    get_transaction = _module(client_package, "api.read.get_transaction")
    list_exceptions = _module(client_package, "api.rules.list_exceptions")
    evaluate = _module(client_package, "api.rules.evaluate_rules")
    api = _api(client_package, server)
    now = datetime.now(UTC)
    po = models.PoCreatedEvent(
        event_id="gen-client-po-1",
        event_type="po.created",
        occurred_at=now,
        correlation_id="gen-client-corr-1",
        source_system="erp",
        po_number="PO-GEN-1",
        supplier_id="SUP-GEN",
        lines=[models.EventLine(item_id="NDC-1", quantity="4", unit_price="2.5")],
    )
    sent = models.PoTransmittedEvent(
        event_id="gen-client-po-2",
        event_type="po.transmitted",
        occurred_at=now,
        correlation_id="gen-client-corr-1",
        source_system="edi",
        po_number="PO-GEN-1",
    )
    answer = ingest.sync(client=api, body=[po, sent])
    assert isinstance(answer, models.EventsAnswer)
    assert (answer.accepted, answer.duplicates, answer.rejected) == (2, 0, [])

    # A resend counts as a duplicate, in the typed answer too.
    again = ingest.sync(client=api, body=po)
    assert (again.accepted, again.duplicates) == (0, 1)

    def stored() -> Any:
        found = get_transaction.sync(client=api, correlation_id="gen-client-corr-1")
        return found if found is not None and len(found.events) == 2 else None

    tx = server.wait_for(stored, timeout=10, interval=0.2)
    assert isinstance(tx, models.Transaction)
    first = tx.events[0]
    assert first.event_type == "po.created" and first.po_number == "PO-GEN-1"
    assert isinstance(first.occurred_at, datetime)
    assert [(ln.item_id, ln.quantity, ln.unit_price) for ln in first.lines] == [
        ("NDC-1", "4", "2.5")
    ]

    # A stat request 10 h old with no PO is late: evaluating opens its exception.
    late = models.ReplenishmentRequestedEvent(
        event_id="gen-client-req-1",
        event_type="replenishment.requested",
        occurred_at=now - timedelta(hours=10),
        correlation_id="gen-client-corr-2",
        source_system="pharmacy",
        site="mercy-east",
        item_id="NDC-2",
        quantity=3,
        priority=models.ReplenishmentRequestedEventPriorityType0.STAT,
    )
    assert ingest.sync(client=api, body=late).accepted == 1

    def evaluated() -> Any:
        result = evaluate.sync(client=api, persist=True)
        assert isinstance(result, models.Evaluation) and not result.errors
        return [f for f in result.findings if f.correlation_id == "gen-client-corr-2"]

    (finding,) = server.wait_for(evaluated, timeout=10, interval=0.5)
    assert (finding.family, finding.reason) == ("open_replenishment", "no_po")

    page = list_exceptions.sync(client=api, family="open_replenishment", limit=5)
    assert isinstance(page, models.ExceptionPage)
    assert (page.total, page.limit) == (1, 5)
    (item,) = page.items
    assert (item.correlation_id, item.status, item.site) == (
        "gen-client-corr-2",
        "open",
        "mercy-east",
    )
    assert isinstance(item.opened_at, datetime)


def test_generated_client_gets_the_documented_refusal(client_package: str, server: Server) -> None:
    list_exceptions = _module(client_package, "api.rules.list_exceptions")
    models = _module(client_package, "models")
    stranger = _api(client_package, server, token="not-a-token-of-this-server")
    response = list_exceptions.sync_detailed(client=stranger)
    assert response.status_code == 401
    assert isinstance(response.parsed, models.ErrorBody)
    assert "token" in response.parsed.detail
