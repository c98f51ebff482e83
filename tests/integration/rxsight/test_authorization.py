"""Owner scope on every door (issue 17 item 1): an operator limited to accounts-payable acts
on accounts-payable's exceptions, silences and dead letters only, through the API, the
console's forms and the API the CLI uses; createdBy is whoever is signed in."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest

from tests.integration.rxsight.conftest import AP, PHARMACY, Guarded, signed_in

ACTIONS = {
    "ack": {},
    "assign": {"assignee": "otto"},
    "comment": {"comment": "looked at it"},
    "resolve": {"comment": "sorted out"},
    "reopen": {},
}


def _flash(response: httpx.Response) -> dict[str, str]:
    """The message the console shows after a form's redirect (a short-lived cookie)."""
    return json.loads(base64.urlsafe_b64decode(response.cookies["rxsight_flash"]))


def _silence_body(*matchers: str) -> dict[str, object]:
    return {
        "matchers": list(matchers),
        "endsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "comment": "test",
    }


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_scoped_operator_cannot_act_on_another_owners_exception_by_api(
    guarded: Guarded, action: str
) -> None:
    pharmacy = guarded.open_exception(PHARMACY)
    if action == "reopen":
        assert guarded.admin("POST", f"/api/exceptions/{pharmacy}/resolve", {"comment": "x"})[0]
    before = guarded.admin("GET", f"/api/exceptions/{pharmacy}")[1]
    with signed_in(guarded.url, "fin") as fin:
        answer = fin.post(f"/api/exceptions/{pharmacy}/{action}", json=ACTIONS[action])
    assert answer.status_code == 403, answer.text
    assert "belongs to pharmacy" in answer.json()["detail"]
    after = guarded.admin("GET", f"/api/exceptions/{pharmacy}")[1]
    assert after["version"] == before["version"]  # nothing changed


def test_a_scoped_operator_acts_on_its_own_owners_exceptions(guarded: Guarded) -> None:
    mine = guarded.open_exception(AP)
    with signed_in(guarded.url, "fin") as fin:
        for action in ("ack", "assign", "comment", "resolve", "reopen"):
            answer = fin.post(f"/api/exceptions/{mine}/{action}", json=ACTIONS[action])
            assert answer.status_code == 200, (action, answer.text)
    history = guarded.admin("GET", f"/api/exceptions/{mine}")[1]["history"]
    assert [h["actor"] for h in history[-5:]] == ["fin"] * 5


def test_the_console_form_and_the_api_give_the_same_answer(guarded: Guarded) -> None:
    pharmacy = guarded.open_exception(PHARMACY)
    with signed_in(guarded.url, "fin") as fin:
        form = fin.post(
            f"/exceptions/{quote(pharmacy, safe='')}/actions",
            data={"action": "ack", "csrf_token": fin.headers["X-CSRF-Token"]},
        )
        api = fin.post(f"/api/exceptions/{pharmacy}/ack", json={})
        page = fin.get(f"/exceptions/{quote(pharmacy, safe='')}")
    assert (form.status_code, api.status_code) == (403, 403)
    reason = "this exception belongs to pharmacy; you can act only on accounts-payable"
    assert reason in api.json()["detail"]
    assert reason in form.text.lower() and reason in page.text.lower()


def test_a_scoped_operator_silences_only_its_own_alerts(guarded: Guarded) -> None:
    with signed_in(guarded.url, "fin") as fin:
        theirs = fin.post("/api/silences", json=_silence_body(f'owner="{PHARMACY}"'))
        unpinned = fin.post("/api/silences", json=_silence_body('family="unmatched_invoice"'))
        regex = fin.post("/api/silences", json=_silence_body(f'owner=~"{AP}|{PHARMACY}"'))
        mine = fin.post("/api/silences", json=_silence_body(f'owner="{AP}"'))
        via_form = fin.post(
            "/alerts/silences",
            data={
                "matchers": f'owner="{PHARMACY}"',
                "hours": "1",
                "comment": "form",
                "csrf_token": fin.headers["X-CSRF-Token"],
            },
        )
        other_silence = guarded.silence(PHARMACY)
        expire_theirs = fin.delete(f"/api/silences/{other_silence}")
        widen = fin.put(f"/api/silences/{mine.json()['id']}", json={"matchers": ['site="x"']})
        expire_mine = fin.delete(f"/api/silences/{mine.json()['id']}")
    assert [theirs.status_code, unpinned.status_code, regex.status_code] == [403, 403, 403]
    assert 'with the matcher owner="accounts-payable"' in theirs.json()["detail"]
    assert mine.status_code == 201 and mine.json()["createdBy"] == "fin"
    assert via_form.status_code == 303
    assert "you can create only silences limited to your alerts" in _flash(via_form)["error"]
    assert expire_theirs.status_code == 403
    assert widen.status_code == 403
    assert expire_mine.status_code == 200
    silences = {s["id"]: s for s in guarded.admin("GET", "/api/silences")[1]}
    assert silences[other_silence]["status"]["state"] == "active"
    by_fin = [s for s in silences.values() if s["createdBy"] == "fin"]
    assert mine.json()["id"] in {s["id"] for s in by_fin}
    assert all({"name": "owner", "value": AP, "isRegex": False, "isEqual": True} in s["matchers"]
               for s in by_fin)  # fmt: skip


def test_created_by_is_the_signed_in_person(guarded: Guarded) -> None:
    with signed_in(guarded.url, "otto") as otto:
        forged = otto.post(
            "/api/silences", json={**_silence_body('site="x"'), "createdBy": "someone-else"}
        )
        own_name = otto.post(
            "/api/silences", json={**_silence_body('site="x"'), "createdBy": "otto"}
        )
    assert forged.status_code == 400 and forged.json()["detail"].startswith("createdBy:")
    assert own_name.status_code == 201 and own_name.json()["createdBy"] == "otto"


def test_dead_letters_and_test_alerts_follow_the_receivers_owner(guarded: Guarded) -> None:
    theirs, mine = guarded.dead_letter(PHARMACY), guarded.dead_letter(AP)
    with signed_in(guarded.url, "fin") as fin:
        replay_theirs = fin.post(f"/api/dead-letters/{theirs}/replay")
        replay_mine = fin.post(f"/api/dead-letters/{mine}/replay")
        test_theirs = fin.post("/api/alerts/test", json={"receiver": f"{PHARMACY}-team"})
        test_mine = fin.post("/api/alerts/test", json={"receiver": f"{AP}-team"})
    assert (replay_theirs.status_code, replay_mine.status_code) == (403, 202)
    assert "serves pharmacy" in replay_theirs.json()["detail"]
    assert (test_theirs.status_code, test_mine.status_code) == (403, 202)


def test_evaluating_with_persist_is_for_unscoped_operators(guarded: Guarded) -> None:
    with signed_in(guarded.url, "fin") as fin:
        scoped = fin.post("/api/rules/evaluate?persist=true")
        dry_run = fin.post("/api/rules/evaluate?persist=false")
    with signed_in(guarded.url, "otto") as otto:
        unscoped = otto.post("/api/rules/evaluate?persist=true")
    assert scoped.status_code == 403 and "every owner" in scoped.json()["detail"]
    assert dry_run.status_code == 200 and unscoped.status_code == 200
