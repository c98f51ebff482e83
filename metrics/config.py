"""The `kpis:` (scheduled KPI exports) and `metrics:` (/metrics) configuration sections."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from rxsight.config import PasswordHash, Settings, Strict, read_section

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ScheduledExport(Strict):
    """Every day / week (Mondays) / month (the 1st) at `at` in `timezone`: the period that
    has just ended, written to `dir` in `format`."""

    every: Literal["day", "week", "month"]
    format: Literal["xlsx", "csv", "parquet", "json"] = "xlsx"
    dir: str
    at: str = "06:00"
    timezone: str = "UTC"

    @field_validator("at")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(f"at must be HH:MM (24 h), not {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except Exception as exc:  # noqa: BLE001 - zoneinfo raises several kinds
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @property
    def schedule_id(self) -> str:
        return f"{self.every}@{self.at} {self.timezone} {self.format} -> {self.dir}"

    def directory(self, settings: Settings) -> Path:
        """Relative directories are taken from the configuration file's folder."""
        base = settings.config_path.parent if settings.config_path else Path.cwd()
        return (base / self.dir).resolve()


class KpisConfig(Strict):
    exports: tuple[ScheduledExport, ...] = ()
    # How often the scheduler looks for due exports.
    check_every_s: float = Field(default=30, gt=0, le=3600)


class BasicAuth(Strict):
    username: str = Field(min_length=1)
    # PBKDF2 hash as `rxsight hash-password` prints it; never the password itself.
    password_hash: PasswordHash


class MetricsAuth(Strict):
    """What a scraper must send to read /metrics (open operational data otherwise): a bearer
    token, or basic auth, or either."""

    bearer_token: str | None = Field(default=None, min_length=16)
    basic: BasicAuth | None = None


class MetricsConfig(Strict):
    auth: MetricsAuth | None = None
    # At most this many label sets per business metric (documented in metrics/README.md).
    max_series_per_metric: int = Field(default=500, ge=1, le=100_000)
    # Business series are read at most this often (a scrape reuses the latest reading).
    flows_ttl_s: float = Field(default=10, ge=0)
    kpis_ttl_s: float = Field(default=300, ge=0)


def parse_kpis_config(settings: Settings) -> KpisConfig:
    return read_section(settings, "kpis", KpisConfig)


def parse_metrics_config(settings: Settings) -> MetricsConfig:
    return read_section(settings, "metrics", MetricsConfig)
