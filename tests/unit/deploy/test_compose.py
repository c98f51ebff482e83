"""docker-compose.yml, the Dockerfile and the configs they mount, checked statically (no
Docker here): the file parses, images are pinned, every referenced file exists, every secret
comes from the env file, ports agree between services, and Prometheus' own promtool accepts
its configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = REPO / "deploy" / "env.example"
# Where each image listens inside the compose network.
LISTENS = {
    "clickhouse": {8123, 9000},
    "prometheus": {9090},
    "grafana": {3000},
    "otel-collector": {4317, 4318, 8888, 13133},
}


def load(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


def rxsight_ports() -> set[int]:
    entry = (REPO / "deploy" / "rxsight-entrypoint.sh").read_text()
    return {int(p) for p in re.findall(r"--(?:grpc-)?port (\d+)", entry)}


def test_every_service_of_the_topology_is_there_with_a_pinned_image() -> None:
    assert {"clickhouse", "rxsight", "otel-collector", "prometheus", "grafana"} <= set(SERVICES)
    for name, service in SERVICES.items():
        if "build" in service:
            continue
        image = service["image"]
        assert re.search(r":v?\d+\.\d+", image), f"{name}: image {image} is not pinned"


def test_referenced_files_exist() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name}: {source} missing"
        if "build" in service:
            assert (REPO / service["build"] / "Dockerfile").exists()
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"Dockerfile COPY {source} missing"


def test_every_variable_comes_from_the_env_file() -> None:
    defined = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    files = [
        "docker-compose.yml",
        "deploy/rxsight.yaml.in",
        "dashboards/provisioning/datasources/rxsight.yaml",
        "deploy/otelcol/config.yaml",
        "deploy/otelcol/direct.yaml",
    ]
    for path in files:
        used = set(re.findall(r"\$\{(?:env:)?(\w+)\}", (REPO / path).read_text()))
        assert used <= defined, f"{path} uses {sorted(used - defined)} not in deploy/env.example"
    for name, service in SERVICES.items():
        if name in {"clickhouse", "rxsight", "grafana", "otel-collector"}:
            assert service["env_file"][0]["path"] == ".env", name


def test_ports_agree_between_services() -> None:
    dsn = urlsplit(SERVICES["rxsight"]["environment"]["RXSIGHT_CLICKHOUSE_DSN"])
    assert dsn.hostname == "clickhouse" and dsn.port in LISTENS["clickhouse"]
    assert rxsight_ports() == {8000, 4317}
    assert {p.split(":")[-1] for p in SERVICES["rxsight"]["ports"]} == {"8000"}

    otel = load("deploy/otelcol/config.yaml")
    forward = urlsplit(otel["exporters"]["otlphttp/rxsight"]["endpoint"])
    assert forward.hostname == "rxsight" and forward.port in rxsight_ports()
    receivers = otel["receivers"]["otlp"]["protocols"]
    listening = {int(p["endpoint"].rsplit(":", 1)[1]) for p in receivers.values()}
    published = {int(p.split(":")[-1]) for p in SERVICES["otel-collector"]["ports"]}
    assert published == listening == {4317, 4318}
    direct = urlsplit(load("deploy/otelcol/direct.yaml")["exporters"]["clickhouse"]["endpoint"])
    assert direct.hostname == "clickhouse" and direct.port in LISTENS["clickhouse"]

    prom = load("deploy/prometheus.yml")
    jobs = {job["job_name"]: job for job in prom["scrape_configs"]}
    sd = jobs["rxsight"]["dns_sd_configs"][0]
    assert sd["names"] == ["rxsight"] and sd["port"] in rxsight_ports()
    assert jobs["rxsight"]["metrics_path"] == "/metrics"
    target = jobs["otel-collector"]["static_configs"][0]["targets"][0]
    assert int(target.rsplit(":", 1)[1]) in LISTENS["otel-collector"]

    sources = {
        d["uid"]: d for d in load("dashboards/provisioning/datasources/rxsight.yaml")["datasources"]
    }
    clickhouse = sources["rxsight-clickhouse"]["jsonData"]
    assert clickhouse["host"] == "clickhouse" and clickhouse["port"] in LISTENS["clickhouse"]
    assert clickhouse["protocol"] == "http"
    prometheus = urlsplit(sources["rxsight-prometheus"]["url"])
    assert prometheus.hostname == "prometheus" and prometheus.port in LISTENS["prometheus"]


def test_grafana_gets_the_provisioning_and_the_clickhouse_plugin() -> None:
    grafana = SERVICES["grafana"]
    assert grafana["environment"]["GF_INSTALL_PLUGINS"].startswith("grafana-clickhouse-datasource")
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("."))
    assert mounts["./dashboards/provisioning"] == "/etc/grafana/provisioning"
    provider = load("dashboards/provisioning/dashboards/rxsight.yaml")["providers"][0]
    assert mounts["./dashboards"] == provider["options"]["path"]


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed (make prometheus)")
def test_promtool_accepts_the_prometheus_config() -> None:
    result = subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(REPO / "deploy" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
