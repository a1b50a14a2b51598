"""The plan decides once: over one offline plan (loader, both phases of rules, the plan, every component,
and the report with its scheduling check) each decision function runs once per stack. The program runs are
the suite's own (``tests.conftest.planned``, counted as they run); the report's part is counted here."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from tests.conftest import DECISIONS, counting_decisions, planned, planned_calls
from tools.plan import plan_document, scheduling_report


@pytest.mark.parametrize(("stack", "models"), [("dev", 1), ("prod", 2), ("nap", 3)])
def test_each_decision_runs_once_per_plan(stack: str, models: int) -> None:
    """dev runs the queue worker, prod a KAITO model and a VNet of its own, nap NodePools (their sizing
    SKUs chosen once: ``sizing.nap.sizing_skus``)."""
    settings, run = planned(stack)
    assert run.exit_code == 0 and run.plan is not None
    assert planned_calls(stack) == Counter(
        {**dict.fromkeys(DECISIONS, 1), "size_model": models, "predict_cold_start": models}
    )
    with counting_decisions() as report:  # what tools.plan does after the program: it plans nothing
        scheduling = scheduling_report(settings, run)
        plan_document(settings, run)
    assert not scheduling.problems and not scheduling.missing_charts
    assert report == Counter()


def test_a_second_plan_is_counted() -> None:
    """The counter sees a decision called again (a component that planned the models itself would)."""
    from config.catalog import load_catalog
    from tests.conftest import parse_values

    config, catalog = parse_values({}), load_catalog()
    with counting_decisions() as calls:
        sys.modules["planning.stack_plan"].plan_stack(config, catalog)
        sys.modules["sizing.deployments"].plan_models(config, catalog)
    assert calls["plan_stack"] == 1 and calls["plan_models"] == 2
