"""The `alerts:` configuration section: routing tree, receivers, inhibition, delivery."""

from __future__ import annotations

import base64
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from alerts.duration import Duration
from alerts.matchers import MatcherError, compile_anchored, parse_matchers
from rxsight.config import (
    ConfigError,
    Settings,
    Strict,
    config_source,
    format_validation_errors,
    read_section,
)


class WebhookTarget(Strict):
    url: str = Field(pattern=r"^https?://")
    # alertmanager: the Alertmanager webhook v4 body; rxsight: rxsight's JSON with console links;
    # slack / teams: a Slack or Microsoft Teams incoming-webhook message.
    format: Literal["alertmanager", "rxsight", "slack", "teams"] = "alertmanager"
    # Standard Webhooks secret: "whsec_<base64>" or any other string (used as raw bytes).
    secret: str | None = None
    headers: dict[str, str] = {}
    # Alertmanager's max_alerts: 0 sends every alert of the group.
    max_alerts: int = Field(default=0, ge=0)
    timeout: Duration = 10.0

    @model_validator(mode="after")
    def _secret_decodes(self) -> WebhookTarget:
        if self.secret and self.secret.startswith("whsec_"):
            try:
                base64.b64decode(self.secret[6:], validate=True)
            except ValueError as exc:
                raise ValueError("secret: whsec_ must be followed by base64") from exc
        return self

    @property
    def target_id(self) -> str:
        return self.url


class EmailTarget(Strict):
    """Mail through an SMTP relay (Alertmanager's email_configs, the common fields)."""

    # `from` is a Python keyword: the field is from_, the YAML key `from`.
    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)

    to: tuple[str, ...] = Field(min_length=1)
    from_: str = Field(alias="from", min_length=3)
    smarthost: str = Field(pattern=r"^[^\s:]+:\d+$", description="host:port of the relay")
    # STARTTLS before anything is sent; the relay's certificate is verified.
    require_tls: bool = True
    # A CA file to trust besides the system's (a relay with a private certificate).
    ca_file: str | None = None
    auth_username: str | None = None
    auth_password: str | None = None
    headers: dict[str, str] = {}
    max_alerts: int = Field(default=0, ge=0)
    timeout: Duration = 10.0
    format: Literal["email"] = "email"

    @property
    def target_id(self) -> str:
        return f"smtp://{self.smarthost}/{','.join(self.to)}"


class Receiver(Strict):
    name: str = Field(min_length=1)
    # The owner team this receiver serves (informational; routing decides who gets what).
    owner: str | None = None
    webhooks: tuple[WebhookTarget, ...] = ()
    email: tuple[EmailTarget, ...] = ()
    secret: str | None = None  # default for targets without their own

    def targets(self) -> tuple[WebhookTarget | EmailTarget, ...]:
        return (*self.webhooks, *self.email)

    @model_validator(mode="after")
    def _signed(self) -> Receiver:
        if not self.targets():
            raise ValueError("a receiver needs at least one of webhooks or email")
        # Every request is signed (Standard Webhooks), so every webhook target needs a secret.
        for i, hook in enumerate(self.webhooks):
            if not (hook.secret or self.secret):
                raise ValueError(f"webhooks.{i}: no secret (set secret here or on the receiver)")
        if self.secret and self.secret.startswith("whsec_"):
            try:
                base64.b64decode(self.secret[6:], validate=True)
            except ValueError as exc:
                raise ValueError("secret: whsec_ must be followed by base64") from exc
        return self


class Route(Strict):
    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)  # continue_

    receiver: str | None = None
    matchers: tuple[str, ...] = ()
    # Alertmanager's older forms, still common in existing configs.
    match: dict[str, str] = {}
    match_re: dict[str, str] = {}
    continue_: bool = Field(default=False, alias="continue")
    group_by: tuple[str, ...] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    escalate_after: Duration | None = None
    escalation_receiver: str | None = None
    routes: tuple[Route, ...] = ()

    @model_validator(mode="after")
    def _escalation_pair(self) -> Route:
        if self.escalate_after is not None and not self.escalation_receiver:
            raise ValueError("escalate_after needs an escalation_receiver")
        return self


class InhibitRule(Strict):
    source_matchers: tuple[str, ...] = Field(min_length=1)
    target_matchers: tuple[str, ...] = Field(min_length=1)
    equal: tuple[str, ...] = ()


class DeliveryConfig(Strict):
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_initial: Duration = 1.0
    backoff_max: Duration = 300.0
    # Concurrent deliveries, so one slow receiver does not hold up the others.
    workers: int = Field(default=4, ge=1, le=64)


class AlertsConfig(Strict):
    route: Route | None = None
    receivers: tuple[Receiver, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    delivery: DeliveryConfig = DeliveryConfig()
    # Several rxsight processes on one ClickHouse server: exactly one runs the dispatcher and
    # the outbox (like the rules scheduler); the others serve the API only.
    enabled: bool = True
    # Notifications and delivery attempts are kept this long (TTL).
    retention_days: int = Field(default=90, ge=1)
    # How often the dispatcher reads new exception changes and checks its timers.
    poll_interval: Duration = 0.25
    # Resolved alerts stay visible in /api/alerts this long.
    resolved_retention: Duration = 3600.0
    # Base URL for links when the top-level console_url is not set.
    external_url: str | None = None

    @model_validator(mode="after")
    def _references(self) -> AlertsConfig:
        names = [r.name for r in self.receivers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"receivers: duplicate receiver names {dupes}")
        if self.route is None:
            if self.receivers:
                raise ValueError("route: a routing tree is needed when receivers are defined")
            return self
        if not self.route.receiver:
            raise ValueError("route.receiver: the root route needs a receiver")
        if self.route.matchers or self.route.match or self.route.match_re:
            raise ValueError("route: the root route matches every alert; it takes no matchers")
        return self


def _route_problems(route: Route, path: str, known: set[str]) -> list[str]:
    out = []
    for field in ("receiver", "escalation_receiver"):
        name = getattr(route, field)
        if name and name not in known:
            out.append(f"{path}.{field}: unknown receiver {name!r} (known: {sorted(known)})")
    for i, text in enumerate(route.matchers):
        try:
            parse_matchers([text])
        except MatcherError as exc:
            out.append(f"{path}.matchers.{i}: {exc}")
    for name, pattern in route.match_re.items():
        try:
            compile_anchored(pattern)
        except MatcherError as exc:
            out.append(f"{path}.match_re.{name}: {exc}")
    for i, child in enumerate(route.routes):
        out += _route_problems(child, f"{path}.routes.{i}", known)
    return out


def _checked(cfg: AlertsConfig, source: str) -> AlertsConfig:
    """What the models alone cannot check: routes name known receivers, matchers parse."""
    known = {r.name for r in cfg.receivers}
    problems = _route_problems(cfg.route, "alerts.route", known) if cfg.route else []
    for i, rule in enumerate(cfg.inhibit_rules):
        for side in ("source_matchers", "target_matchers"):
            try:
                parse_matchers(getattr(rule, side))
            except MatcherError as exc:
                problems.append(f"alerts.inhibit_rules.{i}.{side}: {exc}")
    if problems:
        raise ConfigError(source, problems)
    return cfg


def validate(raw: Any, source: str) -> AlertsConfig:
    """A mapping as the section (the README's example), or ConfigError naming each path."""
    try:
        cfg = AlertsConfig.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(source, format_validation_errors(exc, "alerts")) from exc
    return _checked(cfg, source)


def from_settings(settings: Settings) -> AlertsConfig:
    """The section as a model, or ConfigError naming the file, each path and the reason."""
    cfg = read_section(settings, "alerts", AlertsConfig)
    return _checked(cfg, config_source(settings))


def reread(settings: Settings) -> AlertsConfig:
    """Read the alerts section again from the config file (a reload)."""
    cfg = read_section(settings, "alerts", AlertsConfig, reread=True)
    return _checked(cfg, config_source(settings))


def check_config(settings: Settings) -> list[str]:
    """For `rxsight config check`: each problem as "file: path: reason"."""
    try:
        from_settings(settings)
    except ConfigError as exc:
        return [f"{exc.source}: {p}" for p in exc.problems]
    return []
