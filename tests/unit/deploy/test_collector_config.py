"""The OpenTelemetry Collector configuration of docker-compose.yml (deploy/otelcol/): only
components of the pinned contrib distribution, pipelines that scrub PHI before any exporter,
and OTTL patterns (RE2, as the Collector runs them) that redact what rxsight's own scrubber
redacts (DESIGN 8, 9; issue 23 item 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import re2
import yaml

from rxsight.config import PhiConfig
from rxsight.phi import PhiScrubber
from tests.support import REPO

DEPLOY = REPO / "deploy" / "otelcol"
MODULES = Path(__file__).with_name("otelcol-contrib-0.136.0-modules.txt")
KINDS = {
    "receivers": "receiver",
    "processors": "processor",
    "exporters": "exporter",
    "extensions": "extension",
    "connectors": "connector",
}


def distribution() -> dict[str, set[str]]:
    sections: dict[str, set[str]] = {}
    current = None
    for line in MODULES.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), set())
            continue
        assert current is not None
        current.update(line.split())
    return sections


def merged() -> dict:
    """config.yaml with direct.yaml over it, as `--config a --config b` merges (maps merge,
    lists are replaced)."""

    def merge(base: dict, over: dict) -> dict:
        out = dict(base)
        for key, value in over.items():
            out[key] = (
                merge(out[key], value)
                if isinstance(value, dict) and isinstance(out.get(key), dict)
                else value
            )
        return out

    base = yaml.safe_load((DEPLOY / "config.yaml").read_text())
    return merge(base, yaml.safe_load((DEPLOY / "direct.yaml").read_text()))


@pytest.mark.parametrize("config", ["config.yaml", "config.yaml+direct.yaml"])
def test_only_components_of_the_pinned_distribution(config: str) -> None:
    cfg = merged() if "+" in config else yaml.safe_load((DEPLOY / config).read_text())
    modules = distribution()
    for section, kind in KINDS.items():
        for name in cfg.get(section) or {}:
            component = name.split("/")[0].replace("_", "") + kind
            assert component in modules[section], (
                f"{section}.{name}: not in otelcol-contrib 0.136.0"
            )
    service = cfg["service"]
    for extension in service.get("extensions", []):
        assert extension in cfg["extensions"]
    for pipeline, spec in service["pipelines"].items():
        for part in ("receivers", "processors", "exporters"):
            for name in spec[part]:
                assert name in cfg[part], f"pipeline {pipeline} names undefined {part} {name}"


@pytest.mark.parametrize("config", ["config.yaml", "config.yaml+direct.yaml"])
def test_every_pipeline_scrubs_phi_before_exporting(config: str) -> None:
    cfg = merged() if "+" in config else yaml.safe_load((DEPLOY / config).read_text())
    for name, spec in cfg["service"]["pipelines"].items():
        assert "transform/phi" in spec["processors"], name
        assert spec["processors"][-1] == "batch", name
    assert merged()["service"]["pipelines"]["traces"]["exporters"] == ["clickhouse"]
    assert merged()["exporters"]["clickhouse"]["traces_table_name"] == "otel_traces"


# Values rxsight's scrubber redacts and values it keeps (the forms of DESIGN 8).
PHI_VALUES = [
    "SSN 123-45-6789 on file",
    "MRN: A1234567",
    "mrn#00998877",
    "DOB 1985-04-12",
    "date of birth: 04/12/1985",
    "contact jane.doe@example.org",
    "call (555) 123-4567 today",
    "+1 555.123.4567",
]
CLEAN_VALUES = ["PO-2024-00017", "site-a", "NDC-0002-8215-01", "12.50", "GR-44", "2026-12-01"]
OTTL_CALL = re.compile(
    r'^(\w+)\((\w+(?:\.\w+)?)(?:, "value")?, "((?:[^"\\]|\\.)*)"(?:, "(.*)")?\)$'
)


def ottl_statements() -> list[str]:
    transform = yaml.safe_load((DEPLOY / "config.yaml").read_text())["processors"]["transform/phi"]
    return [
        s
        for groups in (transform["trace_statements"], transform["log_statements"])
        for group in groups
        for s in group["statements"]
    ]


def ottl_string(literal: str) -> str:
    """An OTTL string literal's value: backslash escapes as Go's strconv.Unquote reads them."""
    return re.sub(r"\\(.)", r"\1", literal)


def collector_scrub(value: str) -> str:
    for statement in ottl_statements():
        function, _, pattern, replacement = OTTL_CALL.match(statement).groups()
        if function in ("replace_all_patterns", "replace_pattern"):
            value = re2.sub(ottl_string(pattern), replacement, value)
    return value


def test_ottl_statements_use_known_functions_and_re2_patterns() -> None:
    statements = ottl_statements()
    assert statements
    for statement in statements:
        m = OTTL_CALL.match(statement)
        assert m, f"not a statement this check understands: {statement}"
        function, target, pattern, _ = m.groups()
        assert function in {"delete_matching_keys", "replace_all_patterns", "replace_pattern"}
        assert target in {"attributes", "name", "status.message", "body"}
        re2.compile(ottl_string(pattern))  # the Collector's regexp is RE2: no look-around


@pytest.mark.parametrize("value", PHI_VALUES + CLEAN_VALUES)
def test_the_collector_redacts_what_rxsight_redacts(value: str) -> None:
    rxsight = PhiScrubber(PhiConfig()).scrub_value(value)
    collector = collector_scrub(value)
    assert (rxsight != value) == (collector != value), (value, rxsight, collector)
    if value in PHI_VALUES:
        assert "[REDACTED]" in collector


@pytest.mark.parametrize(
    ("key", "dropped"),
    [
        ("patient.name", True),
        ("patient_id", True),
        ("mrn", True),
        ("customer_mrn", True),
        ("dob", True),
        ("birth_date", True),
        ("ssn", True),
        ("PatientName", True),
        ("po_number", False),
        ("site", False),
        ("item_id", False),
        ("correlation.id", False),
    ],
)
def test_keys_that_name_patients_are_dropped(key: str, dropped: bool) -> None:
    delete = next(s for s in ottl_statements() if s.startswith("delete_matching_keys"))
    pattern = ottl_string(OTTL_CALL.match(delete).group(3))
    assert bool(re2.search(pattern, key)) is dropped


def test_the_redaction_processor_patterns_are_re2() -> None:
    redaction = yaml.safe_load((DEPLOY / "config.yaml").read_text())["processors"]["redaction/phi"]
    for pattern in redaction["blocked_values"]:
        re2.compile(pattern)
    assert redaction["allow_all_keys"] is True
