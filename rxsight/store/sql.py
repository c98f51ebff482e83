"""Loads the .sql files that sit next to the module that runs them."""

from __future__ import annotations

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
