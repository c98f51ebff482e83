"""Loads the .sql files that sit next to the module that runs them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path


class SqlFiles:
    """`SqlFiles(__file__)["open_replenishment"]` reads `sql/open_replenishment.sql` beside it."""

    def __init__(self, module_file: str, folder: str = "sql") -> None:
        self._dir = Path(module_file).parent / folder

    def __getitem__(self, name: str) -> str:
        return _read(self._dir / f"{name}.sql")

    def names(self) -> list[str]:
        return sorted(p.stem for p in self._dir.glob("*.sql"))


@cache
def _read(path: Path) -> str:
    return path.read_text()


def split_statements(script: str) -> list[str]:
    """Split a migration script at semicolons that end a line; our scripts keep `;` out of
    string literals, which is all this needs."""
    out, buf = [], []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buf.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip().rstrip(";").strip()
            if stmt:
                out.append(stmt)
            buf = []
    tail = "\n".join(buf).strip()
    if tail:
        out.append(tail)
    return out


_BLOCK = r"^\s*-- <(/?)([a-z_]+)>\s*$"


def with_blocks(sql: str, keep: Iterable[str]) -> str:
    """`sql` with only the optional parts named in `keep`: a part is the lines from `-- <name>`
    to `-- </name>` (parts may nest; their marker lines go either way). ClickHouse analyses
    every part of a query, one a constant parameter switches off included, so a query whose
    parts are used by some requests only leaves them out for the others."""
    wanted, out, open_blocks = set(keep), [], []
    for line in sql.splitlines():
        marker = re.match(_BLOCK, line)
        if marker is None:
            if all(name in wanted for name in open_blocks):
                out.append(line)
        elif not marker.group(1):
            open_blocks.append(marker.group(2))
        elif not open_blocks or open_blocks.pop() != marker.group(2):
            raise ValueError(f"unbalanced block marker: {line.strip()}")
    if open_blocks:
        raise ValueError(f"unclosed block: {open_blocks[-1]}")
    return "\n".join(out)
