"""Configuration errors name file and path; every stage imports from this repository."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from rxsight.config import ConfigError, load_config
from tests.support import REPO


@pytest.mark.parametrize(
    "package", ["rxsight", "collector", "rules", "alerts", "metrics", "web", "simulator"]
)
def test_top_level_packages_are_this_repositorys(package):
    # rules, metrics, collector and alerts are also names of unrelated PyPI packages.
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().is_relative_to(REPO), module.__file__


def test_config_errors_name_the_file_and_the_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "ingest:\n  spool:\n    flush_interval_s: -1\nsites:\n  x: {timezone: Mars/Base}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text
    assert "ingest.spool.flush_interval_s" in text
    assert "sites.x.timezone" in text and "Mars/Base" in text


def test_config_check_command_reports_problems_and_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ingest:\n  tokens:\n    - {name: erp, token: short}\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rxsight.cli",
            "config",
            "check",
            "--config",
            str(bad),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode != 0
    assert "ingest.tokens.0.token" in run.stderr
    good = tmp_path / "good.yaml"
    good.write_text("flows:\n  erp-po-sync: {tier: 1}\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rxsight.cli",
            "config",
            "check",
            "--config",
            str(good),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "OK" in run.stdout
