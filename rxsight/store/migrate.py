"""The migrator: the kernel's migrations and each stage's, applied in one ordered sequence.

A stage keeps its schema beside its code, in `<stage>/migrations/NNN_name.sql`; the kernel's
are in `rxsight/store/migrations/`. Versions are the file names without `.sql`, recorded in
`schema_migrations` once applied; numbers are unique across every folder, so the sequence is
one. The stages' folders are found by package name without importing the stage (the kernel
imports no stage)."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path

from rxsight.store.client import Store, StoreUnavailable
from rxsight.store.sql import split_statements

log = logging.getLogger(__name__)
KERNEL = Path(__file__).parent / "migrations"


def folder_of(package: str) -> Path:
    """`<package>/migrations`, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{package!r} is not a package of this distribution")
    return Path(next(iter(spec.submodule_search_locations))) / "migrations"


def migrations(stages: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(version, script) of the kernel and the given stages, in the order they apply."""
    found: dict[str, Path] = {}
    for folder in [KERNEL, *(folder_of(stage) for stage in stages)]:
        for path in sorted(folder.glob("*.sql")):
            version = path.stem
            if version in found:
                raise ValueError(f"migration {version} is both {found[version]} and {path}")
            found[version] = path
    return [(version, found[version].read_text()) for version in sorted(found)]


def apply(store: Store, scripts: Iterable[tuple[str, str]]) -> list[str]:
    """Apply every migration not yet recorded; returns the versions applied now.

    Each statement is idempotent (IF NOT EXISTS), so a run interrupted half-way is simply
    run again."""
    store.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)"
        ") ENGINE = ReplacingMergeTree(applied_at) ORDER BY version"
    )
    done = {r[0] for r in store.query_rows("SELECT version FROM schema_migrations FINAL")}
    applied = []
    for version, script in sorted(scripts):
        if version in done:
            continue
        for stmt in split_statements(script):
            try:
                store.command(stmt)
            except Exception as exc:
                raise StoreUnavailable(f"migration {version} failed: {exc}") from exc
        store.insert_rows("schema_migrations", [[version]], ["version"])
        applied.append(version)
        log.info("applied migration %s", version)
    return applied


def migrate(store: Store, stages: Iterable[str] = ()) -> list[str]:
    """Bring the schema of the kernel and of `stages` up to date; the versions applied now."""
    return apply(store, migrations(stages))
