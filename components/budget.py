"""A monthly Consumption budget on the stack's spend, alerting contacts by e-mail (and, for the
forecast notifications, the stack's action group: ``components/alerting.py``).

Its scope is the subscription, filtered on the stack's two resource groups (dimension
``ResourceGroupName``, operator ``In``): the cluster's group (the cluster, Log Analytics, Key Vault,
Service Bus, registry, monitoring) and the node resource group, where AKS puts the node VMs, their
disks, the load balancer and public IPs (AKS FAQ): the GPU spend the budget exists for. A budget on
the cluster's group alone never sees it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pulumi
import pulumi_azure_native.consumption as consumption

from components.child_names import Component
from config.schema import BudgetConfig


def first_of_month(today: date) -> str:
    """``YYYY-MM-01`` of ``today``'s month (Azure refuses a monthly budget starting in a past month)."""
    return today.replace(day=1).isoformat()


def notification_key(kind: str, threshold: int) -> str:
    """Azure's own naming of a budget notification, e.g. ``Actual_GreaterThan_80_Percent``."""
    return f"{kind}_GreaterThan_{threshold}_Percent"


@dataclass(frozen=True)
class StackBudgetArgs:
    """The budget's name, its scope (the subscription), the groups it filters on and the settings."""

    budget_name: str
    scope: pulumi.Input[str]  # /subscriptions/<id>
    resource_groups: Sequence[str]  # facts.naming.Names.budget_resource_groups()
    settings: BudgetConfig
    start_date: str  # YYYY-MM-01
    start_date_pinned: bool  # True: from config; False: this month, kept once created
    # The stack's action group (components/alerting.py): the Forecasted notifications also go there.
    forecast_action_group_id: pulumi.Input[str] | None = None


class StackBudget(Component):
    """Budget with Actual and Forecasted alerts at the configured percentages of the amount.

    Azure cannot change a budget's start date. A start date from config is therefore a replacement
    (delete first: the name is fixed); a defaulted one (this month) is ignored after creation so a
    run in a later month does not try to move it.
    """

    def __init__(self, name: str, args: StackBudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:Budget", name, opts)
        s = args.settings
        notifications: dict[str, pulumi.Input[consumption.NotificationArgs]] = {}
        for kind, enum, values in (
            ("Actual", consumption.ThresholdType.ACTUAL, s.thresholds),
            ("Forecasted", consumption.ThresholdType.FORECASTED, s.forecast_thresholds),
        ):
            for threshold in values:
                notifications[notification_key(kind, threshold)] = consumption.NotificationArgs(
                    enabled=True,
                    operator=consumption.OperatorType.GREATER_THAN,
                    threshold=threshold,
                    threshold_type=enum,
                    contact_emails=list(s.contact_emails),
                    contact_groups=[args.forecast_action_group_id]
                    if enum == consumption.ThresholdType.FORECASTED
                    and args.forecast_action_group_id is not None
                    else None,
                )
        resource_opts = (
            self.child_opts(
                was="budget", replace_on_changes=["timePeriod.startDate"], delete_before_replace=True
            )
            if args.start_date_pinned
            else self.child_opts(was="budget", ignore_changes=["timePeriod.startDate"])
        )
        self.budget = consumption.Budget(
            self.child_name("budget"),
            budget_name=args.budget_name,
            scope=args.scope,
            amount=s.monthly_amount,
            category=consumption.CategoryType.COST,
            time_grain=consumption.TimeGrainType.MONTHLY,
            time_period=consumption.BudgetTimePeriodArgs(start_date=f"{args.start_date}T00:00:00Z"),
            notifications=notifications,
            filter=consumption.BudgetFilterArgs(
                dimensions=consumption.BudgetComparisonExpressionArgs(
                    name="ResourceGroupName",
                    operator=consumption.BudgetOperatorType.IN_,
                    values=list(args.resource_groups),
                )
            ),
            opts=resource_opts,
        )
        self.register_outputs({"budgetName": args.budget_name, "resourceGroups": list(args.resource_groups)})
