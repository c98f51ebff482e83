"""schemathesis against the OpenAPI document, once per role: requests generated from the
document's own schemas must never get a 5xx nor an answer that contradicts the document
(a 422 body, above all, must be what the document says a 422 is). Plus the refusals the
issue found answered 500 or in another shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import FailureGroup

from tests.e2e.scenario import console_config
from tests.integration.rxsight.conftest import sign_in
from tests.support import Server

ADMIN_TOKEN = "fuzz-admin-token-0123456789"
# Examples per operation and role: enough to reach every parameter, well under a minute
# for the whole module on this machine.
EXAMPLES = 3
ROLES = {"viewer": "vera", "scoped operator": "fin", "operator": "otto", "admin": "ada"}


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Server]:
    """A server of its own: generated requests create silences and reload configuration."""
    server = Server(console_config(), admin_token=ADMIN_TOKEN).start()
    try:
        yield server
    finally:
        server.cleanup()


def _fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    tried: dict[str, int],
    failures: list[str],
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: schemathesis.Case) -> None:
        tried[label] = tried.get(label, 0) + 1
        try:
            case.call_and_validate(
                base_url=base_url,
                headers=headers,
                checks=[not_a_server_error, response_schema_conformance],
            )
        except (AssertionError, FailureGroup) as exc:
            failures.append(f"{label} {case.path_parameters} {case.query}: {exc}"[:1500])

    try:
        run()
    except Unsatisfiable:
        # No parameter or body to get wrong: there is no invalid request to make.
        assert mode is GenerationMode.NEGATIVE, label


@pytest.mark.parametrize("role", list(ROLES))
def test_generated_requests_get_no_5xx_and_answers_that_match_the_document(
    fuzzed: Server, role: str
) -> None:
    doc = httpx.get(f"{fuzzed.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    client = sign_in(fuzzed.url, ROLES[role])
    headers = {
        "Cookie": f"rxsight_session={client.cookies['rxsight_session']}",
        "X-CSRF-Token": client.headers["X-CSRF-Token"],
    }
    client.close()
    operations = [result.ok() for result in schema.get_all_operations()]
    tried: dict[str, int] = {}
    failures: list[str] = []
    for operation in operations:
        # Valid requests; for the admin, whom no role check stops before validation, invalid
        # ones too (their 422s are checked against the document).
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if role == "admin" else [])
        for mode in modes:
            _fuzz(operation, mode, fuzzed.url, headers, tried, failures)
    print(f"\nschemathesis as {role}: {sum(tried.values())} requests over {len(tried)} "
          f"operations, {len(failures)} failed")  # fmt: skip
    assert not failures, "\n\n".join(failures[:10])
    assert len(tried) == len(operations)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/deliveries?since=x", "since"),
        ("/api/exceptions?since=yesterday", "since"),
        ("/api/replenishments/open?as_of=2026-13-01T00:00:00Z", "as_of"),
        ("/api/flows?as_of=2026-01-01T00:00:00", "as_of"),  # no offset: ambiguous
        ("/api/flows?as_of=0174-11-19T17:11:18Z", "as_of"),  # before the store's range
        ("/api/transactions/" + "c" * 300, "correlation_id"),
    ],
)
def test_bad_parameters_are_422_in_the_documented_shape(
    fuzzed: Server, path: str, name: str
) -> None:
    status, body = fuzzed.request("GET", path, token=ADMIN_TOKEN)
    assert status == 422, body
    (error,) = body["detail"]
    assert error["loc"][-1] == name and error["msg"] and error["type"]


def test_evaluate_with_a_bad_instant_is_422_in_the_documented_shape(fuzzed: Server) -> None:
    status, body = fuzzed.request("POST", "/api/rules/evaluate?as_of=noon", token=ADMIN_TOKEN)
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "as_of"]
    assert "RFC 3339" in body["detail"][0]["msg"]
