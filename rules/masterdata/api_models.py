"""The answers of the crosswalk's API (rules/masterdata/api.py) in the OpenAPI document."""

from __future__ import annotations

from pydantic import Field

from rxsight.openapi import ApiModel, ApiRow, Instant


class RowRejected(ApiModel):
    file: str
    row: int
    error: str


class LoadAnswer(ApiModel):
    """A load (or, with dry_run, its validation): what went in and each refused row."""

    kind: str
    source: str
    dry_run: bool | None = None
    valid: int | None = Field(None, description="dry run: the versions that would be loaded")
    loaded_at: Instant | None = None
    loaded: int | None = Field(None, description="the versions loaded")
    mappings_ended: int | None = None
    rejected: list[RowRejected]
    detail: str | None = Field(None, description="why nothing was loaded (400)")


class Identifier(ApiModel):
    system: str
    identifier: str


class EntityVersion(ApiRow):
    id: str | None = None
    valid_from: Instant
    loaded_at: Instant
    name: str
    attributes: dict[str, str]
    identifiers: list[Identifier]
    loaded_by: str
    retired: bool | None = None
    source: str | None = None
    source_row: int | None = None


class Entities(ApiModel):
    kind: str
    as_of: Instant
    entities: list[EntityVersion] = Field(description="in force at as_of")


class EntityHistory(ApiModel):
    kind: str
    id: str
    versions: list[EntityVersion] = Field(description="oldest valid_from first")
