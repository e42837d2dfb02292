# The menu: `make help` lists every target.
SHELL := /bin/bash
VENV := .venv
TOOLS := .tools
PY := $(VENV)/bin/python
SAM := $(TOOLS)/bin/sam
UV = $(shell command -v uv 2>/dev/null || echo "python3.11 -m uv")
PYTEST := $(PY) -m pytest
FUNCTION ?= DispatcherFunction
EVENT ?= events/run_ingest.json

.DEFAULT_GOAL := help
.PHONY: help setup lock test lint unit integration e2e validate build demo local-up invoke bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.done $(TOOLS)/.done ## Create .venv (project + acryl-datahub) and .tools (SAM CLI), pinned

$(VENV)/.done: requirements/dev.lock pyproject.toml
	command -v uv >/dev/null || python3.11 -m uv --version >/dev/null 2>&1 || python3.11 -m pip install --quiet uv
	$(UV) venv --quiet --allow-existing -p python3.11 $(VENV)
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet -r requirements/dev.lock
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet --no-deps -e .
	touch $@

$(TOOLS)/.done: requirements/tools.lock
	command -v uv >/dev/null || python3.11 -m uv --version >/dev/null 2>&1 || python3.11 -m pip install --quiet uv
	$(UV) venv --quiet --allow-existing -p python3.11 $(TOOLS)
	VIRTUAL_ENV=$(TOOLS) $(UV) pip install --quiet -r requirements/tools.lock
	touch $@

lock: ## Re-pin requirements/*.lock from requirements/*.in
	$(UV) pip compile --quiet -p 3.11 requirements/dev.in -o requirements/dev.lock
	$(UV) pip compile --quiet -p 3.11 requirements/tools.in -o requirements/tools.lock
	python3.11 runner/pin_requirements.py

test: setup lint validate ## Everything CI checks: ruff, hadolint, cfn-lint, sam validate --lint, all tests
	$(PYTEST) tests

lint: setup ## ruff + hadolint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint runner/Dockerfile

validate: setup ## cfn-lint and sam validate --lint on template.yaml
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --region us-east-1

unit: setup ## Unit tests (no network)
	$(PYTEST) tests/unit

integration: setup ## moto, the GMS stand-in, real subprocesses
	$(PYTEST) tests/integration

e2e: setup ## The whole flow through the local stack
	$(PYTEST) tests/e2e

build: setup ## sam build (no Docker needed)
	$(SAM) build

demo: setup ## Run the whole flow locally: a success, a cancel, an unknown secret
	$(PY) -m local_stack demo

local-up: setup ## The local stack in the foreground until Ctrl-C (writes .local/stack.json)
	$(PY) -m local_stack up

invoke: setup ## Invoke a handler in-process: make invoke FUNCTION=DispatcherFunction EVENT=events/run_ingest.json
	$(PY) -m local_stack invoke $(FUNCTION) $(EVENT)

bench: setup ## Benchmarks (on demand; figures go in the closing notes)
	$(PY) -m bench

clean: ## Remove build output and local state
	rm -rf .aws-sam .local .pytest_cache
