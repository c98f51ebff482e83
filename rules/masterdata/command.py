"""`rxsight masterdata load FILE...`: through a running rxsight's API (--url), or straight into
the data directory or DSN when no server holds it, as the same authorized, audited load."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rules.masterdata.rows import KINDS

_CONTENT_TYPES = {".csv": "text/csv", ".yaml": "application/yaml", ".yml": "application/yaml"}


def kind_of(path: Path, given: str | None) -> str | None:
    """The plural kind a file loads: --kind, else its name (items.csv, cost_centers_2026.yaml)."""
    if given:
        return given
    stem = path.stem.lower().replace("-", "_")
    return next((k for k in KINDS if stem.startswith(k)), None)


def load_files(args: argparse.Namespace, open_store: Any) -> int:
    """Loads each file; prints what loaded and every rejected row. Exit 0 when every row of
    every file loaded, 1 when some rows were rejected, 2 when a file could not be loaded."""
    worst = 0
    for name in args.files:
        path = Path(name)
        kind = kind_of(path, args.kind)
        if kind is None:
            print(
                f"{name}: which kind? name it items/suppliers/sites/cost_centers.* or give --kind",
                file=sys.stderr,
            )
            worst = 2
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{name}: cannot read ({exc})", file=sys.stderr)
            worst = 2
            continue
        result = (
            _through_api(args, path, kind, text)
            if args.url
            else _into_store(open_store, path, kind, text, args.dry_run)
        )
        if result is None:
            worst = 2
            continue
        worst = max(worst, _report(args, result))
    return worst


def _report(args: argparse.Namespace, result: dict[str, Any]) -> int:
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        done = result.get("valid", result.get("loaded", 0))
        verb = "valid (dry run, nothing stored)" if result.get("dry_run") else "loaded"
        print(f"{result['source']}: {done} {result['kind']} {verb}")
        for e in result["rejected"]:
            print(f"{e['file']}: row {e['row']}: {e['error']}", file=sys.stderr)
    return 1 if result["rejected"] else 0


def _through_api(
    args: argparse.Namespace, path: Path, kind: str, text: str
) -> dict[str, Any] | None:
    import httpx

    from rxsight.client import ApiError, call

    params = {"filename": path.name, "dry_run": "true" if args.dry_run else "false"}
    try:
        resp = call(
            args.url,
            "PUT",
            f"/api/masterdata/{kind}",
            token=args.token,
            content=text.encode(),
            content_type=_CONTENT_TYPES.get(path.suffix.lower(), "text/plain"),
            params=params,
        )
    except ApiError as exc:
        print(f"masterdata load {path}: {exc}", file=sys.stderr)
        return None
    except httpx.HTTPError as exc:  # pragma: no cover - call() maps these already
        print(f"masterdata load {path}: {exc}", file=sys.stderr)
        return None
    return resp.json()


def _into_store(
    open_store: Any, path: Path, kind: str, text: str, dry_run: bool
) -> dict[str, Any] | None:
    from rules.masterdata import crosswalk
    from rules.masterdata.rows import FileRefused, read_file
    from rxsight.authz import Action, Principal, Resource, authorize

    principal = Principal.command_line()
    decision = authorize(principal, Action.MASTERDATA_LOAD, Resource("masterdata", kind))
    if not decision:
        print(f"masterdata load: {decision.reason}", file=sys.stderr)
        return None
    with open_store() as store:
        try:
            parsed = read_file(KINDS[kind], path.name, text, crosswalk.db_now(store))
        except FileRefused as exc:
            print(str(exc), file=sys.stderr)
            return None
        if dry_run:
            rejected = [e.as_json() for e in parsed.rejected]
            return {
                "kind": kind,
                "source": path.name,
                "dry_run": True,
                "valid": len(parsed.versions),
                "rejected": rejected,
            }
        loaded = crosswalk.load(store, KINDS[kind], parsed, source=path.name, actor=principal.name)
        return {**loaded.as_json(), "kind": kind}
