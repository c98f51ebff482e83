# `make demo` and `make test` do all the set-up on a fresh machine.
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
STAMP    = $(VENV)/.installed
CHROMIUM = /usr/bin/chromium

.PHONY: demo test lint install chromium alertmanager prometheus clean bench reliability

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the console tests (Playwright drives it through executable_path;
# it never downloads a browser of its own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's Alertmanager 0.25 (amtool): the alerts differential tests re-check their recorded
# fixtures against it when it is present (about 40 MB; the tests pass on the fixtures alone).
alertmanager:
	@command -v amtool >/dev/null 2>&1 || { \
	  echo "installing Debian prometheus-alertmanager (amtool)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq prometheus-alertmanager >/dev/null \
	  || echo "prometheus-alertmanager not installed: the alerts tests use their recorded fixtures only"; }

# Debian's Prometheus (and promtool): a real Prometheus scrapes a live rxsight in the metrics
# and dashboard tests (every PromQL panel), promtool checks the exposition and
# deploy/prometheus.yml (they skip without it).
prometheus:
	@command -v prometheus >/dev/null 2>&1 || { \
	  echo "installing Debian prometheus"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
	  || echo "prometheus not installed: the Prometheus scrape test is skipped"; }

demo: $(STAMP)
	$(BIN)/rxsight demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The suite on PYTEST_WORKERS pytest-xdist workers, each test module whole on one worker
# (loadfile: a module's server starts once). Most of the suite waits on servers starting,
# sockets and sleeps, so more workers than the machine's 2 cores pay off. Its temporary files
# (every test server's data directory, the store tests' chDB directory) go to a RAM-backed
# file system when one with room is there: ClickHouse writes many small files per insert and
# per migration, and on this machine's disk creating them cost about a third of the suite's
# time. The reliability tests then run alone, on disk: they measure memory and overload and
# time kill -9 recoveries, which neighbours on the same cores would blur. The slowest tests
# are listed at the end, to keep the whole run under its 20 minutes.
PYTEST_WORKERS ?= 3
TEST_TMP_ROOT ?= $(shell [ -w /dev/shm ] && [ "$$(df -Pk /dev/shm | awk 'NR==2 {print $$4}')" -gt 4194304 ] && echo /dev/shm || echo /tmp)
test: $(STAMP) chromium alertmanager prometheus lint
	@tmp=$$(mktemp -d $(TEST_TMP_ROOT)/rxsight-tests-XXXXXX) || exit 1; echo "temporary files in $$tmp"; \
	TMPDIR=$$tmp $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=25 tests --ignore=tests/reliability; \
	rc=$$?; rm -rf $$tmp; exit $$rc
	$(BIN)/python -m pytest -q tests/reliability

# The reliability suite's long profile (the short one runs in `make test`): 20 kill -9
# trials of mixed ingest and of webhook sends, lost acknowledgements over 400 batches,
# 90 s of overload under a memory cap, OTLP conformance with the SDK exporters; then the
# access matrix, schemathesis per role and the audit tests. Raw counts are printed.
RELIABILITY_ALSO = tests/integration/rxsight/test_access_matrix.py \
	tests/integration/rxsight/test_api_fuzz.py \
	tests/integration/rxsight/test_audit_completeness.py \
	tests/integration/rxsight/test_audit_verify.py
reliability: $(STAMP)
	RXSIGHT_RELIABILITY_PROFILE=long $(BIN)/python -m pytest -q -s tests/reliability $(RELIABILITY_ALSO)

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .rxsight test-artifacts .pytest_cache
