"""A rule run's log lines name the rule and the request that ran it (DESIGN 10)."""

from __future__ import annotations

import json

import yaml

from tests.support import Server

TOKEN = "rule-logs-admin-token-0123456789"


def test_a_failing_rules_warning_carries_its_rule_and_request_ids() -> None:
    server = Server({"rules": {"interval_s": 3600, "custom": ["custom"]}}, admin_token=TOKEN)
    (server.data_dir / "custom").mkdir()
    broken = {"id": "broken_rule", "sql": "SELECT 'x' AS reason FROM no_such_table_anywhere"}
    (server.data_dir / "custom" / "broken.yaml").write_text(yaml.safe_dump(broken))
    try:
        server.start()
        status, body = server.request(
            "POST",
            "/api/rules/evaluate?persist=false",
            {},
            headers={"X-Request-ID": "req-rule-logs-1"},
        )
        assert status == 200 and [e["rule_id"] for e in body["errors"]] == ["broken_rule"]

        def warning() -> dict | None:
            for line in server.log().splitlines():
                if line.startswith("{") and "rule broken_rule failed" in line:
                    return json.loads(line)
            return None

        line = server.wait_for(warning, timeout=10)
        assert line["rule_id"] == "broken_rule" and line["request_id"] == "req-rule-logs-1"
    finally:
        server.cleanup()
