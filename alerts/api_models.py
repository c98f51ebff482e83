"""The answers of the alerts stage's API (alerts/api.py) in the OpenAPI document; names
and shapes follow Alertmanager's API where it has the same thing (alerts, silences)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rxsight.openapi import ApiModel, ApiRow, Instant, Number


class AlertStatus(ApiModel):
    state: str = Field(description="firing, suppressed or resolved")
    silencedBy: list[str]
    inhibitedBy: list[str]


class Alert(ApiRow):
    fingerprint: str
    exception_id: str
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: Instant | None
    endsAt: Instant | None
    updatedAt: Instant | None
    acknowledged: bool
    consoleURL: str
    receivers: list[str]
    escalated: bool
    status: AlertStatus


class Alerts(ApiModel):
    alerts: list[Alert]
    count: int


class WebhookTarget(ApiModel):
    url: str
    format: str


class EmailTarget(ApiModel):
    to: list[str]
    smarthost: str


class ReceiverInfo(ApiModel):
    name: str
    owner: str | None
    webhooks: list[WebhookTarget]
    email: list[EmailTarget]


class AlertsConfigView(ApiModel):
    receivers: list[ReceiverInfo]
    route: dict[str, Any] | None = Field(
        description="the routing tree as configured (Alertmanager's route, defaults left out)"
    )
    inhibit_rules: list[dict[str, Any]]
    last_reload_error: list[str] | None
    dispatcher_error: str | None


class ReloadAnswer(ApiModel):
    status: str
    problems: list[str] | None = None


class TestSent(ApiModel):
    receiver: str
    notification_ids: list[str]


class RouteMatch(ApiModel):
    receiver: str
    groupKey: str
    groupLabels: dict[str, str]
    route: str = Field(description="the route's position in the tree")


class RoutesTestAnswer(ApiModel):
    receivers: list[str] = Field(description="in order, as amtool's `config routes test`")
    routes: list[RouteMatch]


class Matcher(ApiModel):
    name: str
    value: str
    isRegex: bool
    isEqual: bool


class SilenceState(ApiModel):
    state: str = Field(description="pending, active or expired")


class Silence(ApiModel):
    id: str
    matchers: list[Matcher]
    startsAt: Instant
    endsAt: Instant
    createdBy: str
    comment: str
    updatedAt: Instant
    updatedBy: str
    status: SilenceState


class Attempt(ApiRow):
    attempt: int
    at: Instant
    status_code: int | None
    latency_ms: Number
    outcome: str
    error: str | None


class Delivery(ApiRow):
    id: str
    webhook_id: str
    status: str = Field(description="pending, delivered or dead")
    receiver: str
    target: str
    format: str
    group_key: str
    alert_status: str
    firing: list[str]
    resolved: list[str]
    created_at: Instant
    updated_at: Instant
    attempts: int
    next_attempt_at: Instant | None
    last_error: str | None
    history: list[Attempt]


class Deliveries(ApiModel):
    deliveries: list[Delivery]
    count: int


class DeadLetters(ApiModel):
    dead_letters: list[Delivery]
    count: int


class Replayed(ApiModel):
    id: str
    status: str
    receiver: str
