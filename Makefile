# Everything installs into ./venv from the pinned requirements (the same venv `pulumi up` uses).
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: setup plan test lint check clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

plan: setup  ## offline plan of $(STACK) under Pulumi mocks
	$(BIN)/python -m tools.plan --stack $(STACK)

test: setup  ## the test suite
	$(BIN)/python -m pytest

lint: setup  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/mypy policy/__main__.py  # the policy pack's entry point (its own __main__)

check: lint test

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
