"""The crosswalk in the store: loading versions (audited), searching what is in force at an
instant, an entity's history, and the names of identifiers as sent.

Versions are appended, never rewritten (migration 060). A version of an entity maps each of
its identifiers (and its own id) to it from valid_from on, and ends, from the same instant,
every mapping the entity had then that the version no longer lists; a retired entity ends
them all. An identifier given to another entity later moves to it: per identifier, the
latest (valid_from, loaded_at) in force at an instant decides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.masterdata.rows import CANONICAL_SYSTEM, Parsed, RowError, Version
from rxsight import audit
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc, rfc3339

SQL = SqlFiles(__file__)
_ENTITY_COLUMNS = (
    "kind",
    "canonical_id",
    "valid_from",
    "loaded_at",
    "name",
    "attributes",
    "identifiers",
    "retired",
    "source",
    "source_row",
    "loaded_by",
)
_IDENTIFIER_COLUMNS = ("kind", "identifier", "system", "canonical_id", "valid_from", "loaded_at")
_AUDITED_IDS = 100


@dataclass(frozen=True)
class Loaded:
    kind: str
    source: str
    loaded_at: datetime | None
    versions: int
    mappings_ended: int
    rejected: list[RowError]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "loaded_at": rfc3339(self.loaded_at),
            "loaded": self.versions,
            "mappings_ended": self.mappings_ended,
            "rejected": [e.as_json() for e in self.rejected],
        }


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def db_now(store: Store) -> datetime:
    """The database clock: loads are stamped with it, as facts are, so a scheduled run's
    watermark sees them."""
    return as_utc(store.query_value("SELECT now64(3, 'UTC')"))


def load(store: Store, kind: str, parsed: Parsed, *, source: str, actor: str) -> Loaded:
    """Append the file's good versions, then audit the load (bad rows included)."""
    if not parsed.versions:
        return Loaded(kind, source, None, 0, 0, parsed.rejected)
    loaded_at = db_now(store)
    by_instant: dict[datetime, list[Version]] = defaultdict(list)
    for v in parsed.versions:
        by_instant[v.valid_from].append(v)
    id_rows: list[tuple[Any, ...]] = []
    ended = 0
    for valid_from, versions in by_instant.items():
        had = _mapped_at(store, kind, valid_from, [v.canonical_id for v in versions])
        claimed = {i for v in versions if not v.retired for _, i in _pairs(v)}
        for v in versions:
            keep = set() if v.retired else {i for _, i in _pairs(v)}
            if not v.retired:
                id_rows.extend(
                    (kind, i, s, v.canonical_id, valid_from, loaded_at) for s, i in _pairs(v)
                )
            for system, identifier in had.get(v.canonical_id, ()):
                if identifier not in keep and identifier not in claimed:
                    id_rows.append((kind, identifier, system, "", valid_from, loaded_at))
                    ended += 1
    store.insert_rows(
        "masterdata_entities",
        [
            (
                kind,
                v.canonical_id,
                v.valid_from,
                loaded_at,
                v.name,
                v.attributes,
                list(v.identifiers),
                int(v.retired),
                source,
                v.row,
                actor,
            )
            for v in parsed.versions
        ],
        _ENTITY_COLUMNS,
    )
    store.insert_rows("masterdata_identifiers", id_rows, _IDENTIFIER_COLUMNS)
    result = Loaded(kind, source, loaded_at, len(parsed.versions), ended, parsed.rejected)
    ids = [v.canonical_id for v in parsed.versions]
    audit.record(
        store,
        actor,
        "masterdata.load",
        f"masterdata.{kind}",
        source,
        {
            "loaded": len(ids),
            "ids": ids[:_AUDITED_IDS],
            "valid_from": sorted({rfc3339(v.valid_from) for v in parsed.versions}),
            "mappings_ended": ended,
            "rejected": [e.as_json() for e in parsed.rejected],
        },
    )
    return result


def _pairs(v: Version) -> list[tuple[str, str]]:
    return [(CANONICAL_SYSTEM, v.canonical_id), *v.identifiers]


def _mapped_at(
    store: Store, kind: str, at: datetime, ids: list[str]
) -> dict[str, list[tuple[str, str]]]:
    rows = store.query_rows(SQL["mapped_to_at"], {"kind": kind, "as_of": _ch(at), "ids": ids})
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for canonical_id, system, identifier in rows:
        out[canonical_id].append((system, identifier))
    return out


def _entity(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "valid_from": rfc3339(row["valid_from"]),
        "loaded_at": rfc3339(row["loaded_at"]),
        "name": row["name"],
        "attributes": dict(row["attributes"]),
        "identifiers": [_pair(p) for p in row["identifiers"]],
        "loaded_by": row["loaded_by"],
    }
    if "canonical_id" in row:
        out = {"id": row["canonical_id"], **out}
    for extra in ("retired", "source", "source_row"):
        if extra in row:
            out[extra] = bool(row[extra]) if extra == "retired" else row[extra]
    return out


def _pair(p: Any) -> dict[str, str]:
    # The driver gives a named tuple as a dict.
    if isinstance(p, dict):
        return {"system": p["system"], "identifier": p["identifier"]}
    return {"system": p[0], "identifier": p[1]}


def search(
    store: Store, kind: str, q: str, as_of: datetime, limit: int = 200
) -> list[dict[str, Any]]:
    """The entities of `kind` in force at `as_of` matching `q` (id, name or an identifier)."""
    params = {"kind": kind, "q": q.strip(), "as_of": _ch(as_of), "limit": limit}
    return [_entity(r) for r in store.query(SQL["entities_in_force"], params)]


def history(store: Store, kind: str, canonical_id: str) -> list[dict[str, Any]]:
    """Every version of one entity, oldest valid_from first."""
    rows = store.query(SQL["entity_history"], {"kind": kind, "id": canonical_id})
    return [_entity(r) for r in rows]


def names(
    store: Store, identifiers: list[tuple[str, str]], as_of: datetime
) -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, identifier as sent) -> (canonical id, name) for those the crosswalk in force at
    `as_of` knows."""
    if not identifiers:
        return {}
    at = _ch(as_of)
    mapped = store.query(
        SQL["mapped_in_force"],
        {"kinds": [k for k, _ in identifiers], "values": [v for _, v in identifiers], "as_of": at},
    )
    if not mapped:
        return {}
    entities = sorted({(r["kind"], r["canonical_id"]) for r in mapped})
    named = {
        (r["kind"], r["canonical_id"]): r["name"]
        for r in store.query(
            SQL["entity_names_in_force"],
            {"kinds": [k for k, _ in entities], "ids": [c for _, c in entities], "as_of": at},
        )
    }
    return {
        (r["kind"], r["identifier"]): (
            r["canonical_id"],
            named.get((r["kind"], r["canonical_id"])) or "",
        )
        for r in mapped
    }
