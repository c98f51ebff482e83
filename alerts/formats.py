"""What a notification says, per target format: Alertmanager webhook v4, rxsight JSON, Slack
and Microsoft Teams incoming-webhook messages, e-mail. Texts come from templates/ (Jinja2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import orjson

from alerts.alert import Alert
from alerts.config import Receiver
from alerts.outbox import Notification
from rxsight.timeutil import rfc3339, utcnow

# Alertmanager writes this for alerts that have not ended.
ZERO_TIME = "0001-01-01T00:00:00Z"
TEMPLATES = Path(__file__).resolve().parent / "templates"
# Slack Block Kit limits (api.slack.com/reference/block-kit/blocks): header text 150
# characters, section text 3000.
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def render_template(name: str, **context: Any) -> str:
    return _env().get_template(name).render(**context).strip()


def _common(dicts: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not dicts:
        return {}
    first = dict(dicts[0])
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}


def alertmanager_body(
    *,
    receiver: str,
    group_key: str,
    group_labels: Mapping[str, str],
    alerts: Sequence[Alert],
    external_url: str,
    max_alerts: int = 0,
) -> dict[str, Any]:
    """Alertmanager's webhook payload, version 4, field for field."""
    status = "firing" if any(a.firing for a in alerts) else "resolved"
    sent = list(alerts) if not max_alerts else list(alerts)[:max_alerts]
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": len(alerts) - len(sent),
        "status": status,
        "receiver": receiver,
        "groupLabels": dict(group_labels),
        "commonLabels": _common([a.labels for a in alerts]),
        "commonAnnotations": _common([a.annotations for a in alerts]),
        "externalURL": external_url,
        "alerts": [
            {
                "status": "firing" if a.firing else "resolved",
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": rfc3339(a.starts_at),
                "endsAt": rfc3339(a.ends_at) if a.ends_at else ZERO_TIME,
                "generatorURL": a.console_url,
                "fingerprint": a.fingerprint,
            }
            for a in sent
        ],
    }


def rxsight_body(
    *,
    notification_id: str,
    receiver: str,
    group_key: str,
    group_labels: Mapping[str, str],
    alerts: Sequence[Alert],
    external_url: str,
    escalation: bool,
    max_alerts: int = 0,
) -> dict[str, Any]:
    """rxsight's own JSON: one entry per exception, each with its console link."""
    status = "firing" if any(a.firing for a in alerts) else "resolved"
    sent = list(alerts) if not max_alerts else list(alerts)[:max_alerts]
    return {
        "type": "rxsight.alerts",
        "version": "1",
        "id": notification_id,
        "status": status,
        "escalation": escalation,
        "receiver": receiver,
        "group_key": group_key,
        "group_labels": dict(group_labels),
        "console_url": external_url,
        "sent_at": rfc3339(utcnow()),
        "truncated": len(alerts) - len(sent),
        "alerts": [
            {
                "status": "firing" if a.firing else "resolved",
                "exception_id": a.exception_id,
                "fingerprint": a.fingerprint,
                "family": a.labels.get("family"),
                "reason": a.labels.get("reason"),
                "severity": a.labels.get("severity"),
                "owner": a.labels.get("owner"),
                "site": a.labels.get("site"),
                "summary": a.annotations.get("summary", ""),
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "starts_at": rfc3339(a.starts_at),
                "ends_at": rfc3339(a.ends_at),
                "acknowledged": a.acknowledged,
                "console_url": a.console_url,
            }
            for a in sent
        ],
    }


def dumps(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body)


@dataclass(frozen=True)
class Message:
    """Everything a format needs about one group flush for one receiver."""

    notification_id: str
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: Sequence[Alert]
    external_url: str
    escalation: bool = False
    max_alerts: int = 0

    @property
    def sent(self) -> list[Alert]:
        return list(self.alerts) if not self.max_alerts else list(self.alerts)[: self.max_alerts]

    def context(self) -> dict[str, Any]:
        firing = sum(1 for a in self.alerts if a.firing)
        return {
            "status": "firing" if firing else "resolved",
            "firing": firing,
            "escalation": self.escalation,
            "receiver": self.receiver,
            "group_key": self.group_key,
            "group_labels": dict(self.group_labels),
            "alerts": self.sent,
            "truncated": len(self.alerts) - len(self.sent),
            "external_url": self.external_url,
        }


def _lines(template: str, msg: Message, limit: int) -> str:
    lines = [render_template(template, a=a) for a in msg.sent]
    text, shown = "", 0
    for line in lines:
        if len(text) + len(line) + 40 > limit:
            break
        text += line + "\n"
        shown += 1
    if shown < len(msg.alerts):
        text += f"… and {len(msg.alerts) - shown} more"
    return text.strip()


def slack_body(msg: Message) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (the notification fallback) and Block Kit
    blocks (header, the alerts as mrkdwn, a context line with the console link)."""
    title = render_template("title.txt.j2", **msg.context())
    return {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:SLACK_HEADER_MAX]}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _lines("slack_alert.txt.j2", msg, 2900)},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"<{msg.external_url}|rxsight> · receiver {msg.receiver}",
                    }
                ],
            },
        ],
    }


def teams_body(msg: Message) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook message carrying one Adaptive Card."""
    title = render_template("title.txt.j2", **msg.context())
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": _lines("teams_alert.txt.j2", msg, 20000), "wrap": True},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open rxsight", "url": msg.external_url}],
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


def email_body(msg: Message) -> dict[str, Any]:
    """Subject, plain text and HTML; the e-mail notifier turns them into a MIME message."""
    ctx = msg.context()
    return {
        "subject": render_template("email_subject.txt.j2", **ctx),
        "text": render_template("email.txt.j2", **ctx) + "\n",
        "html": render_template("email.html.j2", **ctx) + "\n",
    }


def render(fmt: str, msg: Message) -> bytes:
    """The stored body of one notification in a target's format."""
    common = {
        "receiver": msg.receiver,
        "group_key": msg.group_key,
        "group_labels": msg.group_labels,
        "alerts": msg.alerts,
        "external_url": msg.external_url,
        "max_alerts": msg.max_alerts,
    }
    if fmt == "alertmanager":
        return dumps(alertmanager_body(**common))
    if fmt == "rxsight":
        return dumps(
            rxsight_body(notification_id=msg.notification_id, escalation=msg.escalation, **common)
        )
    if fmt == "slack":
        return dumps(slack_body(msg))
    if fmt == "teams":
        return dumps(teams_body(msg))
    if fmt == "email":
        return dumps(email_body(msg))
    raise ValueError(f"unknown format {fmt!r}")


def notifications_for(
    receiver: Receiver,
    *,
    group_key: str,
    group_labels: Mapping[str, str],
    alerts: Sequence[Alert],
    external_url: str,
    escalation: bool,
    firing: Sequence[str],
    resolved: Sequence[str],
    now: datetime,
) -> list[Notification]:
    """One notification per target of the receiver, its body frozen in the target's format."""
    out = []
    for index, target in enumerate(receiver.targets()):
        nid = Notification.new_id()
        msg = Message(
            notification_id=nid,
            receiver=receiver.name,
            group_key=group_key,
            group_labels=group_labels,
            alerts=alerts,
            external_url=external_url,
            escalation=escalation,
            max_alerts=target.max_alerts,
        )
        out.append(
            Notification(
                notification_id=nid,
                receiver=receiver.name,
                target_url=target.target_id,
                target_index=index,
                format=target.format,
                group_key=group_key,
                alert_status="firing" if firing else "resolved",
                firing=tuple(sorted(firing)),
                resolved=tuple(sorted(resolved)),
                body=render(target.format, msg),
                created_at=now,
                next_attempt_at=now,
            )
        )
    return out
