"""The one authorization decision, action by action, for each kind of principal."""

from __future__ import annotations

import pytest

from rxsight.authz import Action, Principal, Resource, authorize

VIEWER = Principal("vera", "viewer", "session")
SCOPED = Principal("fin", "operator", "session", owner="accounts-payable")
OPERATOR = Principal("otto", "operator", "session")
ADMIN = Principal("admin-token", "admin", "token")
INGEST = Principal("erp", "ingest", "token")
MINE = Resource.exception("unmatched_invoice:S/1", "accounts-payable")
THEIRS = Resource.exception("open_replenishment:c1", "pharmacy")
AP_SILENCE = Resource.silence("s", frozenset({"accounts-payable"}))


@pytest.mark.parametrize(
    ("principal", "action", "resource", "status"),
    [
        (None, Action.READ, Resource("any"), 401),
        (INGEST, Action.READ, Resource("any"), 403),
        (VIEWER, Action.READ, Resource("any"), 200),
        (VIEWER, Action.EXCEPTION_ACT, MINE, 403),
        (SCOPED, Action.EXCEPTION_ACT, MINE, 200),
        (SCOPED, Action.EXCEPTION_ACT, THEIRS, 403),
        (SCOPED, Action.EXCEPTION_ACT, Resource.exception("x", None), 403),
        (OPERATOR, Action.EXCEPTION_ACT, THEIRS, 200),
        (SCOPED, Action.SILENCE_CREATE, Resource.silence("", frozenset()), 403),
        (SCOPED, Action.SILENCE_CREATE, Resource.silence("", frozenset({"pharmacy"})), 403),
        (
            SCOPED,
            Action.SILENCE_EXPIRE,
            Resource.silence("s", frozenset({"accounts-payable"})),
            200,
        ),
        (SCOPED, Action.DEAD_LETTER_REPLAY, Resource.receiver("ap", "accounts-payable"), 200),
        (SCOPED, Action.TEST_ALERT, Resource.receiver("ph", "pharmacy"), 403),
        (SCOPED, Action.RULES_PERSIST, Resource("any"), 403),
        (OPERATOR, Action.RULES_PERSIST, Resource("any"), 200),
        (OPERATOR, Action.CONFIG_RELOAD, Resource("any"), 403),
        (OPERATOR, Action.READ_AUDIT, Resource("any"), 403),
        (ADMIN, Action.READ_AUDIT, Resource("any"), 200),
        (Principal.command_line(), Action.READ_AUDIT, Resource("any"), 200),
    ],
)
def test_decisions(principal, action, resource, status) -> None:
    decision = authorize(principal, action, resource)
    assert (decision.allowed, decision.status) == (status == 200, status), decision.reason
    assert bool(decision.reason) == (status != 200)


def test_reasons_say_what_would_be_allowed() -> None:
    assert authorize(SCOPED, Action.EXCEPTION_ACT, THEIRS).reason == (
        "this exception belongs to pharmacy; you can act only on accounts-payable's exceptions"
    )
    assert (
        'owner="accounts-payable"'
        in authorize(SCOPED, Action.SILENCE_UPDATE, Resource.silence("s", frozenset())).reason
    )
    assert (
        authorize(VIEWER, Action.OPERATE).reason == "this needs the operator role; you are viewer"
    )
