# Everything installs into ./venv from the pinned requirements (the same venv `pulumi up` uses).
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: setup plan test lint check clean bench docs charts contract verify

CHECKOV_VENV := venv-checkov
CHECKOV_VERSION := 3.3.30

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed

# The first run on a fresh machine installs for minutes: each step says what it does, and pip lists each
# package as it goes (no --quiet).
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@echo "==> setup: the program's venv $(VENV) from the pinned requirements (the first time takes minutes; pip lists each package)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements-dev.txt
	touch $@
	@echo "==> setup: $(VENV) ready"

# Checkov (the manifests' security checks in the tests) pins libraries that conflict with Pulumi's:
# it gets its own venv. Measured 2026-12-07 into a fresh venv on 2 shared cores (load average ~7): 132 s
# with an empty pip cache, 102 s with a warm one (it was estimated at 20 s before).
$(CHECKOV_VENV)/.installed: checkov-constraints.txt
	@echo "==> setup: Checkov $(CHECKOV_VERSION) in its own venv $(CHECKOV_VENV) (about 2 minutes)"
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar on -c checkov-constraints.txt checkov==$(CHECKOV_VERSION)
	touch $@
	@echo "==> setup: $(CHECKOV_VENV) ready"

# The contract tier (docs/contract-tier.md): vLLM's own parser and engine config, from the pinned
# release's PyPI wheel, on every rendered vLLM container. Its venv lives outside the clone and is reused
# by later runs on this machine; tests/contract/venv.sh skips it with a loud warning when disk is short.
VLLM_VERSION := $(shell sed -n '/^  vllm:/,/version:/s/^ *version: "v\{0,1\}\([^"]*\)"/\1/p' versions.yaml)
VLLM_VENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/aks-llm/venv-vllm-$(VLLM_VERSION)

contract: $(VENV)/.installed  ## vLLM's own code on every rendered vLLM container (separate venv, cached)
	@rc=0; tests/contract/venv.sh $(VLLM_VERSION) $(VLLM_VENV) || rc=$$?; \
	if [ $$rc -eq 75 ]; then exit 0; elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	AKS_LLM_VLLM_VENV=$(VLLM_VENV) AKS_LLM_CONTRACT_REQUIRED=1 $(BIN)/python -m pytest -m contract tests/contract

plan: $(VENV)/.installed  ## offline plan of $(STACK) under Pulumi mocks
	$(BIN)/python -m tools.plan --stack $(STACK)

# The plan renders the pinned Helm charts (versions.yaml). On a machine that cannot reach their
# repositories, prepare the cache first: `make charts` pulls them, `make charts FROM=DIR` copies
# DIR/<chart>-<version> folders (e.g. a copy of ../shared/charts).
charts: $(VENV)/.installed  ## every pinned chart into .cache/helm/charts (pull, or copy with FROM=DIR)
	$(BIN)/python -m tools.charts $(if $(FROM),--from $(FROM))

test: setup  ## the test suite, spread over the machine's cores (at most 4 workers; plain `pytest` runs it in one process)
	$(BIN)/python -m pytest -n auto --maxprocesses 4

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

verify: $(VENV)/.installed  ## after `pulumi up`: check the deployed $(STACK) (GPU nodes, models, endpoint, KEDA); VERIFY_ARGS="--load 8"
	$(BIN)/python -m tools.verify --stack $(STACK) $(VERIFY_ARGS)

bench: $(VENV)/.installed  ## wall time of each stack's offline plan (fresh processes; budget 3 s)
	$(BIN)/python -m tools.bench

check: lint test

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .cache
