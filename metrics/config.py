"""The `kpis:` configuration section: scheduled KPI exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rxsight.config import ConfigError, Settings, format_validation_errors

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduledExport(_Strict):
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


class KpisConfig(_Strict):
    exports: tuple[ScheduledExport, ...] = ()
    # How often the scheduler looks for due exports.
    check_every_s: float = Field(default=30, gt=0, le=3600)


def parse_kpis_config(settings: Settings) -> KpisConfig:
    try:
        return KpisConfig.model_validate(settings.config.kpis)
    except ValidationError as exc:
        source = str(settings.config_path or "(config)")
        raise ConfigError(source, format_validation_errors(exc, "kpis")) from exc
