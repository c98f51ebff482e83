"""A crosswalk file read into entity versions, or refused row by row naming the file, the row,
the field and the reason.

One file holds one kind (items, suppliers, sites, cost centers), as CSV (a header row) or YAML
(a list of rows, or a mapping with the kind's plural as its key). A row is one canonical
entity from `valid_from` on: `id`, `name`, `valid_from` (RFC 3339; default the instant of the
load), `retired`, the kind's attributes, and its identifier in each system: CSV columns
`id.<system>`, YAML `identifiers: {<system>: value}`; several values of one system are
separated by `|` (a list in YAML). Systems: e.g. `ndc`, `erp`, `catalog.SUP-1001` for items,
`erp`, `edi`, `ap` for suppliers, any name for sites and cost centers.

A bad row is rejected with its reasons and the good rows load: a steward fixes the rows named
and loads the file again, nothing valid waits on them (DESIGN 8). Rows that contradict each
other (one identifier given to two entities, or one entity twice, at the same valid_from) are
all rejected, since which one is meant is not for the loader to guess.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, StringConstraints, ValidationError, field_validator

from rxsight.config import Strict
from rxsight.model import MAX_ID, Timestamp, describe_error
from rxsight.phi import phi_kind

KINDS = {"items": "item", "suppliers": "supplier", "sites": "site", "cost_centers": "cost_center"}
CANONICAL_SYSTEM = "canonical"
MAX_ROWS = 100_000
_SYSTEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}")
_SCHEDULES = ("CI", "CII", "CIIN", "CIII", "CIIIN", "CIV", "CV")
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}


class FileRefused(ValueError):
    """The file as a whole cannot be read (not CSV / YAML, no rows, an unknown column)."""


def _flag(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower() if v is not None else ""
    if text in ("", "0", "false", "no", "n"):
        return False
    if text in ("1", "true", "yes", "y"):
        return True
    raise ValueError(f"must be true or false, not {str(v)[:32]!r}")


Flag = Annotated[bool, BeforeValidator(_flag)]
Ident = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID)]


class _Row(Strict):
    id: Ident
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=512)] = ""
    valid_from: Timestamp | None = None
    retired: Flag = False
    identifiers: dict[str, list[Ident]] = {}

    @field_validator("identifiers", mode="before")
    @classmethod
    def _values(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, list[Any]] = {}
        for system, values in v.items():
            if not isinstance(system, str) or not _SYSTEM.fullmatch(system):
                raise ValueError(f"system {str(system)[:64]!r}: letters, digits and _.:/- only")
            if system == CANONICAL_SYSTEM:
                raise ValueError(
                    f"system {system!r} is reserved (the id column is the canonical id)"
                )
            if isinstance(values, str):
                values = [p for p in (x.strip() for x in values.split("|")) if p]
            elif values is None:
                values = []
            elif not isinstance(values, list):
                values = [values]
            out[system] = [str(x) if isinstance(x, int) else x for x in values]
        return out

    def attributes(self) -> dict[str, str]:
        return {}


class ItemRow(_Row):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
    schedule: str = ""
    cold_chain: Flag = False
    uom: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{0,16}$")
    ] = ""

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, v: Any) -> str:
        """DEA controlled-substance schedule: CII, C-II, II or 2 all mean CII; empty: none."""
        text = str(v or "").strip().upper().replace("-", "").replace(" ", "")
        if not text:
            return ""
        if text.startswith("C"):
            text = text[1:]
        text = _ROMAN.get(text, text)
        if f"C{text}" not in _SCHEDULES:
            raise ValueError(f"not a DEA schedule ({', '.join(_SCHEDULES)} or empty)")
        return f"C{text}"

    def attributes(self) -> dict[str, str]:
        return {
            "schedule": self.schedule,
            "cold_chain": "true" if self.cold_chain else "false",
            "uom": self.uom.upper(),
        }


class SupplierRow(_Row):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
    asn_expected: Flag = False

    def attributes(self) -> dict[str, str]:
        return {"asn_expected": "true" if self.asn_expected else "false"}


class SiteRow(_Row):
    pass


class CostCenterRow(_Row):
    pass


ROW_MODELS: dict[str, type[_Row]] = {
    "item": ItemRow,
    "supplier": SupplierRow,
    "site": SiteRow,
    "cost_center": CostCenterRow,
}


@dataclass(frozen=True)
class RowError:
    file: str
    row: int  # CSV: as a spreadsheet numbers it (the header is row 1); YAML: 1-based in the list
    error: str  # field and reason, e.g. "valid_from: not an RFC 3339 timestamp"

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: {self.error}"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "error": self.error}


@dataclass(frozen=True)
class Version:
    """One entity from valid_from on, as a row of the file gave it."""

    kind: str
    canonical_id: str
    valid_from: datetime
    name: str
    attributes: dict[str, str]
    identifiers: tuple[tuple[str, str], ...]  # (system, identifier)
    retired: bool
    row: int


@dataclass(frozen=True)
class Parsed:
    versions: list[Version]
    rejected: list[RowError]


def read_file(kind: str, file: str, content: str, default_valid_from: datetime) -> Parsed:
    """Every row of `content` (CSV or YAML) as a version of a `kind` entity, or its errors."""
    if kind not in ROW_MODELS:
        raise FileRefused(f"{file}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    raw = _raw_rows(kind, file, content)
    if len(raw) > MAX_ROWS:
        raise FileRefused(f"{file}: {len(raw)} rows; at most {MAX_ROWS} in one file")
    model = ROW_MODELS[kind]
    versions: list[Version] = []
    rejected: list[RowError] = []
    for n, obj in raw:
        if isinstance(obj, dict) and obj.pop("_extra_cells", None):
            rejected.append(RowError(file, n, "more cells than the header has columns"))
            continue
        try:
            row = model.model_validate(obj)
        except ValidationError as exc:
            rejected.append(RowError(file, n, describe_error(exc)))
            continue
        problem = _phi_problem(row)
        if problem:
            rejected.append(RowError(file, n, problem))
            continue
        pairs = tuple(
            dict.fromkeys((s, i) for s, values in sorted(row.identifiers.items()) for i in values)
        )
        versions.append(
            Version(
                kind=kind,
                canonical_id=row.id,
                valid_from=row.valid_from or default_valid_from,
                name=row.name,
                attributes=row.attributes(),
                identifiers=pairs,
                retired=row.retired,
                row=n,
            )
        )
    return _without_contradictions(file, versions, rejected)


def _phi_problem(row: _Row) -> str | None:
    """Master data holds no PHI (DESIGN 8): a row with a value shaped like a patient
    identifier is refused by field, as ingest refuses such identifiers."""
    values = [("id", row.id), ("name", row.name), *row.attributes().items()]
    values += [(f"identifiers.{s}", v) for s, found in row.identifiers.items() for v in found]
    for field, value in values:
        kind = phi_kind(value)
        if kind:
            return f"{field}: looks like a patient identifier ({kind}); master data holds no PHI"
    return None


def _raw_rows(kind: str, file: str, content: str) -> list[tuple[int, Any]]:
    text = content.lstrip("\ufeff")
    if not text.strip():
        raise FileRefused(f"{file}: empty")
    if _looks_like_csv(file, text):
        return _csv_rows(kind, file, text)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FileRefused(f"{file}: neither CSV nor YAML ({str(exc).splitlines()[0]})") from None
    plural = next(p for p, k in KINDS.items() if k == kind)
    if isinstance(doc, dict):
        unknown = [str(k) for k in doc if k != plural]
        if unknown:
            raise FileRefused(f"{file}: key {unknown[0][:64]!r}: this file loads {plural} only")
        doc = doc.get(plural)
    if not isinstance(doc, list):
        raise FileRefused(f"{file}: expected a list of {plural} (or `{plural}:` with one)")
    return list(enumerate(doc, start=1))


def _looks_like_csv(file: str, text: str) -> bool:
    if file.lower().endswith(".csv"):
        return True
    if file.lower().endswith((".yaml", ".yml", ".json")):
        return False
    first = text.splitlines()[0]
    return "," in first and ":" not in first.split(",")[0] and not first.startswith(("-", "{"))


def _csv_rows(kind: str, file: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    fields = set(ROW_MODELS[kind].model_fields) - {"identifiers"}
    for h in header:
        if h not in fields and not (h.startswith("id.") and len(h) > 3):
            known = ", ".join(sorted(fields))
            raise FileRefused(
                f"{file}: column {h!r} unknown for {kind} (known: {known}, id.<system>)"
            )
    if len(set(header)) < len(header):
        raise FileRefused(f"{file}: a column is named twice in the header")
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        obj: dict[str, Any] = {"identifiers": {}}
        for h, cell in zip(header, cells, strict=False):
            if h.startswith("id."):
                obj["identifiers"][h[3:]] = cell
            elif cell.strip():
                obj[h] = cell
        if len(cells) > len(header):
            obj["_extra_cells"] = cells[len(header) :]
        rows.append((n, obj))
    return rows


def _without_contradictions(file: str, versions: list[Version], rejected: list[RowError]) -> Parsed:
    """Rejects every row of an entity given twice at one valid_from, and every row giving an
    identifier that another entity's row also claims at that valid_from."""
    bad: dict[int, list[str]] = defaultdict(list)
    by_entity: dict[tuple[str, datetime], list[int]] = defaultdict(list)
    by_identifier: dict[tuple[str, datetime], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for v in versions:
        by_entity[(v.canonical_id, v.valid_from)].append(v.row)
        for _, identifier in v.identifiers:
            by_identifier[(identifier, v.valid_from)][v.canonical_id].append(v.row)
        by_identifier[(v.canonical_id, v.valid_from)][v.canonical_id].append(v.row)
    for (entity, _), rows in by_entity.items():
        if len(rows) > 1:
            for r in rows:
                others = ", ".join(str(o) for o in rows if o != r)
                bad[r].append(f"id: {entity!r} at this valid_from is also row {others}")
    for (identifier, _), claims in by_identifier.items():
        if len(claims) < 2:
            continue
        for entity, rows in claims.items():
            others = "; ".join(
                f"{other!r} (row {', '.join(map(str, r))})"
                for other, r in claims.items()
                if other != entity
            )
            for r in rows:
                bad[r].append(f"identifier {identifier!r} is also given to {others}")
    kept = [v for v in versions if v.row not in bad]
    rejected = rejected + [RowError(file, r, "; ".join(dict.fromkeys(e))) for r, e in bad.items()]
    return Parsed(kept, sorted(rejected, key=lambda e: e.row))


def version_identifiers(v: Version) -> list[tuple[str, str]]:
    """(system, identifier) pairs the rules map to the entity, its own id included."""
    return [(CANONICAL_SYSTEM, v.canonical_id), *v.identifiers]
