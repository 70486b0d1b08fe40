# Two commands on a fresh machine (Python 3.11+, Node/npm): `make run` and `make test`.
PYTHON ?= python3
PORT ?= 5000
# Links in alert emails point where `make run` serves, unless the address people use is set.
BASE_URL := $(or $(TRACKER_BASE_URL),http://127.0.0.1:$(PORT))
# Test processes (pytest-xdist): one database per worker, on SQLite and PostgreSQL alike. Two a
# core: a test spends much of its time waiting on the database server, the browser or a child
# process (on 2 cores, 4 workers took the suite from 11.5 to 10 minutes). At most 8, so a big
# machine's workers stay well inside a PostgreSQL server's default 100 connections.
TEST_WORKERS ?= $(shell n=$$(( $$(nproc 2>/dev/null || echo 1) * 2 )); echo $$(( n > 8 ? 8 : n )))
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask
STATIC := tracker/static/tracker.css

.PHONY: run test test-clock lint format migrate demo assets clean audit

run: $(VENV)/.installed $(STATIC)
	$(FLASK) db upgrade
	$(FLASK) tracker demo --if-empty
	@echo "Starting on http://127.0.0.1:$(PORT) (Ctrl-C stops the web app and the scheduler)"
	@trap 'kill 0' INT TERM EXIT; \
	  export TRACKER_BASE_URL="$(BASE_URL)"; \
	  $(FLASK) tracker scheduler & \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-test $(STATIC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r tracker
	$(BIN)/pytest -n $(TEST_WORKERS)

# The time-sensitive tests again at the awkward moments (London time): just after midnight in
# summer (London's date is a day ahead of UTC's until 01:00), just before 09:00, just after 17:00, just before midnight, a Saturday, Christmas Day, and two seconds
# before the clocks go back from BST to GMT. Every process in a test runs on a clock that starts at
# TRACKER_TEST_NOW (tests/conftest.py). The clock is the same on both databases: SQLite only.
CLOCK_MOMENTS := 2026-07-15T00:30+01:00 2026-11-18T08:59 2026-11-18T17:01 2026-11-18T23:59 \
  2026-11-21T10:30 2026-12-25T10:30 2026-10-25T01:59:58+01:00
TIME_SENSITIVE := tests/services tests/shares tests/notes tests/thresholds tests/concerns \
  tests/challenges tests/leads tests/inbox tests/reports tests/auth tests/cases tests/audit \
  tests/api/test_calls.py tests/api/test_tokens.py tests/fixtures/test_demo.py tests/browser \
  tests/retention tests/subject_access tests/break_glass

test-clock: $(VENV)/.installed-test $(STATIC)
	@set -e; for moment in $(CLOCK_MOMENTS); do \
	  echo "== the time-sensitive tests at $$moment (London) =="; \
	  TRACKER_TEST_NOW=$$moment TRACKER_TEST_DATABASE_URL= $(BIN)/pytest -n $(TEST_WORKERS) $(TIME_SENSITIVE); \
	done

# Supply chain: bandit over the code, and known vulnerabilities in every pinned Python package
# (pip-audit: PyPI's JSON API or OSV) and npm package (npm audit; the assets are devDependencies
# but GOV.UK Frontend's script is served to browsers, so all of them count). Where a
# vulnerability database cannot be reached it says so and fails: an unchecked audit never passes.
audit: $(VENV)/.installed-test node_modules/.installed
	$(BIN)/bandit -q -r tracker
	@$(BIN)/pip-audit --strict --progress-spinner off || { \
	  echo "make audit: pip-audit found vulnerabilities, or could NOT check every package (no"; \
	  echo "  vulnerability data from PyPI's JSON API or OSV on this network): see above"; exit 1; }
	@npm audit --audit-level=low || { \
	  echo "make audit: npm audit found advisories, or the registry's advisory service could NOT"; \
	  echo "  be reached (see above)"; exit 1; }

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed
	$(FLASK) db upgrade

demo: $(VENV)/.installed
	$(FLASK) tracker demo

assets: $(STATIC)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $(VENV)/.installed $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(STATIC): node_modules/.installed $(wildcard tracker/assets/*)
	npm run --silent build

clean:
	rm -rf $(VENV) node_modules tracker/static
