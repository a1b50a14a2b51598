# Everything installs into ./venv from the pinned requirements (the same venv `pulumi up` uses).
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: setup plan test lint check clean bench docs

CHECKOV_VENV := venv-checkov
CHECKOV_VERSION := 3.3.30

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Checkov (the manifests' security checks in the tests) pins libraries that conflict with Pulumi's:
# it gets its own venv (about 20 s to install).
$(CHECKOV_VENV)/.installed: checkov-constraints.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c checkov-constraints.txt checkov==$(CHECKOV_VERSION)
	touch $@

plan: $(VENV)/.installed  ## offline plan of $(STACK) under Pulumi mocks
	$(BIN)/python -m tools.plan --stack $(STACK)

test: setup  ## the test suite
	$(BIN)/python -m pytest

lint: $(VENV)/.installed  ## ruff, mypy, import-linter (one direction), zizmor (offline), generated docs current
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/mypy policy/__main__.py  # the policy pack's entry point (its own __main__)
	$(BIN)/lint-imports  # the layers contract in pyproject.toml
	$(BIN)/zizmor --offline --min-severity=high .github/workflows
	$(BIN)/python -m tools.gen_docs --check

docs: $(VENV)/.installed  ## regenerate docs/config-reference.md, docs/rules.md, schema/stack-config.schema.json, Pulumi.yaml config:
	$(BIN)/python -m tools.gen_docs

bench: $(VENV)/.installed  ## wall time of each stack's offline plan (fresh processes; budget 3 s)
	$(BIN)/python -m tools.bench

check: lint test

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .cache
