# wistia-analytics — every target sets itself up (virtualenv, packages); nothing needs installing by hand.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help venv sam-venv demo sandbox test chromium lint typecheck bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z_-]+:.*?## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create .venv and install the package with dev extras

# The SAM CLI pins its own boto3 and friends, so it lives in a virtualenv of its own (used by tests/aws).
SAM_VENV := .venv-sam
SAM_CLI_VERSION := 1.170.0
SAM_STAMP := $(SAM_VENV)/.installed-sam-$(SAM_CLI_VERSION)

$(SAM_STAMP):
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==$(SAM_CLI_VERSION)"
	@rm -f $(SAM_VENV)/.installed-sam-* && touch $@

sam-venv: $(SAM_STAMP) ## Create .venv-sam with the AWS SAM CLI (validate, lint and build the template)

demo: $(STAMP) ## Run the main job end to end on the embedded default (built-in sandbox)
	$(BIN)/wistia-analytics demo

sandbox: $(STAMP) ## Serve the sandbox Wistia API on 127.0.0.1:8765 (small account)
	$(BIN)/wistia-analytics sandbox --size small

test: $(STAMP) sam-venv chromium ## Run the whole test suite (lint and types included)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile --durations=15  # two workers: much of the suite waits on subprocesses, HTTP and Spark

chromium: ## Install Debian's Chromium for the browser tests (never a downloaded browser build)
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP) ## ruff + import contracts (layers) + mypy + cfn-lint
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/cfn-lint infra/template.yaml

typecheck: $(STAMP) ## mypy only
	$(BIN)/mypy

bench: $(STAMP) ## Run the benchmarks in benchmarks/ and print figures
	$(BIN)/python -m benchmarks

clean: ## Remove the virtualenv, caches and the local lake
	rm -rf $(VENV) $(SAM_VENV) .pytest_cache .mypy_cache .ruff_cache lake test-output
