# The menu: `make help` lists every target.
SHELL := /bin/bash
VENV := .venv
TOOLS := .tools
PY := $(VENV)/bin/python
SAM := $(TOOLS)/bin/sam
# uv from PATH when there is one, else uv installed by pip into the bootstrap venv $(BOOT). The
# fallback is a fixed path, not a probe: make expands a recipe whole before its first line runs.
# Every install names its target interpreter (--python), so no install ever lands in the
# machine's own Python. `make setup UV_ON_PATH=` takes the fresh-machine path (.ci/run does).
BOOT := .uv
UV_VERSION := 0.13.9
UV_ON_PATH := $(shell command -v uv 2>/dev/null)
UV := $(or $(UV_ON_PATH),$(BOOT)/bin/uv)
PYTEST := $(PY) -m pytest
# Test processes (pytest-xdist); a file's tests stay in one process, so module fixtures (moto accounts,
# local stacks) are built once. Every test binds port 0, uses its own tmp_path and its own moto state.
TEST_WORKERS ?= 2
PARALLEL := -n $(TEST_WORKERS) --dist loadfile
FUNCTION ?= DispatcherFunction
EVENT ?= events/run_ingest.json

.DEFAULT_GOAL := help
.PHONY: help setup lock test lint unit integration e2e validate build demo local-up invoke selftest screenshot bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.done $(TOOLS)/.done ## Create .venv (project + acryl-datahub) and .tools (SAM CLI), pinned

$(BOOT)/bin/uv:
	python3.11 -m venv $(BOOT)
	$(BOOT)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.done: requirements/dev.lock pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing -p python3.11 $(VENV)
	$(UV) pip install --quiet --python $(VENV)/bin/python -r requirements/dev.lock
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	touch $@

$(TOOLS)/.done: requirements/tools.lock | $(UV)
	$(UV) venv --quiet --allow-existing -p python3.11 $(TOOLS)
	$(UV) pip install --quiet --python $(TOOLS)/bin/python -r requirements/tools.lock
	touch $@

lock: | $(UV) ## Re-pin requirements/*.lock from requirements/*.in
	$(UV) pip compile --quiet --no-header --no-annotate -p 3.11 requirements/dev.in -o requirements/dev.lock
	$(UV) pip compile --quiet --no-header --no-annotate -p 3.11 requirements/tools.in -o requirements/tools.lock
	python3.11 runner/pin_requirements.py

test: setup lint validate ## Everything CI checks: ruff, hadolint, cfn-lint, sam validate --lint, all tests (IAM lint + simulation included)
	$(PYTEST) $(PARALLEL) tests

lint: setup ## ruff + mypy + hadolint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint runner/Dockerfile

validate: setup ## cfn-lint and sam validate --lint on template.yaml
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --region us-east-1

unit: setup ## Unit tests (no network)
	$(PYTEST) $(PARALLEL) tests/unit

integration: setup ## moto, the GMS stand-in, real subprocesses
	$(PYTEST) $(PARALLEL) tests/integration

e2e: setup ## The whole flow through the local stack
	$(PYTEST) $(PARALLEL) tests/e2e

build: setup ## sam build (no Docker needed)
	$(SAM) build

demo: setup ## Run the whole flow locally: a success, a cancel, an unknown secret, a DataHub-stored secret
	$(PY) -m local_stack demo

screenshot: setup ## README's picture of the stand-in's run page after a run: docs/img/run-page.png (needs chromium)
	$(PY) -m local_stack screenshot docs/img/run-page.png

local-up: setup ## The local stack in the foreground until Ctrl-C (writes .local/stack.json)
	$(PY) -m local_stack up

selftest: setup ## A TEST_CONNECTION through a stack, hop by hop: make selftest STACK_NAME=name [REGION=...] (LOCAL=1: the local stack)
	$(PY) -m selftest $(if $(LOCAL),--local,--stack-name $(STACK_NAME)) $(if $(REGION),--region $(REGION))

invoke: setup ## Invoke a handler in-process: make invoke FUNCTION=DispatcherFunction EVENT=events/run_ingest.json
	$(PY) -m local_stack invoke $(FUNCTION) $(EVENT)

bench: setup ## Benchmarks, then issue 13's figures vs references and goals (BENCH=--quick: shorter)
	$(PY) -m bench $(BENCH)

clean: ## Remove build output and local state
	rm -rf .aws-sam .local .pytest_cache $(BOOT)
