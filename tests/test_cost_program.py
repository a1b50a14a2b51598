"""Cost and budget through the real program: outputs, plan text and JSON, rules, the Budget resource."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import mocks as pmocks
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

from components.budget import StackBudget, StackBudgetArgs, first_of_month
from config.schema import BudgetConfig
from tests.conftest import one, planned, run_with
from tools.mocks import MOCK_SUBSCRIPTION, PlatformMocks
from tools.plan import main

BUDGET_TYPE = "azure-native:consumption:Budget"
SMALL = """config:
  aks-llm:location: eastus
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools:
    - {name: a100, vmSize: Standard_NC24ads_A100_v4, onDemand: {min: 0, max: 2}}
  aks-llm:models:
    - {name: qwen, model: qwen2.5-7b-instruct, runtime: vllm, pool: a100, replicas: {min: 1},
       scaleToZero: false}
"""


def test_program_exports_the_cost_and_the_plan_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cost = planned("prod")[1].outputs["cost"]
    assert {"prices", "rows", "hourly", "monthly", "models", "breakEven", "notes"} <= set(cost)
    target = tmp_path / "plan.json"
    assert main(["--stack", "prod", "--json", str(target)]) == 0
    out = capsys.readouterr().out
    doc = json.loads(target.read_text())
    assert doc["cost"] == doc["outputs"]["cost"]
    assert doc["cost"]["monthly"]["total"] == cost["monthly"]["total"]
    assert "Cost estimate (prices in USD for eastus, catalog as of 2026-08-21 (UNVERIFIED)):" in out
    assert "Monthly USD (730 h, following the schedules): 7,261.52" in out
    assert "Break-even against large hosted model (requests per day):" in out
    assert "  - price source: " in out
    assert "phi4 (KAITO): while its Workspace exists" in out


def test_price_override_reaches_the_printed_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(
        SMALL
        + "  aks-llm:prices: {asOf: '2026-11-01', source: EA sheet,"
        + " skus: {Standard_NC24ads_A100_v4: {onDemandPerHour: 2.5}}}\n"
    )
    assert main(["--stack", "test", "--config-file", str(stack)]) == 0
    out = capsys.readouterr().out
    assert "stack overrides as of 2026-11-01 (EA sheet) for Standard_NC24ads_A100_v4" in out
    assert "2.5000  on-demand price (stack override)" in out


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "  aks-llm:prices: {skus: {Standard_NC24ads_A100_v3: {onDemandPerHour: 1}}}\n",
            "aks-llm:prices.skus.Standard_NC24ads_A100_v3: not a VM size this stack uses",
        ),
        (
            "  aks-llm:costComparison: {apiPricePerMillionInputTokens: 1, apiPricePerMillionOutputTokens: 2,"
            " throughputTokensPerSecond: 100, modelThroughput: {qwne: 10}}\n",
            "aks-llm:costComparison.modelThroughput.qwne: no model of that name (got 'qwne')",
        ),
        (
            "  aks-llm:budget: {monthlyAmount: 10, contactEmails: [not-an-address]}\n",
            "aks-llm:budget.contactEmails[0]: 'not-an-address' is not an e-mail address",
        ),
        (
            "  aks-llm:budget: {monthlyAmount: 10, contactEmails: [a@example.com],"
            " thresholds: [10, 20, 30, 40], forecastThresholds: [90, 100]}\n",
            "Azure allows 5 notifications per budget",
        ),
        (
            "  aks-llm:budget: {monthlyAmount: 10, contactEmails: [a@example.com],"
            " startDate: '2026-12-15'}\n",
            "aks-llm:budget.startDate: '2026-12-15' is not the first day of a month",
        ),
        (
            "  aks-llm:budget: {monthlyAmount: 0, contactEmails: [a@example.com]}\n",
            "aks-llm:budget.monthlyAmount: out of range",
        ),
    ],
)
def test_cost_and_budget_mistakes_stop_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, expected: str
) -> None:
    run = run_with(tmp_path, SMALL + extra)
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err


def test_price_override_typo_suggests_the_sku(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_with(tmp_path, SMALL + "  aks-llm:prices: {skus: {Standard_NC24ads_A100_v3: {onDemandPerHour: 1}}}\n")
    assert "did you mean Standard_NC24ads_A100_v4" in capsys.readouterr().err


def test_prod_budget_on_both_resource_groups() -> None:
    run = planned("prod")[1]
    budget = one(run, BUDGET_TYPE).inputs
    rg = one(run, "azure-native:resources:ResourceGroup")
    assert budget["budgetName"] == "budget-llm-prod-swedencentral"
    assert (budget["amount"], budget["timeGrain"], budget["category"]) == (8000, "Monthly", "Cost")
    first = datetime.now(UTC).date().replace(day=1).isoformat()
    assert budget["timePeriod"] == {"startDate": f"{first}T00:00:00Z"}
    notes = budget["notifications"]
    assert sorted(notes) == [
        "Actual_GreaterThan_100_Percent",
        "Actual_GreaterThan_50_Percent",
        "Actual_GreaterThan_80_Percent",
        "Forecasted_GreaterThan_100_Percent",
        "Forecasted_GreaterThan_90_Percent",
    ]
    for n in notes.values():
        assert n["enabled"] is True and n["operator"] == "GreaterThan"
        assert n["contactEmails"] == ["platform-team@example.com", "finops@example.com"]
    assert notes["Forecasted_GreaterThan_90_Percent"]["thresholdType"] == "Forecasted"
    assert notes["Actual_GreaterThan_80_Percent"]["threshold"] == 80
    component = one(run, "aksllm:platform:Budget")
    assert one(run, BUDGET_TYPE).parent == component.urn
    assert component.parent.endswith("aksllm:platform:Platform::platform")
    # issue 19: the subscription, filtered on the cluster's group and the node resource group (the VMs)
    assert budget["scope"] == f"/subscriptions/{MOCK_SUBSCRIPTION}"
    nodes = one(run, "azure-native:containerservice:ManagedCluster").inputs["nodeResourceGroup"]
    assert budget["filter"] == {
        "dimensions": {
            "name": "ResourceGroupName",
            "operator": "In",
            "values": [rg.inputs["resourceGroupName"], nodes],
        }
    }
    # the cost estimate states the same scope
    assert run.outputs["cost"]["budget"]["resourceGroups"] == budget["filter"]["dimensions"]["values"]
    assert run.outputs["budgetName"] == "budget-llm-prod-swedencentral"


def test_budget_start_date_from_config_and_no_budget_without_config(tmp_path: Path) -> None:
    run = run_with(
        tmp_path,
        SMALL
        + "  aks-llm:budget: {monthlyAmount: 250.5, contactEmails: [a@example.com], startDate: '2027-01-01',"
        + " thresholds: [100], forecastThresholds: []}\n",
    )
    budget = one(run, BUDGET_TYPE).inputs
    assert budget["timePeriod"]["startDate"] == "2027-01-01T00:00:00Z"
    assert budget["amount"] == 250.5
    assert list(budget["notifications"]) == ["Actual_GreaterThan_100_Percent"]
    assert not [r for r in run_with(tmp_path, SMALL).resources if r.type == BUDGET_TYPE]


def test_budget_is_compared_with_the_estimate() -> None:
    notes = planned("dev")[1].outputs["cost"]["notes"]
    assert any(
        n.startswith("budget 600.00 a month") and "the estimate 519.03 USD is 86 %" in n for n in notes
    )


class _OptionsMonitor(pmocks.MockMonitor):
    """Keeps the resource options the engine would receive for each Budget."""

    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.options: list[tuple[list[str], list[str], bool]] = []

    def RegisterResource(self, request: Any) -> Any:
        if request.type == BUDGET_TYPE:
            self.options.append(
                (list(request.ignoreChanges), list(request.replaceOnChanges), request.deleteBeforeReplace)
            )
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("start_date", "expected"),
    [
        (None, (["timePeriod.startDate"], [], False)),  # this month's date is kept once created
        ("2027-01-01", ([], ["timePeriod.startDate"], True)),  # a new date from config replaces it
    ],
)
def test_budget_start_date_options(
    start_date: str | None, expected: tuple[list[str], list[str], bool]
) -> None:
    settings = BudgetConfig.model_validate(
        {"monthlyAmount": 10, "contactEmails": ["a@example.com"], "startDate": start_date}
    )
    monitor = _OptionsMonitor(PlatformMocks())
    pmocks.set_mocks(PlatformMocks(), project="p", stack="s", preview=True, monitor=monitor)
    StackBudget(
        "budget",
        StackBudgetArgs(
            budget_name="b",
            scope="/subscriptions/0",
            resource_groups=["rg", "rg-nodes"],
            settings=settings,
            start_date=start_date or first_of_month(date(2026, 11, 24)),
            start_date_pinned=start_date is not None,
        ),
    )
    _sync_await(wait_for_rpcs())
    assert monitor.options == [expected]
    assert first_of_month(date(2026, 11, 24)) == "2026-11-01"
