"""The migrations rendered for a ClickHouse cluster (RXSIGHT_CLICKHOUSE_CLUSTER, DESIGN 9).

Each table becomes `<name>_local` (ReplicatedMergeTree family, ON CLUSTER) and `<name>`, a
Distributed table over it, so every query and insert keeps using the plain names:

- sharding key: the correlation ID where the table has one (a transaction's spans, events and
  per-transaction facts live on one shard: the timeline and most rules read one shard), else
  the table's leading ORDER BY column (every version of a key lands on the shard that merges
  it: a ReplacingMergeTree deduplicates within a shard only);
- a materialized view fires on inserts into the local table of its source on each shard and
  writes into the Distributed target, which sends each row to the shard its key picks;
- ALTERs apply to the local tables, and column changes to the Distributed twin as well.

The same statements run unchanged on a single server and chDB (cluster = None).
"""

from __future__ import annotations

import re

_CREATE_TABLE = re.compile(r"^\s*CREATE TABLE IF NOT EXISTS\s+(\w+)\s*\(", re.I)
_ENGINE = re.compile(r"ENGINE\s*=\s*(\w*)MergeTree(?:\(([^)]*)\))?", re.I)
_ORDER_BY = re.compile(r"ORDER BY\s+(\((?:[^()]|\([^()]*\))*\)|[^\s;]+)", re.I)
_CORRELATION = re.compile(r"^\s*(correlation_id|CorrelationId)\s", re.M)
_CREATE_MV = re.compile(
    r"^\s*CREATE MATERIALIZED VIEW IF NOT EXISTS\s+(\w+)\s+TO\s+(\w+)\s+AS\b", re.I
)
# A view a later migration redefines is CREATE OR REPLACE (IF NOT EXISTS would keep the old one).
_CREATE_VIEW = re.compile(r"^\s*CREATE (VIEW IF NOT EXISTS|OR REPLACE VIEW)\s+(\w+)\s+AS\b", re.I)
_ALTER = re.compile(r"^\s*ALTER TABLE\s+(\w+)\s+(.*)$", re.I | re.S)
_COLUMN_CHANGE = re.compile(r"^\s*(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b", re.I)
_DROP = re.compile(r"^\s*DROP TABLE IF EXISTS\s+(\w+)\s*$", re.I)
_DROP_VIEW = re.compile(r"^\s*DROP VIEW IF EXISTS\s+(\w+)\s*$", re.I)
_OPTIMIZE = re.compile(r"^\s*OPTIMIZE TABLE\s+(\w+)\s+(.*)$", re.I | re.S)
_FIRST_FROM = re.compile(r"\bFROM\s+(\w+)", re.I)


def local_name(table: str) -> str:
    return f"{table}_local"


def render(statement: str, cluster: str | None) -> list[str]:
    """One migration statement as the statements that do it on `cluster` (itself if None)."""
    if not cluster:
        return [statement]
    on = f"ON CLUSTER '{_ident(cluster)}'"
    if m := _CREATE_TABLE.match(statement):
        return _table(statement, m.group(1), cluster, on)
    if m := _CREATE_MV.match(statement):
        view, target = m.group(1), m.group(2)
        select = statement[m.end() :]
        source = _FIRST_FROM.search(select)
        if source:
            name = source.group(1)
            select = f"{select[: source.start(1)]}{local_name(name)}{select[source.end(1) :]}"
        return [f"CREATE MATERIALIZED VIEW IF NOT EXISTS {view} {on} TO {target} AS{select}"]
    if m := _CREATE_VIEW.match(statement):
        verb = " ".join(m.group(1).upper().split())
        return [f"CREATE {verb} {m.group(2)} {on} AS{statement[m.end() :]}"]
    if m := _ALTER.match(statement):
        table, change = m.group(1), m.group(2)
        out = [f"ALTER TABLE {local_name(table)} {on} {change}"]
        if _COLUMN_CHANGE.match(change):
            out.append(f"ALTER TABLE {table} {on} {change}")
        return out
    if m := _DROP.match(statement):
        names = (m.group(1), local_name(m.group(1)))
        return [f"DROP TABLE IF EXISTS {name} {on}" for name in names]
    if m := _DROP_VIEW.match(statement):
        return [f"DROP VIEW IF EXISTS {m.group(1)} {on}"]
    if m := _OPTIMIZE.match(statement):  # merges happen in the local tables
        return [f"OPTIMIZE TABLE {local_name(m.group(1))} {on} {m.group(2)}"]
    if statement.lstrip().upper().startswith(("CREATE", "ALTER", "DROP", "RENAME")):
        raise ValueError(f"no cluster rendering for: {statement[:80]}")
    return [statement]  # INSERT ... SELECT backfills go through the Distributed tables


def sharding_key(statement: str) -> str:
    """The expression a CREATE TABLE's Distributed twin shards by."""
    if m := _CORRELATION.search(statement):
        return f"cityHash64({m.group(1)})"
    order = _ORDER_BY.search(statement)
    if order is None:
        return "rand()"
    keys = order.group(1).strip()
    if keys.startswith("("):
        keys = keys[1:-1]
    first = _split_top_level(keys)[0].strip()
    return f"cityHash64({first})" if first else "rand()"


def _table(statement: str, name: str, cluster: str, on: str) -> list[str]:
    engine = _ENGINE.search(statement)
    if engine is None:
        raise ValueError(f"table {name}: only MergeTree-family tables can be replicated")
    family, args = engine.group(1), (engine.group(2) or "").strip()
    local = local_name(name)
    replicated_args = f"'/clickhouse/tables/{{shard}}/{{database}}/{local}', '{{replica}}'"
    if args:
        replicated_args += f", {args}"
    body = statement[: engine.start()] + (
        f"ENGINE = Replicated{family}MergeTree({replicated_args})" + statement[engine.end() :]
    )
    head = _CREATE_TABLE.match(body)
    assert head is not None
    local_create = f"CREATE TABLE IF NOT EXISTS {local} {on} (" + body[head.end() :]
    # non_replicated_deduplication_window has no meaning on a replicated table, which keeps
    # replicated_deduplication_window blocks' tokens in Keeper instead.
    local_create = local_create.replace(
        "non_replicated_deduplication_window", "replicated_deduplication_window"
    )
    distributed = (
        f"CREATE TABLE IF NOT EXISTS {name} {on} AS {local} "
        f"ENGINE = Distributed('{_ident(cluster)}', currentDatabase(), '{local}', "
        f"{sharding_key(statement)})"
    )
    return [local_create, distributed]


def _split_top_level(keys: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in keys:
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += ch == "("
        depth -= ch == ")"
        current.append(ch)
    parts.append("".join(current))
    return parts


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_\-.]+", name):
        raise ValueError(f"cluster name {name!r}: letters, digits, '_', '-', '.' only")
    return name
