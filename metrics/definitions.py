"""The KPI definitions of DESIGN 7a as data (kpis.yaml): name, unit, groups, text, SQL file."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

KINDS = ("rate", "percentile")
# The dimensions a KPI row may be grouped by ("" = the whole system), in display order.
DIMENSIONS = ("", "site", "supplier_id", "priority", "flow", "tier", "reason", "family")


@dataclass(frozen=True)
class KpiDef:
    name: str
    title: str
    unit: str
    kind: str
    groups: tuple[str, ...]
    sql: str  # file stem under metrics/sql/
    definition: str
    numerator: str
    denominator: str


@cache
def kpi_defs() -> tuple[KpiDef, ...]:
    """Every KPI, in the order of kpis.yaml (read once, on first use)."""
    raw = yaml.safe_load((Path(__file__).parent / "kpis.yaml").read_text())
    out = []
    for item in raw:
        d = KpiDef(**{**item, "groups": tuple(item["groups"])})
        if d.kind not in KINDS or any(g not in DIMENSIONS for g in d.groups):
            raise ValueError(f"metrics/kpis.yaml: {d.name}: bad kind or group")
        out.append(d)
    return tuple(out)


def kpi_def(name: str) -> KpiDef | None:
    return next((d for d in kpi_defs() if d.name == name), None)


def sql_files(kpis: Collection[str] | None = None) -> tuple[str, ...]:
    """The SQL files that answer the KPIs (only those named in `kpis`, when given), each
    once, in first-use order."""
    return tuple(dict.fromkeys(d.sql for d in kpi_defs() if kpis is None or d.name in kpis))
