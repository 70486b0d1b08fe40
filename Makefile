# Two commands on a fresh machine (Python 3.11+, Node/npm): `make run` and `make test`.
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask
STATIC := tracker/static/tracker.css

.PHONY: run test lint format migrate demo assets clean

run: $(VENV)/.installed $(STATIC)
	$(FLASK) db upgrade heads
	$(FLASK) tracker demo --if-empty
	@echo "Starting on http://127.0.0.1:$(PORT) (Ctrl-C stops the web app and the scheduler)"
	@trap 'kill 0' INT TERM EXIT; \
	  $(FLASK) tracker scheduler & \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-test $(STATIC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed
	$(FLASK) db upgrade heads

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
