"""`POST /api/alerts/routes/test` and `rxsight alerts routes test` against a live server that
runs an Alertmanager routing tree pasted in, compared with what amtool 0.25 recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import REPO, Server

AM = REPO / "tests" / "unit" / "alerts" / "am025"
TOKEN = "routes-test-admin-token-0123"


def _alerts_section() -> dict:
    doc = yaml.safe_load((AM / "alertmanager.yml").read_text())
    receivers = [
        {"name": r["name"], "secret": "s", "webhooks": [{"url": "http://127.0.0.1:9/hook"}]}
        for r in doc["receivers"]
    ]
    return {"route": doc["route"], "receivers": receivers}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server({"alerts": _alerts_section()}, admin_token=TOKEN).start()
    try:
        yield srv
    finally:
        srv.cleanup()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rxsight.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_api_gives_alertmanagers_receivers_and_group_keys(server: Server) -> None:
    cases = json.loads((AM / "routes.json").read_text())["cases"]
    differ = []
    for case in cases:
        status, body = server.request("POST", "/api/alerts/routes/test", {"labels": case["labels"]})
        assert status == 200, body
        if body["receivers"] != case["receivers"]:
            differ.append((case, body))
    print(
        f"\nPOST /api/alerts/routes/test: {len(cases) - len(differ)}/{len(cases)} equal to amtool"
    )
    assert not differ
    status, body = server.request(
        "POST",
        "/api/alerts/routes/test",
        {"labels": {"severity": "critical", "reason": "LATE", "family": "sla_breach"}},
    )
    assert [(r["receiver"], r["groupKey"]) for r in body["routes"]] == [
        ("on-call", '{}/{severity="critical"}:{}'),
        ("late", '{}/{reason=~"(?i)late.*"}:{family="sla_breach"}'),
        ("other-domain", '{}/{domain!~"finance|supply"}:{family="sla_breach"}'),
    ]
    status, body = server.request("POST", "/api/alerts/routes/test", {"labels": {"a-b": "x"}})
    assert status == 422 and "'a-b' is not a label name" in body["detail"][0]["msg"]
    assert body["detail"][0]["loc"][:3] == ["body", "labels", "a-b"]
    status, _ = server.request("POST", "/api/alerts/routes/test", {"labels": {}}, token=None)
    assert status == 401


def test_cli_routes_test_from_the_config_and_from_the_server(server: Server) -> None:
    labels = ["severity=critical", 'reason="LATE"', "family=sla_breach"]
    assert server.config_path is not None
    local = _cli("alerts", "routes", "test", "--config", str(server.config_path), *labels)
    assert local.returncode == 0, local.stderr
    assert local.stdout.strip() == "on-call,late,other-domain"
    remote = _cli(
        "alerts", "routes", "test", "--url", server.url, "--token", TOKEN, "--group-keys", *labels
    )
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.splitlines()[1] == 'late\t{}/{reason=~"(?i)late.*"}:{family="sla_breach"}'
    verify = _cli(
        "alerts",
        "routes",
        "test",
        "--config",
        str(server.config_path),
        "--verify-receivers",
        "on-call",
        *labels,
    )
    assert verify.returncode == 1 and "expected receivers ['on-call']" in verify.stderr


def test_cli_says_what_went_wrong(server: Server, tmp_path: Path) -> None:
    wrong = _cli("alerts", "routes", "test", "--url", server.url, "--token", "nope", "a=b")
    assert wrong.returncode == 2
    assert "401: the token was refused" in wrong.stderr and "Traceback" not in wrong.stderr
    down = _cli("rules", "evaluate", "--url", "http://127.0.0.1:9", "--token", TOKEN)
    assert down.returncode == 2 and "cannot connect to rxsight at http://127.0.0.1:9" in down.stderr
    bad = _cli("alerts", "routes", "test", "--url", server.url, "--token", TOKEN, 'site="x')
    assert bad.returncode == 2 and "unescaped double quote" in bad.stderr
