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
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SQL = HERE / "sql"
CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "rxsight-clickhouse"}
PROMETHEUS = {"type": "prometheus", "uid": "rxsight-prometheus"}
PLUGIN_VERSION = "4.10.1"
SCHEMA_VERSION = 39
# The plugin's query formats (its Format enum) and query types.
FORMATS = {"timeseries": 0, "table": 1, "traces": 3}
VARIABLES = {
    "site": "Site",
    "supplier": "Supplier",
    "flow": "Flow",
    "tier": "Tier",
}


@dataclass(frozen=True)
class Panel:
    title: str
    type: str  # Grafana panel type: timeseries, table, stat, barchart, piechart
    sql: str | None = None  # dashboards/sql/<name>.sql
    promql: str | None = None
    legend: str = ""
    unit: str | None = None
    description: str = ""
    links: tuple[dict, ...] = ()
    # The query's value columns this panel shows (the others are filtered out in Grafana).
    fields: tuple[str, ...] = ()

    @property
    def query_type(self) -> str:
        return "timeseries" if self.type == "timeseries" else "table"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    file: str
    description: str
    variables: tuple[str, ...]
    panels: tuple[Panel, ...] = field(default_factory=tuple)


CONSOLE_TRANSACTION = {
    "title": "Transaction in the rxsight console",
    "url": "${console_url}/transactions/${__data.fields.correlation_id}",
    "targetBlank": True,
}
TRACE_VIEW = {
    "title": "Trace view",
    "url": "",
    "internal": {
        "datasourceUid": CLICKHOUSE["uid"],
        "datasourceName": "rxsight ClickHouse",
        "query": {
            "editorType": "builder",
            "queryType": "traces",
            "builderOptions": {
                "database": "rxsight",
                "table": "otel_traces",
                "queryType": "traces",
                "meta": {"isTraceIdMode": True, "traceId": "${__value.raw}"},
            },
        },
    },
}

DASHBOARDS = (
    Dashboard(
        uid="rxsight-operations",
        title="rxsight: operations overview",
        file="operations-overview.json",
        description="Open exceptions by family and site, the oldest, flows breaching their tier,"
        " and the platform's own health from Prometheus.",
        variables=("site",),
        panels=(
            Panel("Open exceptions by family and site", "table", "operations/open_by_family_site"),
            Panel("Oldest open exception (hours)", "stat", "operations/oldest_open", unit="h"),
            Panel("Exceptions by when they began", "timeseries", "operations/opened_over_time"),
            Panel("Flows breaching their tier", "table", "operations/flows_breaching"),
            Panel(
                "Open exceptions by family (Prometheus)",
                "timeseries",
                promql="sum by (family) (rxsight_exceptions_open)",
                legend="{{family}}",
            ),
            Panel(
                "Ingested items per second",
                "timeseries",
                promql='sum by (signal) (rate(rxsight_ingest_items_total{outcome="accepted"}[5m]))',
                legend="{{signal}}",
                unit="ops",
            ),
            Panel(
                "Spool backlog",
                "stat",
                promql="max(rxsight_spool_bytes)",
                unit="bytes",
                description="Accepted but not yet written to ClickHouse.",
            ),
        ),
    ),
    Dashboard(
        uid="rxsight-invoices",
        title="rxsight: invoice matching",
        file="invoice-matching.json",
        description="Unmatched invoices by reason and supplier, first-pass match rate.",
        variables=("site", "supplier"),
        panels=(
            Panel("Open unmatched invoices by reason", "barchart", "invoices/by_reason"),
            Panel("Exception rate by supplier", "table", "invoices/rate_by_supplier"),
            Panel(
                "First-pass match rate",
                "timeseries",
                "invoices/first_pass_trend",
                unit="percentunit",
            ),
        ),
    ),
    Dashboard(
        uid="rxsight-replenishment",
        title="rxsight: replenishment and receipts",
        file="replenishment-receipts.json",
        description="Cycle time by priority, requests received per site, late POs, receipts.",
        variables=("site", "supplier"),
        panels=(
            Panel("Cycle time by priority", "table", "replenishment/cycle_time_by_priority"),
            Panel("Requests received, by site", "table", "replenishment/on_time_by_site"),
            Panel(
                "Open replenishment exceptions by reason",
                "barchart",
                "replenishment/open_by_reason",
            ),
            Panel("Late POs and receipts", "table", "replenishment/late_pos"),
            Panel("Goods receipts", "timeseries", "replenishment/receipts_over_time"),
        ),
    ),
    Dashboard(
        uid="rxsight-integration-sla",
        title="rxsight: integration SLA tiers",
        file="integration-sla.json",
        description="Per flow p95, error rate and volume against their tier, with the slowest"
        " traces (trace view on otel_traces, the console's transaction page).",
        variables=("flow", "tier"),
        panels=(
            Panel(
                "Flows against their objectives", "table", "integration/flows_against_objectives"
            ),
            Panel(
                "p95 latency",
                "timeseries",
                "integration/flow_series",
                unit="ms",
                fields=("p95_ms",),
            ),
            Panel(
                "Error rate",
                "timeseries",
                "integration/flow_series",
                unit="percentunit",
                fields=("error_rate",),
            ),
            Panel("Volume", "timeseries", "integration/flow_series", fields=("spans",)),
            Panel(
                "Slowest spans",
                "table",
                "integration/slowest_traces",
                links=(CONSOLE_TRANSACTION, TRACE_VIEW),
            ),
            Panel(
                "Rule evaluation p95 (Prometheus)",
                "timeseries",
                promql="histogram_quantile(0.95, sum by (le) "
                '(rate(rxsight_rules_evaluation_seconds_bucket{rule="all"}[5m])))',
                unit="s",
            ),
        ),
    ),
    Dashboard(
        uid="rxsight-executive",
        title="rxsight: executive KPIs",
        file="executive-kpis.json",
        description="The KPIs of DESIGN 7a for the current calendar month, as rxsight computes"
        " them from its KPI SQL (metrics/sql/) and exposes them on /metrics as rxsight_kpi;"
        " GET /api/kpis and the exports give any period.",
        variables=(),
        panels=tuple(
            Panel(title, kind, promql=f"rxsight_kpi{{{selector}}}", legend=legend, unit=unit)
            for title, kind, selector, legend, unit in (
                (
                    "Invoice first-pass match rate",
                    "stat",
                    'kpi="invoice_first_pass_match_rate", dimension=""',
                    "",
                    "percentunit",
                ),
                (
                    "Invoice exception rate by reason",
                    "barchart",
                    'kpi="invoice_exception_rate", dimension="reason"',
                    "{{group}}",
                    "percentunit",
                ),
                (
                    "Order cycle time by priority (hours)",
                    "barchart",
                    'kpi=~"order_cycle_time_hours_p(50|90)"',
                    "{{kpi}} {{group}}",
                    "h",
                ),
                (
                    "Replenishment on-time rate by site",
                    "barchart",
                    'kpi="replenishment_on_time_rate", dimension="site"',
                    "{{group}}",
                    "percentunit",
                ),
                (
                    "Receipt posting latency p95 (minutes)",
                    "stat",
                    'kpi="receipt_posting_latency_minutes_p95", dimension=""',
                    "",
                    "m",
                ),
                (
                    "Supplier on-time and fill rate",
                    "barchart",
                    'kpi=~"supplier_on_time_rate|supplier_fill_rate"',
                    "{{kpi}} {{group}}",
                    "percentunit",
                ),
                (
                    "Sync latency p95 by flow (seconds)",
                    "barchart",
                    'kpi="sync_latency_seconds_p95"',
                    "{{group}}",
                    "s",
                ),
                (
                    "SLA attainment by flow and tier",
                    "barchart",
                    'kpi="sla_attainment"',
                    "{{dimension}} {{group}}",
                    "percentunit",
                ),
                (
                    "Governed workflow share",
                    "stat",
                    'kpi="governed_workflow_share"',
                    "",
                    "percentunit",
                ),
                (
                    "Supplier acknowledgement latency p90 (hours)",
                    "barchart",
                    'kpi="supplier_ack_latency_hours_p90"',
                    "{{group}}",
                    "h",
                ),
            )
        ),
    ),
)


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
