# Yunshang: the two commands of the README, and a few helpers.
#
#   make run    set up, migrate, load the demo district into an empty database,
#               serve http://127.0.0.1:8000 (GraphQL at /graphql)
#   make test   set up, then format check, lint, types, the frontend modules' tests
#               (node), and the test suite, browser tests included: on the
#               embedded default (SQLite, in-process events) always, and again on
#               PostgreSQL and Redis when DATABASE_URL and REDIS_URL are both set
#
# Set-up creates .venv with `python3 -m venv` when it is missing, and installs the
# project into it only when pyproject.toml is newer than the stamp .venv/.installed.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help setup run test lint fix typecheck test-js test-embedded test-services sdl

help:
	@echo "make run        serve the demo at http://127.0.0.1:8000/graphql"
	@echo "make test       format check, lint, mypy, tests (embedded; then services)"
	@echo "make lint       ruff format --check and ruff check"
	@echo "make fix        ruff format and ruff check --fix"
	@echo "make typecheck  mypy (strict)"
	@echo "make test-js    the frontend modules' tests (node --test)"
	@echo "make sdl        regenerate schema.graphql"

$(BIN)/python:
	@if ! $(PYTHON) -m venv $(VENV); then \
	  rm -rf $(VENV); \
	  echo "make: '$(PYTHON) -m venv' failed; on Debian: apt-get install python3-venv" >&2; \
	  exit 1; \
	fi

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The browser libraries the frontends serve (Apache ECharts), from the committed
# lock file; no build step.
NPM_STAMP := frontends/node_modules/.package-lock.json

$(NPM_STAMP): frontends/package.json frontends/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "make: npm is missing (apt-get install npm): the cockpit needs ECharts" >&2; \
	  exit 1; }
	npm ci --prefix frontends --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMP) $(NPM_STAMP)

run: setup
	$(BIN)/python -m api serve

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

fix: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: setup
	$(BIN)/mypy

# The browser modules that run without a browser (the websocket client), on node.
test-js:
	@echo "== frontend module tests (node --test)"
	node --test frontends/tests/

# pytest exits 5 when it collects no test, which fails the target like any error.
test-embedded: setup
	@echo "== tests on the embedded default (SQLite, in-process events)"
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest $(PYTEST_ARGS)
	@echo "== again with graphql-core's own completion (YUNSHANG_FAST_EXECUTION=0)"
	@echo "   (the browser tests ran above: they do not depend on the executor)"
	env -u DATABASE_URL -u REDIS_URL YUNSHANG_FAST_EXECUTION=0 \
	  $(BIN)/python -m pytest --ignore=tests/e2e $(PYTEST_ARGS)

test-services: setup
	@if [[ -n "$${DATABASE_URL:-}" && -n "$${REDIS_URL:-}" ]]; then \
	  echo "== tests on PostgreSQL and Redis"; \
	  $(BIN)/python -m pytest $(PYTEST_ARGS); \
	else \
	  echo "== DATABASE_URL and REDIS_URL are not both set: no PostgreSQL + Redis run"; \
	fi

# Every step runs, so one run tells all that fails; the target fails if any did.
test: setup
	@failed=(); \
	for step in lint typecheck test-js test-embedded test-services; do \
	  $(MAKE) --no-print-directory $$step || failed+=("$$step"); \
	done; \
	if (( $${#failed[@]} )); then \
	  echo "make test: FAILED: $${failed[*]}" >&2; \
	  exit 1; \
	fi; \
	echo "make test: all passed"

sdl: setup
	$(BIN)/python -m api schema --output schema.graphql
