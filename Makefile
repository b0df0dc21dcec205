# pyairtable-infra: every command a platform engineer needs, offline unless it says otherwise.
#   make plan                 offline plan of every stack (make plan STACK=dev JSON=dev.json for one)
#   make test                 lint, types and the test suite
#   make preflight STACK=dev  what only a real machine has (CLIs, credentials, backend, cluster API); OFFLINE=1
#   make refresh-upstream     rebuild data/upstream/ from the upstream repositories (needs network and git)
# See README.md for the rest.

VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
STACK   ?=
JSON    ?=
BASE    ?= HEAD
FROM    ?= plan
OFFLINE ?=

.PHONY: venv plan plan-diff snapshots test lint typecheck pytest bench cost cost-diff preflight refresh-upstream clean

venv: $(STAMP)
$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	npm ci --silent --no-audit --no-fund
	touch $(STAMP)

plan: $(STAMP)
	$(PYTHON) -m tools.plan $(STACK) $(if $(JSON),--json $(JSON))

# make plan-diff A B: A and B are stacks (dev), stacks at a git revision (dev@main), or JSON plan files.
plan-diff: $(STAMP)
	$(PYTHON) -m tools.plan_diff $(filter-out plan-diff,$(MAKECMDGOALS))

snapshots: $(STAMP)
	$(PYTHON) -m tools.snapshots --write

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/pyright __main__.py components tools tests

pytest: $(STAMP)
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(PYTHON) -m tools.bench

cost: $(STAMP)
	$(PYTHON) -m tools.cost_report --from $(FROM)

cost-diff: $(STAMP)
	$(PYTHON) -m tools.cost_report --diff $(BASE)

preflight: $(STAMP)
	$(PYTHON) -m tools.preflight $(STACK) $(if $(OFFLINE),--offline)

refresh-upstream: $(STAMP)
	$(PYTHON) -m tools.refresh_upstream

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build

# plan-diff's operands are goals too; let make accept them as no-ops.
ifneq ($(filter plan-diff,$(MAKECMDGOALS)),)
%:
	@:
endif
