"""The answer of GET /api/kpis (DESIGN 7a) in the OpenAPI document."""

from __future__ import annotations

from pydantic import Field

from rxsight.openapi import ApiModel, Instant, Number


class KpiRow(ApiModel):
    """A rate row carries its counts (numerator, denominator); a percentile row its n."""

    kpi: str
    group: dict[str, str | int] = Field(
        description='{} for the whole system, or one dimension: {"site": ...}, {"tier": n}, ...'
    )
    value: Number
    numerator: Number | None = None
    denominator: Number | None = None
    n: int | None = None


class Kpis(ApiModel):
    from_: Instant = Field(alias="from")
    to: Instant
    as_of: Instant
    rows: list[KpiRow]
