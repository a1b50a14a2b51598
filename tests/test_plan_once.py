"""The plan decides once: over one full offline plan (loader, both phases of rules, the plan, every
component and the report with its scheduling check) each decision function runs once per stack."""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import components.platform  # noqa: F401  (loaded before counting: every module that holds a reference)
import stack.loader  # noqa: F401
from tools.plan import main

# Each decision function, by the module that defines it; its references in every loaded module are counted.
DECISIONS = {
    "plan_stack": "planning.stack_plan",
    "plan_models": "sizing.deployments",
    "agent_pool_specs": "sizing.agent_pools",
    "sizing_skus": "sizing.nap",
    "nodepool_specs": "sizing.nap",
    "node_class_specs": "sizing.nap",
    "quota_rows": "sizing.quota",
    "nap_summary": "sizing.nap_summary",
    "network_plan": "sizing.network",
    "worker_plan": "sizing.queue_worker",
    "estimate_cost": "cost.estimate",
    "http_readiness_timeout_seconds": "renderers.helm_values",
    "kaito_release": "planning.stack_plan",
}


def _counting(name: str, original: Callable[..., Any], calls: Counter[str]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return original(*args, **kwargs)

    return counted


def count_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Wrap every decision function wherever a loaded module holds it (``from x import f`` included);
    ``size_model`` only where a model is planned (``sizing.deployments``): the count is per model."""
    calls: Counter[str] = Counter()
    for name, home in DECISIONS.items():
        original = getattr(importlib.import_module(home), name)
        wrapper = _counting(name, original, calls)
        for module in list(sys.modules.values()):
            if module is not None and vars(module).get(name) is original:
                monkeypatch.setattr(module, name, wrapper)
    deployments = importlib.import_module("sizing.deployments")
    monkeypatch.setattr(deployments, "size_model", _counting("size_model", deployments.size_model, calls))
    return calls


@pytest.mark.parametrize(("stack", "models"), [("dev", 1), ("prod", 2), ("nap", 3)])
def test_each_decision_runs_once_per_plan(
    stack: str,
    models: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """dev runs the queue worker, prod a KAITO model and a VNet of its own, nap NodePools (their sizing
    SKUs chosen once: ``sizing.nap.sizing_skus``)."""
    calls = count_calls(monkeypatch)
    assert main(["--stack", stack, "--json", str(tmp_path / "plan.json")]) == 0, capsys.readouterr().err
    assert calls == Counter({**dict.fromkeys(DECISIONS, 1), "size_model": models})


def test_a_second_plan_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter sees a decision called again (a component that planned the models itself would)."""
    from config.catalog import load_catalog
    from tests.conftest import parse_values

    config, catalog = parse_values({}), load_catalog()
    calls = count_calls(monkeypatch)
    sys.modules["planning.stack_plan"].plan_stack(config, catalog)
    sys.modules["sizing.deployments"].plan_models(config, catalog)
    assert calls["plan_stack"] == 1 and calls["plan_models"] == 2
