"""The answers of the crosswalk's API (rules/masterdata/api.py) in the OpenAPI document."""

from __future__ import annotations

from rxsight.openapi import ApiModel, ApiRow, Instant


class RejectedRow(ApiModel):
    file: str
    row: int
    error: str


class Loaded(ApiModel):
    kind: str
    source: str
    loaded_at: Instant | None
    loaded: int
    mappings_ended: int
    rejected: list[RejectedRow]
    detail: str | None = None  # when nothing loaded (400): the refused rows in one line


class Checked(ApiModel):
    """A dry run: what would load, and the rows that would not."""

    kind: str
    source: str
    dry_run: bool
    valid: int
    rejected: list[RejectedRow]


class Identifier(ApiModel):
    system: str
    identifier: str


class Entity(ApiRow):
    id: str
    name: str
    valid_from: Instant
    loaded_at: Instant
    attributes: dict[str, str]
    identifiers: list[Identifier]
    loaded_by: str


class Found(ApiModel):
    kind: str
    as_of: Instant
    entities: list[Entity]


class Version(ApiRow):
    valid_from: Instant
    loaded_at: Instant
    name: str
    attributes: dict[str, str]
    identifiers: list[Identifier]
    loaded_by: str
    retired: bool
    source: str
    source_row: int


class History(ApiModel):
    kind: str
    id: str
    versions: list[Version]
