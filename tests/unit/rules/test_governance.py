"""Governance configuration: `flows.<name>` deprecated versions and stale days,
`source_systems:`, and `rules.thresholds.governance`, each mistake named by its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rules import config as rules_config
from rules.families.governance import DAY_MS, query_params
from rxsight.config import ConfigError, load_settings


def _settings(tmp_path: Path, config: dict[str, Any]):
    path = tmp_path / "rxsight.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_settings(data_dir=tmp_path / "data", config_path=path, env={})


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"flows": {"erp-po": {"stale_days": 0}}}, "flows.erp-po.stale_days: "),
        ({"flows": {"erp-po": {"stale_days": 366}}}, "flows.erp-po.stale_days: "),
        (
            {"flows": {"erp-po": {"deprecated_versions": "v1"}}},
            "flows.erp-po.deprecated_versions: ",
        ),
        ({"flows": {"erp-po": {"deprecated_versions": ["v1", ""]}}}, "deprecated_versions.1: "),
        (
            {"flows": {"erp-po": {"deprecated_versions": ["v1", "v2", "v1"]}}},
            "flows.erp-po.deprecated_versions: Value error, listed more than once: v1",
        ),
        ({"flows": {"erp-po": {"retired": True}}}, "flows.erp-po.retired: Extra inputs"),
        ({"source_systems": {"erp": {"owner": ["a"]}}}, "source_systems.erp.owner: "),
        ({"source_systems": {"erp": {"team": "x"}}}, "source_systems.erp.team: Extra inputs"),
        ({"source_systems": ["erp"]}, "source_systems: "),
    ],
)
def test_a_bad_governance_setting_is_refused_naming_its_path(
    tmp_path: Path, config: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, config)
    assert refused.value.source.endswith("rxsight.yaml")
    assert any(p.startswith(problem) or problem in p for p in refused.value.problems), (
        refused.value.problems
    )


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"min_coverage_pct": 101}, "rules.thresholds.governance.min_coverage_pct"),
        ({"min_spans": 0}, "rules.thresholds.governance.min_spans"),
        ({"window_hours": 0.5}, "rules.thresholds.governance.window_hours"),
        ({"stale_days": 0}, "rules.thresholds.governance.stale_days"),
    ],
)
def test_bad_governance_thresholds_name_their_path(
    tmp_path: Path, section: dict[str, Any], path: str
) -> None:
    settings = _settings(tmp_path, {"rules": {"thresholds": {"governance": section}}})
    with pytest.raises(rules_config.RulesConfigError) as refused:
        rules_config.parse_rules_config(settings)
    assert any(f"{path}: " in p for p in refused.value.problems), refused.value.problems


def test_registered_flows_and_sources_reach_the_query(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        {
            "flows": {
                "erp-po": {"owner": "erp", "deprecated_versions": ["v1", "2019-01"]},
                "fax": {"stale_days": 7},
            },
            "source_systems": {"erp": {"owner": "erp-integration"}, "pharmacy": {}},
            "rules": {"thresholds": {"governance": {"stale_days": 45, "min_coverage_pct": 99.5}}},
        },
    )
    section = rules_config.family_thresholds(
        rules_config.parse_rules_config(settings), "governance"
    )
    params = query_params(section, settings)
    assert params["gov_flows"] == ["erp-po", "fax"]
    # A flow without its own stale_days takes the section's.
    assert params["gov_stale_ms"] == [45 * DAY_MS, 7 * DAY_MS]
    assert list(zip(params["gov_dep_flows"], params["gov_dep_versions"], strict=True)) == [
        ("erp-po", "v1"),
        ("erp-po", "2019-01"),
    ]
    assert params["gov_sources"] == ["erp", "pharmacy"]
    assert params["gov_coverage_ppm"] == 995_000
    assert params["gov_window_ms"] == 24 * 3_600_000 and params["gov_min_spans"] == 20
