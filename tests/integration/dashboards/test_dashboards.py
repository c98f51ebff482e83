"""The Grafana dashboards (dashboards/), tested without Grafana: their JSON, and every query
they send. ClickHouse panel queries are expanded as Grafana and the ClickHouse plugin expand
them (tests/grafana.py) and run against a store loaded with the conformance scenario, each
returning the columns its panel type needs; every PromQL expression runs against a real
Prometheus scraping the same rxsight and returns series (DESIGN 9, issue 20)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from rxsight.store import Store
from tests.grafana import ALL, TimeRange, panel_query
from tests.prometheus import Prometheus
from tests.support import CONFORMANCE, REPO, Server

DASHBOARDS = REPO / "dashboards"
SCENARIO = CONFORMANCE / "scenario-public"
TOKEN = "dashboards-admin-token-0123456789"
NUMERIC = re.compile(r"^(Nullable\()?(U?Int|Float|Decimal)")
TIME = re.compile(r"^(Nullable\()?(DateTime|Date)")


def dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels() -> list[tuple[str, dict]]:
    return [(name, panel) for name, d in dashboards().items() for panel in d["panels"]]


def clickhouse_panels() -> list[tuple[str, dict]]:
    return [(n, p) for n, p in panels() if "rawSql" in p["targets"][0]]


def prometheus_panels() -> list[tuple[str, dict]]:
    return [(n, p) for n, p in panels() if "expr" in p["targets"][0]]


def panel_id(item: tuple[str, dict]) -> str:
    return f"{item[0].removesuffix('.json')}:{item[1]['title']}"


# ------------------------------------------------------------------ structure
def test_the_json_is_what_build_py_makes_of_the_sql() -> None:
    result = subprocess.run(
        [sys.executable, str(DASHBOARDS / "build.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_structure_uids_datasources_and_variables() -> None:
    provisioned = yaml.safe_load(
        (DASHBOARDS / "provisioning" / "datasources" / "rxsight.yaml").read_text()
    )
    datasource_uids = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    all_dashboards = dashboards()
    assert len(all_dashboards) >= 4
    uids = [d["uid"] for d in all_dashboards.values()]
    assert len(uids) == len(set(uids)), "two dashboards share a uid"
    for name, dashboard in all_dashboards.items():
        assert dashboard["schemaVersion"] >= 36, name
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        defined = {v["name"] for v in dashboard["templating"]["list"]}
        for variable in dashboard["templating"]["list"]:
            if "datasource" in variable:
                assert variable["datasource"]["uid"] in datasource_uids
        for panel in dashboard["panels"]:
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
                assert datasource_uids.get(source["uid"]) == source["type"], panel["title"]
            text = json.dumps(panel)
            used = {m for m in re.findall(r"\$\{?(\w+)", text) if not m.startswith("__")}
            assert used <= defined, f"{name}: {panel['title']} uses undefined {used - defined}"


# ------------------------------------------------------------------ the scenario store
@pytest.fixture(scope="module")
def scenario(clickhouse_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """rxsight on the ClickHouse endpoint with the public conformance scenario loaded and its
    findings persisted at the scenario's instant; the store; a Prometheus scraping rxsight."""
    if not SCENARIO.exists():
        pytest.skip(f"no conformance scenario at {SCENARIO}")
    server = Server(admin_token=TOKEN, dsn=clickhouse_dsn).start()
    prometheus = None
    store = Store(clickhouse_dsn, server.env["RXSIGHT_DATABASE"])
    try:
        run = subprocess.run(
            [
                sys.executable,
                str(CONFORMANCE / "check.py"),
                "--dir",
                str(SCENARIO),
                "--url",
                server.url,
                "--token",
                TOKEN,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        as_of = re.search(r"as of (\S+)", run.stdout)
        instant = (
            as_of.group(1) if as_of else json.loads((SCENARIO / "meta.json").read_text())["as_of"]
        )
        status, body = server.request("POST", f"/api/rules/evaluate?as_of={instant}&persist=true")
        assert status == 200, body
        if Prometheus.available():
            prometheus = Prometheus(
                tmp_path_factory.mktemp("prometheus"), [f"127.0.0.1:{server.port}"]
            ).start()
        # The dashboards' default range ends now; the scenario lies 3-10 days back, and the
        # server's own scheduler has evaluated it at now as well.
        start = datetime.fromisoformat(instant.replace("Z", "+00:00")) - timedelta(days=7)
        yield {
            "store": store,
            "window": TimeRange(start, datetime.now(UTC), 3600),
            "prometheus": prometheus,
        }
    finally:
        if prometheus is not None:
            prometheus.stop()
        store.close()
        server.cleanup()


def selection(store: Store, dashboard: dict, first: bool) -> tuple[dict, dict]:
    """Each variable's values: All, or the first value its query returns."""
    selected: dict[str, list[str] | None] = {}
    all_values: dict[str, str] = {}
    for variable in dashboard["templating"]["list"]:
        name = variable["name"]
        if variable["type"] != "query":
            selected[name] = [variable["query"]]
            continue
        values = [str(r[0]) for r in store.query_rows(variable["query"])]
        assert values, f"variable {name} has no values on the scenario"
        all_values[name] = variable["allValue"]
        selected[name] = [values[0]] if first else ALL
    return selected, all_values


def run_panel(scenario: dict, item: tuple[str, dict], first: bool = False) -> tuple:
    name, panel = item
    dashboard = dashboards()[name]
    selected, all_values = selection(scenario["store"], dashboard, first)
    sql = panel_query(panel["targets"][0]["rawSql"], selected, all_values, scenario["window"])
    result = scenario["store"].client.query(sql)
    return result.column_names, [t.name for t in result.column_types], result.result_rows


ROW_COUNTS: dict[str, int] = {}


@pytest.mark.parametrize("item", clickhouse_panels(), ids=panel_id)
def test_clickhouse_panel_returns_what_its_panel_needs(scenario: dict, item: tuple) -> None:
    _, panel = item
    names, types, rows = run_panel(scenario, item)
    ROW_COUNTS[panel_id(item)] = len(rows)
    print(f"\n{panel_id(item)}: {len(rows)} rows, columns {list(names)}")
    assert rows, f"{panel['title']}: no rows on the conformance scenario"
    kind = panel["type"]
    if kind == "timeseries":
        assert names[0] == "time" and TIME.match(types[0]), (names, types)
        assert any(NUMERIC.match(t) for t in types[1:]), types
    elif kind == "stat":
        assert len(rows) == 1 and any(NUMERIC.match(t) for t in types), (types, rows)
    elif kind in ("barchart", "piechart"):
        assert any(t.startswith(("String", "LowCardinality")) for t in types), types
        assert any(NUMERIC.match(t) for t in types), types
    else:
        assert names, "a table with no columns"
    # With each variable set to one value (the singlequote path), the query still runs.
    run_panel(scenario, item, first=True)


@pytest.mark.skipif(not Prometheus.available(), reason="prometheus not installed (make prometheus)")
@pytest.mark.parametrize("item", prometheus_panels(), ids=panel_id)
def test_promql_panel_returns_series(scenario: dict, item: tuple) -> None:
    prometheus: Prometheus = scenario["prometheus"]
    expr = item[1]["targets"][0]["expr"]
    deadline = time.monotonic() + 60
    series: list[Any] = []
    while time.monotonic() < deadline and not series:
        series = prometheus.query(expr)
        if not series:
            time.sleep(1)
    print(f"\n{panel_id(item)}: {len(series)} series")
    assert series, f"{expr}: no series from a Prometheus scraping rxsight"
