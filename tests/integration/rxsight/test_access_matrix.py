"""Every operation of the OpenAPI document, asked by every kind of caller: no credentials,
a wrong token, an ingest token, a viewer, an operator scoped to accounts-payable, an
operator, an admin (token and console session). Expected answers come from the policy
below; an operation it does not classify fails the test, so a new door is decided on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.rxsight.conftest import (
    ADMIN_TOKEN,
    AP,
    INGEST_TOKEN,
    PHARMACY,
    Guarded,
    sign_in,
)

# What each operation needs. Reads under /api need a viewer unless listed; anything else
# unlisted fails the test.
PUBLIC, INGEST, VIEWER, ADMIN = "public", "ingest", "viewer", "admin"
EVERY_OWNER = "operator without owner scope"  # changes things of every owner
OWNED = "operator, within owner scope"  # scoped operators: their owner's resources only
# Operators, scoped or not, at the door; each selected item is then decided on its own
# (a refused one is a result in the answer, not a refusal of the request).
EACH_ITEM = "operator; each item decided on its own"
POLICY = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/v1/traces"): INGEST,
    ("POST", "/v1/logs"): INGEST,
    ("POST", "/v1/events"): INGEST,
    ("GET", "/api/audit"): ADMIN,
    ("GET", "/api/audit/verify"): ADMIN,
    ("GET", "/api/exceptions/{exception_id}/audit"): ADMIN,
    ("POST", "/api/rules/evaluate"): VIEWER,  # persist=false; persist=true below
    ("POST", "/api/alerts/routes/test"): VIEWER,  # a question about the tree, no change
    ("POST", "/api/alerts/reload"): ADMIN,
    ("PUT", "/api/masterdata/{kind}"): ADMIN,  # a crosswalk load changes every rule's matching
    ("POST", "/api/alerts/test"): OWNED,
    ("POST", "/api/silences"): OWNED,
    ("PUT", "/api/silences/{silence_id}"): OWNED,
    ("DELETE", "/api/silences/{silence_id}"): OWNED,
    ("POST", "/api/dead-letters/{notification_id}/replay"): OWNED,
    ("POST", "/api/exceptions/bulk"): EACH_ITEM,
    **{("POST", f"/api/exceptions/{{exception_id}}/{a}"): OWNED for a in
       ("ack", "assign", "comment", "resolve", "reopen")},
}  # fmt: skip
CALLERS = (
    "no credentials",
    "wrong token",
    "ingest token",
    "viewer",
    "scoped operator",
    "operator",
    "admin token",
    "admin session",
)
SESSION_USERS = {
    "viewer": "vera",
    "scoped operator": "fin",
    "operator": "otto",
    "admin session": "ada",
}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/traces"): {"resourceSpans": []},
    ("POST", "/v1/logs"): {"resourceLogs": []},
    ("POST", "/v1/events"): [],
    ("PUT", "/api/silences/{silence_id}"): {"comment": "changed by the access matrix"},
    ("POST", "/api/alerts/routes/test"): {"labels": {"owner": AP}},
    ("POST", "/api/exceptions/{exception_id}/assign"): {"assignee": "otto"},
    ("POST", "/api/exceptions/bulk"): {"exception_ids": ["none-such"], "action": "ack"},
    ("POST", "/api/exceptions/{exception_id}/comment"): {"comment": "seen"},
    ("POST", "/api/exceptions/{exception_id}/resolve"): {"comment": "done"},
}
QUERY = {"q": "PO-1", "from": "2026-11-01T00:00:00Z"}


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    path: str
    needs: str
    owner: str | None  # the owner of the resource, for OWNED operations
    body: Any
    params: dict[str, str]

    def __str__(self) -> str:
        extra = f" [{self.owner}]" if self.owner else ""
        return f"{self.method} {self.path}{'?' + str(self.params) if self.params else ''}{extra}"


def expected(call: Call, caller: str) -> str:
    """ "allowed", or the refusal the caller must get: "401" or "403"."""
    needs = call.needs
    if needs == PUBLIC:
        return "allowed"
    if caller in ("no credentials", "wrong token"):
        return "401"
    if needs == INGEST:
        # Bearer tokens of ingest or admin role; a console session does not ingest.
        return "allowed" if caller in ("ingest token", "admin token") else "401"
    if caller == "ingest token":
        return "403"
    rank = {"viewer": 0, "scoped operator": 1, "operator": 1, "admin token": 2, "admin session": 2}
    if needs == VIEWER:
        return "allowed"
    if needs == ADMIN:
        return "allowed" if rank[caller] == 2 else "403"
    if rank[caller] < 1:
        return "403"
    if needs == EACH_ITEM:
        return "allowed"
    if caller == "scoped operator" and (needs == EVERY_OWNER or call.owner != AP):
        return "403"
    return "allowed"


def _calls(doc: dict[str, Any], ids: dict[str, dict[str, str]]) -> list[Call]:
    calls = []
    for template, operations in doc["paths"].items():
        for method, op in operations.items():
            key = (method.upper(), template)
            needs = POLICY.get(key) or (
                VIEWER if key[0] == "GET" and template.startswith("/api/") else None
            )
            assert needs, f"{key}: not in the access policy; decide who may call it"
            params = {
                p["name"]: QUERY[p["name"]]
                for p in op.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            }
            body = BODIES.get(key, {} if method in ("post", "put") else None)
            variants: list[str | None] = [None]
            if needs == OWNED or "{" in template:
                variants = [PHARMACY, AP]
            for owner in variants:
                path = template
                for name, by_owner in ids.items():
                    path = path.replace("{" + name + "}", by_owner[owner or AP])
                b = body
                if key == ("POST", "/api/silences"):
                    b = {"matchers": [f'owner="{owner}"', 'family="none"'], "comment": "m",
                         "endsAt": "2999-01-01T00:00:00Z"}  # fmt: skip
                if key == ("POST", "/api/alerts/test"):
                    b = {"receiver": f"{owner}-team"}
                calls.append(Call(key[0], template, path, needs, owner, b, params))
                if key == ("POST", "/api/rules/evaluate"):
                    calls.append(
                        Call(key[0], template, path, EVERY_OWNER, None, b, {"persist": "true"})
                    )
                    break
    return calls


@pytest.fixture(scope="module")
def clients(guarded: Guarded) -> Iterator[dict[str, httpx.Client]]:
    out = {name: sign_in(guarded.url, user) for name, user in SESSION_USERS.items()}
    headers = {
        "no credentials": {},
        "wrong token": {"Authorization": "Bearer not-a-token-of-this-server"},
        "ingest token": {"Authorization": f"Bearer {INGEST_TOKEN}"},
        "admin token": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    }
    for name, h in headers.items():
        out[name] = httpx.Client(base_url=guarded.url, headers=h, timeout=60)
    try:
        yield out
    finally:
        for client in out.values():
            client.close()


def test_every_operation_for_every_caller(
    guarded: Guarded, clients: dict[str, httpx.Client]
) -> None:
    ids = {
        "exception_id": {o: guarded.open_exception(o) for o in (PHARMACY, AP)},
        "silence_id": {o: guarded.silence(o) for o in (PHARMACY, AP)},
        "notification_id": {o: guarded.dead_letter(o) for o in (PHARMACY, AP)},
        "correlation_id": {o: "c-matrix" for o in (PHARMACY, AP)},
        "kind": {o: "items" for o in (PHARMACY, AP)},
        "canonical_id": {o: "NDC-MATRIX" for o in (PHARMACY, AP)},
    }
    # An entity to read the history of.
    loaded = clients["admin token"].put(
        "/api/masterdata/items",
        content=b"id,name\nNDC-MATRIX,Matrix vial\n",
        headers={"content-type": "text/csv"},
    )
    assert loaded.status_code == 200, loaded.text
    doc = httpx.get(f"{guarded.url}/openapi.json").json()
    calls = _calls(doc, ids)
    wrong = []
    tried = 0
    for call in calls:
        for caller in CALLERS:
            answer = clients[caller].request(
                call.method, call.path, params=call.params, json=call.body
            )
            tried += 1
            want = expected(call, caller)
            got = answer.status_code
            ok = got in (401, 403) and want == str(got) or (
                want == "allowed" and got not in (401, 403) and got < 500
                and (got == 200 or call.method != "GET")
            )  # fmt: skip
            if not ok:
                wrong.append(f"{call} as {caller}: {got} (expected {want}) {answer.text[:160]}")
    operations = len({(c.method, c.template) for c in calls})
    print(f"\naccess matrix: {operations} operations, {len(calls)} calls x {len(CALLERS)} "
          f"callers = {tried} requests, {len(wrong)} wrong")  # fmt: skip
    assert not wrong, "\n".join(wrong)
