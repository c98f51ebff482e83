"""What each Grafana dashboard shows: its panels, their queries (dashboards/sql/<name>.sql or
PromQL), units and links. dashboards/build.py renders these into dashboards/*.json."""

from __future__ import annotations

from dataclasses import dataclass, field

CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "rxsight-clickhouse"}
PROMETHEUS = {"type": "prometheus", "uid": "rxsight-prometheus"}
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
