"""E-mail, Slack and Teams channels through the real outbox: mail received by a real SMTP server
(aiosmtpd) that requires STARTTLS with a certificate made here; Slack and Teams bodies checked
against their documented shapes (Slack Block Kit; Teams incoming webhook with an Adaptive
Card, MicrosoftDocs/msteams-docs add-incoming-webhook.md)."""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from testkit.receiver import Receiver
from tests.integration.alerts.kit import Stage, config, exception_row
from tests.support import free_port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_Inbox, int, Path]]:
    certs = tmp_path_factory.mktemp("certs")
    key, cert = certs / "key.pem", certs / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = _Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def _check_slack(body: dict[str, Any]) -> None:
    """Slack incoming webhook: `text` plus Block Kit blocks (at most 50; header plain_text of
    at most 150 characters; section text of at most 3000; context of at most 10 elements)."""
    assert isinstance(body["text"], str) and body["text"]
    assert set(body) <= {"text", "blocks"}
    blocks = body["blocks"]
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "divider"}
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        if kind == "section":
            assert block["text"]["type"] in {"mrkdwn", "plain_text"}
            assert 1 <= len(block["text"]["text"]) <= 3000
        if kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(e["type"] in {"mrkdwn", "plain_text", "image"} for e in block["elements"])


def _check_teams(body: dict[str, Any]) -> None:
    """Teams incoming webhook: a message whose attachment is an Adaptive Card."""
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] in {"1.2", "1.3", "1.4", "1.5"}
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"] and all(e["type"] == "TextBlock" and e["text"] for e in card["body"])
    for action in card.get("actions", []):
        assert action["type"] == "Action.OpenUrl" and action["url"].startswith("http")


def test_mail_slack_and_teams_from_one_group(smtp, receiver: Receiver) -> None:
    inbox, port, cert = smtp
    cfg = config(
        {"ap": [{"url": receiver.url("/slack"), "format": "slack"}]},
        {"receiver": "ap", "group_by": ["family"]},
    )
    ap = cfg["receivers"][0]
    ap["webhooks"].append({"url": receiver.url("/teams"), "format": "teams"})
    ap["email"] = [
        {
            "to": ["ap-team@hospital.example"],
            "from": "rxsight@hospital.example",
            "smarthost": f"127.0.0.1:{port}",
            "ca_file": str(cert),
        }
    ]
    stage = Stage(cfg)
    try:
        stage.exceptions(exception_row("INV-M1", 1), exception_row("INV-M2", 1))
        slack = receiver.wait(1, "/slack")[0]
        teams = receiver.wait(1, "/teams")[0]
        stage.wait_for(lambda: inbox.messages)
    finally:
        stage.close()
    _check_slack(slack.json)
    _check_teams(teams.json)
    assert "INV-M1" in slack.json["blocks"][1]["text"]["text"]
    assert "[FIRING:2]" in slack.json["text"]
    # The same signing rules as every webhook.
    assert slack.headers["webhook-signature"].startswith("v1,")
    mail_from, rcpt, raw = inbox.messages[0]
    assert mail_from == "rxsight@hospital.example" and rcpt == ["ap-team@hospital.example"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"].startswith("[rxsight] [FIRING:2]")
    assert msg["Message-ID"].startswith("<msg_") and msg["Message-ID"].endswith("@rxsight>")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "INV-M1" in text and "INV-M2" in text and "http://console/exceptions/INV-M1" in html
    print(f"\nmail received: {msg['Subject']!r} to {rcpt}; slack and teams bodies valid")


def test_a_relay_without_a_trusted_certificate_is_not_sent_to(smtp, receiver: Receiver) -> None:
    inbox, port, _ = smtp
    before = len(inbox.messages)
    cfg = config({"ap": [receiver.url("/ap")]}, {"receiver": "ap"})
    cfg["receivers"][0]["email"] = [
        {
            "to": ["x@hospital.example"],
            "from": "r@hospital.example",
            "smarthost": f"127.0.0.1:{port}",
        }
    ]
    stage = Stage(cfg)
    try:
        stage.exceptions(exception_row("INV-T1", 1))
        rows = stage.wait_for(
            lambda: stage.store.query(
                "SELECT outcome, error FROM alert_delivery_attempts WHERE target_url LIKE 'smtp%'"
            )
        )
    finally:
        stage.close()
    assert rows[0]["outcome"] == "dead" and rows[0]["error"].startswith("TLS")
    assert len(inbox.messages) == before
