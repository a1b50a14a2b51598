"""Shared fixtures: the real program run under Pulumi mocks, once per stack per session."""

from __future__ import annotations

import importlib
import json
import os
import sys
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from config.errors import ConfigError, Problem
from config.plan_date import PLAN_DATE_ENV
from config.prices import OVERRIDE_ENV
from config.schema import StackConfig
from stack.loader import PROJECT, parse_stack_config
from tools.mocks import ProgramRun, Recorded
from tools.plan import run_stack
from tools.stack_config import StackSettings, load_stack_settings

ROOT = Path(__file__).resolve().parent.parent
# The program's packages: the layers of the import-linter contract (pyproject.toml), top first.
PROGRAM_PACKAGES: tuple[str, ...] = tuple(
    next(
        c["layers"]
        for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
        if c["type"] == "layers"
    )
)
# Tests plan as of a fixed date (AKS version end of life, budget start): they must not move with the
# calendar. A test that needs another date sets the variable itself (monkeypatch.setenv).
TEST_PLAN_DATE = "2026-12-01"
os.environ.setdefault(PLAN_DATE_ENV, TEST_PLAN_DATE)
_CACHE: dict[str, tuple[StackSettings, ProgramRun]] = {}

# Property tests are deterministic (issue 20): every run draws the same examples (derandomize: the seed
# comes from the test's own code), keeps no example database between runs and has no deadline (timing
# on a loaded machine is no property). HYPOTHESIS_PROFILE=explore draws fresh examples, for hunting.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


# Each decision function, by the module that defines it (tests/test_plan_once.py: each runs once per plan).
DECISIONS = {
    "plan_stack": "planning.stack_plan",
    "plan_models": "sizing.deployments",
    "sizing_skus": "sizing.nap",
    "agent_pool_specs": "sizing.agent_pools",
    "nodepool_specs": "sizing.nap",
    "node_class_specs": "sizing.nap",
    "quota_rows": "sizing.quota",
    "nap_summary": "sizing.nap_summary",
    "network_plan": "sizing.network",
    "private_endpoint_targets": "sizing.network",
    "worker_plan": "sizing.queue_worker",
    "estimate_cost": "cost.estimate",
    "http_readiness_timeout_seconds": "renderers.helm_values",
    "kaito_release": "planning.stack_plan",
}
_CALLS: dict[str, Counter[str]] = {}


def _counting(name: str, original: Callable[..., Any], calls: Counter[str]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return original(*args, **kwargs)

    return counted


@contextmanager
def counting_decisions() -> Iterator[Counter[str]]:
    """Count each decision function's calls wherever a loaded module holds it (``from x import f``
    included); ``size_model`` only where a model is planned (``sizing.deployments``) and the cold-start
    prediction (``sizing.cold_start.predict``): per model."""
    importlib.import_module("components.platform")  # every module that may hold one, loaded before
    calls: Counter[str] = Counter()
    with pytest.MonkeyPatch.context() as patch:
        for name, home in DECISIONS.items():
            original = getattr(importlib.import_module(home), name)
            wrapper = _counting(name, original, calls)
            for module in list(sys.modules.values()):
                if module is not None and vars(module).get(name) is original:
                    patch.setattr(module, name, wrapper)
        deployments = importlib.import_module("sizing.deployments")
        patch.setattr(deployments, "size_model", _counting("size_model", deployments.size_model, calls))
        workloads = importlib.import_module("sizing.workloads")
        patch.setattr(workloads.cs, "predict", _counting("predict_cold_start", workloads.cs.predict, calls))
        yield calls


def planned(stack: str) -> tuple[StackSettings, ProgramRun]:
    """Run the program for a committed stack file (cached: the stack files do not change in a run),
    counting its decision calls once (``planned_calls``)."""
    if stack not in _CACHE:
        with counting_decisions() as calls:
            _CACHE[stack] = run_stack(ROOT, stack)
        _CALLS[stack] = calls
    return _CACHE[stack]


def planned_calls(stack: str) -> Counter[str]:
    """The decision calls of ``planned(stack)``'s program run (loader, rules, plan, components)."""
    planned(stack)
    return _CALLS[stack]


def run_with(tmp_path: Path, stack_yaml: str, stack: str = "test") -> ProgramRun:
    """Run the program with an ad-hoc stack file."""
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(stack_yaml)
    return run_stack(ROOT, stack, path)[1]


def parse_with(tmp_path: Path, stack_yaml: str, stack: str = "test") -> StackConfig:
    """The pure loader and rules over an ad-hoc stack file, read as the program reads it (no program run).

    Raises the ``ConfigError`` the program would print before exiting 2 (same source, same keys)."""
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(stack_yaml)
    settings = load_stack_settings(ROOT, stack, path)
    prefix = f"{PROJECT}:"
    values: dict[str, object] = {
        k[len(prefix) :]: v for k, v in settings.config.items() if k.startswith(prefix)
    }
    return parse_stack_config(
        values,
        source=settings.source,
        secret_keys=[k[len(prefix) :] for k in settings.secret_keys if k.startswith(prefix)],
        other_keys=[k for k in settings.config if not k.startswith(prefix)],
    )


def rules_refusal(tmp_path: Path, stack_yaml: str) -> str:
    """What the rules say of a stack file they must refuse (``parse_with``'s rendered ConfigError)."""
    try:
        parse_with(tmp_path, stack_yaml)
    except ConfigError as error:
        return error.render()
    raise AssertionError("accepted, but should be refused")


def by_type(run: ProgramRun, type_: str) -> list[Recorded]:
    return [r for r in run.resources if r.type == type_]


def one(run: ProgramRun, type_: str, name: str | None = None) -> Recorded:
    found = [r for r in by_type(run, type_) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
    return found[0]


@pytest.fixture(params=["dev", "prod", "nap"])
def stack_run(request: pytest.FixtureRequest) -> tuple[str, ProgramRun]:
    return request.param, planned(request.param)[1]


Finder = Callable[[ProgramRun, str], list[Recorded]]
JSON = dict[str, Any]


# A minimal valid stack's values (namespace stripped), for tests of the pure loader and rules.
BASE_VALUES: dict[str, Any] = {
    "location": "swedencentral",
    "cluster": {"apiServer": {"privateCluster": True}},
}


def parse_values(extra: dict[str, Any]) -> StackConfig:
    """The pure loader and rules over ``BASE_VALUES`` updated with ``extra`` (values as the CLI sends)."""
    values = {**BASE_VALUES, **extra}
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return parse_stack_config(raw, source="Pulumi.test.yaml")


def value_problems(extra: dict[str, Any]) -> list[Problem]:
    """The problems ``parse_values(extra)`` is refused with."""
    with pytest.raises(ConfigError) as info:
        parse_values(extra)
    return list(info.value.problems)


# The suite plans with the committed price table only: a developer's refreshed local price file
# (python -m tools.prices refresh) must not change what the tests see. Tests of that file set it.
os.environ[OVERRIDE_ENV] = ""
