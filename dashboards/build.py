"""The Grafana dashboards (dashboards/*.json), built from their panels' SQL (dashboards/sql/)
and PromQL, so each query lives once, in a file that reads as SQL.

    python dashboards/build.py          # write dashboards/*.json
    python dashboards/build.py --check  # exit 1 when a JSON file is not what this builds

ClickHouse panels use the grafana-clickhouse-datasource macros ($__timeFilter, $__fromTime,
$__toTime, $__timeInterval, ...) and Grafana variables (${site:singlequote}, ...). A
multi-value variable with "All" selected becomes '__all__', which each filter tests first:
`('__all__' IN (${site:singlequote}) OR site IN (${site:singlequote}))`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from definitions import CLICKHOUSE, DASHBOARDS, PROMETHEUS, VARIABLES, Dashboard, Panel

HERE = Path(__file__).resolve().parent
SQL = HERE / "sql"
PLUGIN_VERSION = "4.10.1"
SCHEMA_VERSION = 39
# The plugin's query formats (its Format enum) and query types.
FORMATS = {"timeseries": 0, "table": 1, "traces": 3}


def sql_of(name: str) -> str:
    return (SQL / f"{name}.sql").read_text().strip()


def variable(name: str) -> dict:
    return {
        "name": name,
        "label": VARIABLES[name],
        "type": "query",
        "datasource": CLICKHOUSE,
        "query": sql_of(f"variables/{name}"),
        "definition": sql_of(f"variables/{name}"),
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        # Selected "All" is passed as this literal; every filter tests for it first.
        "allValue": "'__all__'",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
        "options": [],
    }


def console_url_variable() -> dict:
    """Where the console is, for the links to its transaction page (Grafana does not put
    environment variables into file-provisioned dashboards: set it per installation)."""
    return {
        "name": "console_url",
        "label": "rxsight console",
        "type": "textbox",
        "query": "http://localhost:8000",
        "current": {"text": "http://localhost:8000", "value": "http://localhost:8000"},
        "hide": 0,
    }


def panel_json(panel: Panel, index: int) -> dict:
    width = 12
    grid = {"h": 8, "w": width, "x": (index % 2) * width, "y": (index // 2) * 8}
    if panel.sql:
        target = {
            "refId": "A",
            "datasource": CLICKHOUSE,
            "editorType": "sql",
            "queryType": panel.query_type,
            "format": FORMATS[panel.query_type],
            "rawSql": sql_of(panel.sql),
            "pluginVersion": PLUGIN_VERSION,
        }
        datasource = CLICKHOUSE
    else:
        target = {
            "refId": "A",
            "datasource": PROMETHEUS,
            "expr": panel.promql,
            "legendFormat": panel.legend or "__auto",
            "range": True,
        }
        datasource = PROMETHEUS
    defaults: dict = {}
    if panel.unit:
        defaults["unit"] = panel.unit
    if panel.links:
        defaults["links"] = list(panel.links)
    transformations = []
    if panel.fields:
        keep = ["time", "Flow", *panel.fields]
        transformations.append(
            {"id": "filterFieldsByName", "options": {"include": {"names": keep}}}
        )
    return {
        "id": index + 1,
        "title": panel.title,
        "description": panel.description,
        "type": panel.type,
        "datasource": datasource,
        "gridPos": grid,
        "targets": [target],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {},
        "transformations": transformations,
    }


def dashboard_json(dashboard: Dashboard) -> dict:
    templating = [variable(name) for name in dashboard.variables]
    if any(p.links for p in dashboard.panels):
        templating.append(console_url_variable())
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["rxsight"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "timezone": "utc",
        "time": {"from": "now-7d", "to": "now"},
        "refresh": "1m",
        "templating": {"list": templating},
        "annotations": {"list": []},
        "links": [],
        "panels": [panel_json(p, i) for i, p in enumerate(dashboard.panels)],
    }


def rendered() -> dict[str, str]:
    return {d.file: json.dumps(dashboard_json(d), indent=2) + "\n" for d in DASHBOARDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date (run python dashboards/build.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
