"""The `rules:` section: custom rules may not take a built-in rule's id or a family's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rules import config as rules_config
from rules import families
from rxsight.config import load_settings


def _load_with_custom(tmp_path: Path, rule_id: str) -> rules_config.LoadedRules:
    rules_dir = tmp_path / "custom"
    rules_dir.mkdir()
    rule = {"id": rule_id, "family": "mine", "sql": "SELECT 'x' AS reason"}
    (rules_dir / "rule.yaml").write_text(yaml.safe_dump(rule))
    config = tmp_path / "rxsight.yaml"
    config.write_text(yaml.safe_dump({"rules": {"custom": ["custom"]}}))
    settings = load_settings(data_dir=tmp_path / "data", config_path=config, env={})
    return rules_config.load(settings)


@pytest.mark.parametrize("rule_id", ["receipt_posting", "delayed_receipt", "sla_breach"])
def test_a_custom_rule_cannot_take_a_builtin_id(tmp_path: Path, rule_id: str) -> None:
    loaded = _load_with_custom(tmp_path, rule_id)
    assert loaded.custom == ()
    assert len(loaded.problems) == 1
    assert f"rule id {rule_id!r} is already used" in loaded.problems[0]


def test_a_custom_rule_with_its_own_id_loads(tmp_path: Path) -> None:
    loaded = _load_with_custom(tmp_path, "big_invoice")
    assert [r.id for r in loaded.custom] == ["big_invoice"] and loaded.problems == ()


def test_every_builtin_rule_id_is_reserved() -> None:
    ids = {rule.id for _, rule in families.builtin_rules()}
    assert "receipt_posting" in ids
    assert ids <= families.builtin_ids()


def test_site_overrides_reach_the_lookup_arrays_only_for_per_site_families() -> None:
    cfg = rules_config.RulesConfig.model_validate(
        {
            "thresholds": {"unmatched_invoice": {"price_tolerance_pct": "3"}},
            "sites": {"east": {"unmatched_invoice": {"price_tolerance_pct": "10"}}},
        }
    )
    keys, values = rules_config.threshold_arrays(cfg)
    table = dict(zip(keys, values, strict=True))
    assert table["invoice.price_tolerance_ppm|*"] == 30_000
    assert table["invoice.price_tolerance_ppm|east"] == 100_000
    # A site sets only what it overrides.
    assert "delayed.grace_ms|east" not in table and table["delayed.grace_ms|*"] == 4 * 3_600_000
    with pytest.raises(ValueError, match="sla_breach"):
        rules_config.RulesConfig.model_validate({"sites": {"east": {"sla_breach": {}}}})
