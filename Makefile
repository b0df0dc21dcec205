# pyairtable-infra: every command a platform engineer needs, offline unless it says otherwise.
#   make plan                 offline plan of every stack (make plan STACK=dev JSON=dev.json for one)
#   make test                 lint, types and the test suite
#   make help                 every target, one line each; README.md explains them

VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
STACK   ?=
JSON    ?=
BASE    ?= HEAD
FROM    ?= plan
OFFLINE ?=

.PHONY: help test-routine venv plan plan-diff snapshots test lint typecheck pytest bench cost cost-diff cost-actuals prices preflight refresh-upstream clean

help: ## list every target with one line each
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 24

venv: $(STAMP) ## create .venv from the pinned requirements and install the npm tools (runs once, on demand)
$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	npm ci --silent --no-audit --no-fund
	touch $(STAMP)

plan: $(STAMP) ## offline plan of every stack (STACK=dev for one, JSON=file.json to write the plan)
	$(PYTHON) -m tools.plan $(STACK) $(if $(JSON),--json $(JSON))

# make plan-diff A B: A and B are stacks (dev), stacks at a git revision (dev@main), or JSON plan files.
plan-diff: $(STAMP) ## compare two plans: make plan-diff dev prod | dev@main dev | a.json b.json
	$(PYTHON) -m tools.plan_diff $(filter-out plan-diff,$(MAKECMDGOALS))

snapshots: $(STAMP) ## rewrite tests/snapshots/<stack>.json from the current program
	$(PYTHON) -m tools.snapshots --write

lint: $(STAMP) ## ruff check and ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## pyright on the program, tools and tests
	$(VENV)/bin/pyright __main__.py components tools tests bootstrap policy

pytest: $(STAMP) ## the test suite
	$(VENV)/bin/pytest

# The type check and the tests run side by side (-j2: pyright and pytest each keep a core busy).
test: $(STAMP) ## lint, types and the test suite, the type check beside the tests (CI runs it)
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck pytest

test-routine: $(STAMP) ## the routine-change proof: one more node, service and price in a copy, then the whole suite there
	$(VENV)/bin/pytest -m routine

bench: $(STAMP) ## time the offline plan against the floor of importing the SDKs
	$(PYTHON) -m tools.bench

cost: $(STAMP) ## the priced bill of every stack: report and chart in build/ (FROM=pulumi reads real outputs)
	$(PYTHON) -m tools.cost_report --from $(FROM)

cost-diff: $(STAMP) ## the PR comment against BASE: change per stack and item, budget breaches (FAIL_ON_BUDGET=1 fails), bill folded
	$(PYTHON) -m tools.cost_comment --base $(BASE)

cost-actuals: $(STAMP) ## Cost Explorer's month-to-date spend beside the estimate, STACK=dev (needs AWS credentials)
	$(PYTHON) -m tools.cost_actuals --stack $(STACK)

prices: $(STAMP) ## rebuild data/prices.yaml from AWS's public offer files and Spot Advisor data (needs network)
	$(PYTHON) -m tools.prices

preflight: $(STAMP) ## what only a real machine has, for STACK=<stack>: CLIs, credentials, backend, cluster API (OFFLINE=1)
	$(PYTHON) -m tools.preflight $(STACK) $(if $(OFFLINE),--offline)

refresh-upstream: $(STAMP) ## rebuild data/upstream/ from the pinned upstream commits (needs network and git)
	$(PYTHON) -m tools.refresh_upstream

clean: ## remove .venv, caches and build/
	rm -rf $(VENV) .pytest_cache .ruff_cache build

# plan-diff's operands are goals too; let make accept them as no-ops.
ifneq ($(filter plan-diff,$(MAKECMDGOALS)),)
%:
	@:
endif
