"""Every change of a scripted working day has its audit entry, in order, and nothing else
does (issue 17 item 8); the entries are for admins only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration.rxsight.conftest import AP, PHARMACY, Guarded, sign_in, signed_in


def _entries_after(guarded: Guarded, seq: int) -> list[dict[str, Any]]:
    status, body = guarded.admin("GET", "/api/audit?limit=1000")
    assert status == 200
    return sorted((e for e in body["items"] if e["seq"] > seq), key=lambda e: e["seq"])


def test_a_scripted_day_leaves_one_entry_per_change(guarded: Guarded) -> None:
    mine, dead = guarded.open_exception(AP), guarded.dead_letter(PHARMACY)
    head = guarded.admin("GET", "/api/audit/verify")[1]["head"]["seq"]
    expected: list[tuple[str, str, str, str]] = []

    otto = sign_in(guarded.url, "otto")
    expected.append(("otto", "session.sign_in", "session", "otto"))
    with httpx.Client(base_url=guarded.url) as stranger:
        form = stranger.get("/login").text
        token = form.split('name="login_token" value="')[1].split('"')[0]
        stranger.post("/login", data={"username": "vera", "password": "nope", "login_token": token})
    expected.append(("vera", "session.sign_in_failed", "session", "vera"))
    with signed_in(guarded.url, "fin") as fin:
        expected.append(("fin", "session.sign_in", "session", "fin"))
        for action, body in (
            ("ack", {}),
            ("assign", {"assignee": "fin"}),
            ("comment", {"comment": "calling the supplier"}),
            ("resolve", {"comment": "credit note received"}),
            ("reopen", {"comment": "the credit note was for another invoice"}),
        ):
            assert fin.post(f"/api/exceptions/{mine}/{action}", json=body).status_code == 200
            expected.append(("fin", f"exception.{action}", "exception", mine))
    ends = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    made = otto.post(
        "/api/silences",
        json={"matchers": ['site="lakeside"'], "endsAt": ends, "comment": "planned downtime"},
    ).json()
    assert otto.put(f"/api/silences/{made['id']}", json={"comment": "longer"}).status_code == 200
    assert otto.delete(f"/api/silences/{made['id']}").status_code == 200
    expected += [("otto", verb, "silence", made["id"]) for verb in ("create", "update", "expire")]
    assert otto.post(f"/api/dead-letters/{dead}/replay").status_code == 202
    expected.append(("otto", "replay", "alert_notification", dead))
    test = otto.post("/api/alerts/test", json={"receiver": f"{AP}-team"})
    assert test.status_code == 202
    expected.append(("otto", "test_alert", "alert_receiver", f"{AP}-team"))
    assert otto.post("/api/rules/evaluate?persist=true").status_code == 200
    expected.append(("otto", "rules.evaluate_persist", "rules", "evaluate"))
    assert guarded.admin("POST", "/api/alerts/reload")[0] == 200
    expected.append(("admin-token", "reload", "alerts_config", "alerts"))
    # Someone edits the configuration file: the file watch reloads it, and says so.
    path = guarded.server.config_path
    assert path is not None
    path.write_text(path.read_text() + "\n# edited\n")
    guarded.server.wait_for(
        lambda: any(e["actor"] == "config-file-watch" for e in _entries_after(guarded, head)),
        timeout=20,
        interval=0.5,
    )
    expected.append(("config-file-watch", "reload", "alerts_config", "alerts"))
    assert otto.post("/logout", data={"csrf_token": otto.headers["X-CSRF-Token"]}).is_redirect
    expected.append(("otto", "session.sign_out", "session", "otto"))
    otto.close()

    got = [
        (e["actor"], e["action"], e["object_type"], e["object_id"])
        for e in _entries_after(guarded, head)
    ]
    assert got == expected
    print(f"\naudit completeness: {len(expected)} changes scripted, {len(got)} entries, "
          f"{sum(a != b for a, b in zip(got, expected, strict=False))} wrong")  # fmt: skip
    verified = guarded.admin("GET", "/api/audit/verify")[1]
    assert verified["intact"] and verified["head"]["seq"] == head + len(expected)


def test_exception_audit_entries_are_for_admins(guarded: Guarded) -> None:
    mine = guarded.open_exception(AP)
    theirs = guarded.open_exception(PHARMACY)
    with signed_in(guarded.url, "otto") as otto:
        assert otto.post(f"/api/exceptions/{theirs}/ack", json={}).status_code == 200
        assert otto.get(f"/api/exceptions/{theirs}/audit").status_code == 403
    with signed_in(guarded.url, "vera") as vera:
        refused = vera.get(f"/api/exceptions/{mine}/audit")
        page = vera.get(f"/exceptions/{theirs}")
    assert refused.status_code == 403 and "needs the admin role" in refused.json()["detail"]
    assert 'id="exception-audit"' not in page.text  # the console shows them to admins only
    with signed_in(guarded.url, "ada") as ada:
        items = ada.get(f"/api/exceptions/{theirs}/audit").json()["items"]
        page = ada.get(f"/exceptions/{theirs}")
    assert [(i["actor"], i["action"]) for i in items] == [("otto", "exception.ack")]
    assert items[0]["detail"]["from"] == "open" and 'id="exception-audit"' in page.text
