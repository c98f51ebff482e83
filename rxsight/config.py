"""Settings (RXSIGHT_* environment) and the YAML configuration file, validated at load."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rxsight.passwords import hash_problem


def _is_a_hash(value: str) -> str:
    problem = hash_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# A PBKDF2 hash as `rxsight hash-password` prints it; refused at load if it is anything else.
PasswordHash = Annotated[str, AfterValidator(_is_a_hash)]

DEFAULT_CORRELATION_KEYS = ("correlation.id", "correlation_id", "x-correlation-id")


class ConfigError(Exception):
    """A configuration problem, with the file and the path of the offending value."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class Strict(BaseModel):
    """Every configuration section's base: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(Strict):
    # Requests a token may send per second on average, and at once after a quiet spell;
    # 0 requests/s: no limit.
    requests_per_s: float = Field(default=50, ge=0)
    burst: int = Field(default=100, ge=1)


class IngestToken(Strict):
    name: str
    token: str = Field(min_length=16)
    # Empty: the token may send events for any source system.
    source_systems: tuple[str, ...] = ()
    # None: ingest.rate_limit.
    rate_limit: RateLimit | None = None


class PhiConfig(Strict):
    drop_keys: tuple[str, ...] = (
        "patient.name",
        "patient.ssn",
        "patient.mrn",
        "patient.dob",
        "patient.address",
    )
    redact_patterns: bool = True


class SpoolConfig(Strict):
    max_bytes: int = Field(default=1 << 30, ge=1 << 20)
    # A segment is sealed and written once it is this old or this large, whichever first.
    flush_interval_s: float = Field(default=0.5, gt=0, le=10)
    batch_rows: int = Field(default=50_000, ge=1)
    fsync: bool = True


class IngestConfig(Strict):
    tokens: tuple[IngestToken, ...] = ()
    max_request_bytes: int = Field(default=8 << 20, ge=1024)
    # Bytes of requests (as read, then decompressed) held at once; past it ingest answers
    # 503 + Retry-After at once instead of running out of memory (collector/inflight.py).
    max_inflight_bytes: int = Field(default=64 << 20, ge=1024)
    max_lines: int = 1000
    max_attributes: int = 128
    correlation_keys: tuple[str, ...] = DEFAULT_CORRELATION_KEYS
    custom_event_types: tuple[str, ...] = ()
    # How far ahead of this server's clock an event's or span's time may lie.
    future_skew_s: float = Field(default=300, ge=0)
    phi: PhiConfig = PhiConfig()
    spool: SpoolConfig = SpoolConfig()
    # Processes that decode OTLP and validate events under load; -1 = one per core, 0 = none.
    # They start when decodes overlap and stop after decode_idle_s without work.
    decode_workers: int = Field(default=-1, ge=-1, le=64)
    decode_idle_s: float = Field(default=60, gt=0)
    # Per ingest token (each token its own bucket); a token's own rate_limit overrides it.
    rate_limit: RateLimit = RateLimit()

    @model_validator(mode="after")
    def _spool_holds_a_request(self) -> IngestConfig:
        # A request the spool can never hold would be refused as "full, retry" forever.
        if self.spool.max_bytes < self.max_request_bytes:
            raise ValueError(
                f"spool.max_bytes ({self.spool.max_bytes}) is smaller than max_request_bytes "
                f"({self.max_request_bytes}): a request that large could never be accepted"
            )
        if self.max_inflight_bytes < self.max_request_bytes:
            raise ValueError(
                f"max_inflight_bytes ({self.max_inflight_bytes}) is smaller than "
                f"max_request_bytes ({self.max_request_bytes}): a request that large would only "
                "get in alone"
            )
        return self


class FlowConfig(Strict):
    """A registered integration flow (DESIGN 5.8: a flow absent from `flows:` is unregistered
    once any is listed)."""

    tier: int | None = Field(default=None, ge=1, le=3)
    owner: str | None = None
    domain: str | None = None
    # API versions (`api.version`, or the version segment of `http.route`) the flow must stop
    # calling: each call in the last 24 h is a governance finding.
    deprecated_versions: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()
    # No span for this many days makes the flow a retirement candidate (default:
    # rules.thresholds.governance.stale_days, 30).
    stale_days: int | None = Field(default=None, ge=1, le=365)

    @field_validator("deprecated_versions")
    @classmethod
    def _distinct(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({x for x in v if v.count(x) > 1})
        if twice:
            raise ValueError(f"listed more than once: {', '.join(twice)}")
        return v


class SourceSystemConfig(Strict):
    """A registered source system (the `source_system` of business events) and its owner."""

    owner: str | None = None
    domain: str | None = None
    description: str | None = None


class SiteConfig(Strict):
    timezone: str = "UTC"
    name: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception as exc:  # noqa: BLE001 - zoneinfo raises several kinds
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class UserConfig(Strict):
    username: str
    # PBKDF2 hash as `rxsight hash-password` prints it; never the password itself.
    password_hash: PasswordHash
    role: str = Field(pattern="^(viewer|operator|admin)$")
    owner: str | None = None
    display_name: str | None = None


class TeamConfig(Strict):
    """People exceptions can be assigned to together, e.g. a site's pharmacy buyers."""

    name: str | None = None
    members: tuple[str, ...] = ()


class SignInConfig(Strict):
    """Console sign-in throttling: wrong passwords allowed in a row per user name and per
    address, then a lock of first_lock_s that doubles with each further one, up to max_lock_s."""

    free_failures_per_user: int = Field(default=5, ge=1)
    free_failures_per_address: int = Field(default=20, ge=1)
    first_lock_s: float = Field(default=1.0, gt=0)
    max_lock_s: float = Field(default=900.0, gt=0)


class RetentionConfig(Strict):
    traces_days: int = Field(default=30, ge=1)
    events_days: int = Field(default=730, ge=1)


class Config(Strict):
    """The YAML file. Stage sections (rules, alerts, kpis, metrics) are validated by their stage."""

    ingest: IngestConfig = IngestConfig()
    flows: dict[Annotated[str, Field(min_length=1, max_length=256)], FlowConfig] = {}
    source_systems: dict[
        Annotated[str, Field(min_length=1, max_length=256)], SourceSystemConfig
    ] = {}
    sites: dict[str, SiteConfig] = {}
    users: tuple[UserConfig, ...] = ()
    teams: dict[str, TeamConfig] = {}
    sign_in: SignInConfig = SignInConfig()
    retention: RetentionConfig = RetentionConfig()
    console_url: str | None = None
    # Among several `rxsight serve` on one ClickHouse, one runs the rules scheduler and one
    # the alert dispatcher (rxsight/lease.py); a dead holder is replaced within 2 x this.
    lease_ttl_s: float = Field(default=15, ge=1, le=600)
    rules: dict[str, Any] = {}
    alerts: dict[str, Any] = {}
    kpis: dict[str, Any] = {}
    metrics: dict[str, Any] = {}

    @model_validator(mode="after")
    def _teams_and_users_apart(self) -> Config:
        users = {u.username for u in self.users}
        clash = sorted(users & set(self.teams))
        if clash:
            raise ValueError(f"teams: {clash[0]!r} is also a user name; assignees must be one")
        for team, cfg in self.teams.items():
            unknown = [m for m in cfg.members if m not in users]
            if unknown:
                raise ValueError(f"teams.{team}.members: {unknown[0]!r} is not a configured user")
        return self

    def assignees(self) -> dict[str, str]:
        """Who exceptions may be assigned to: each user and team, with a label to show."""
        out = {u.username: u.display_name or u.username for u in self.users}
        for team, cfg in self.teams.items():
            out[team] = f"{cfg.name or team} (team)"
        return out

    def teams_of(self, username: str) -> list[str]:
        return [t for t, cfg in self.teams.items() if username in cfg.members]


@dataclass(frozen=True)
class Settings:
    """Process settings: where data lives and how to listen. From RXSIGHT_* and the CLI."""

    dsn: str
    data_dir: Path
    database: str = "rxsight"
    # RXSIGHT_CLICKHOUSE_CLUSTER: the migrations run ON CLUSTER with replicated + Distributed
    # tables (rxsight/store/cluster.py).
    cluster: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    grpc_port: int = 4317
    config_path: Path | None = None
    admin_token: str | None = None
    session_secret: str | None = None
    config: Config = field(default_factory=Config)

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def embedded(self) -> bool:
        return self.dsn.startswith("chdb:")


def read_file(path: Path) -> dict[str, Any]:
    """The YAML file as a mapping; ConfigError names the file and what is wrong with it."""
    source = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(source, ["file not found"]) from exc
    except OSError as exc:
        raise ConfigError(source, [f"cannot read: {exc}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise ConfigError(source, ["the top level must be a mapping"])
    return raw


def load_config(path: Path | None) -> Config:
    """Read and validate the YAML file; ConfigError names the file and each bad path."""
    if path is None:
        return Config()
    raw = read_file(path)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(str(path), format_validation_errors(exc)) from exc


SectionT = TypeVar("SectionT", bound=BaseModel)


def config_source(settings: Settings) -> str:
    return str(settings.config_path) if settings.config_path else "(no config file)"


def read_section(
    settings: Settings, name: str, model: type[SectionT], *, reread: bool = False
) -> SectionT:
    """The one way a stage reads its section of the configuration: `name` validated by the
    stage's model. `reread`: from the file as it is now (a reload), not as it was at start.
    ConfigError names the file and each bad path (`<name>.<path>: reason`)."""
    if reread and settings.config_path is not None:
        raw = read_file(settings.config_path).get(name)
    else:
        raw = getattr(settings.config, name)
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(config_source(settings), format_validation_errors(exc, name)) from exc


def format_validation_errors(exc: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        out.append(f"{where or '(top)'}: {err['msg']}")
    return out


def load_settings(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    config_path: str | os.PathLike[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    grpc_port: int | None = None,
    dsn: str | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """CLI arguments win over RXSIGHT_* variables, which win over defaults."""
    env = dict(os.environ if env is None else env)
    ddir = Path(data_dir or env.get("RXSIGHT_DATA_DIR") or ".rxsight").absolute()
    chosen_dsn = dsn or env.get("RXSIGHT_CLICKHOUSE_DSN") or f"chdb://{ddir / 'clickhouse'}"
    cfg_path = config_path or env.get("RXSIGHT_CONFIG")
    cfg_path = Path(cfg_path) if cfg_path else None
    return Settings(
        dsn=chosen_dsn,
        data_dir=ddir,
        database=env.get("RXSIGHT_DATABASE", "rxsight"),
        cluster=env.get("RXSIGHT_CLICKHOUSE_CLUSTER") or None,
        host=host or env.get("RXSIGHT_HOST", "127.0.0.1"),
        port=int(port if port is not None else env.get("RXSIGHT_PORT", 8000)),
        grpc_port=int(grpc_port if grpc_port is not None else env.get("RXSIGHT_GRPC_PORT", 4317)),
        config_path=cfg_path,
        admin_token=env.get("RXSIGHT_ADMIN_TOKEN") or None,
        session_secret=env.get("RXSIGHT_SESSION_SECRET") or None,
        config=load_config(cfg_path),
    )
