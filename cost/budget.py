"""The monthly estimate against the budget, over the same scope (pure).

The estimate prices the node VMs (GPU pools, NAP NodePools, KAITO's nodes, the system pool): all of
them bill in the node resource group. The budget watches that group and the cluster's own
(``facts.naming.Names.budget_resource_groups``, ``components.budget``), so everything the estimate
counts is inside the budget's scope; what the budget sees and the estimate leaves out is named
(``NOT_ESTIMATED``). An estimate above the amount is a warning in the plan and in the PR diff.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config.schema import BudgetConfig

ESTIMATED = "the node VMs (GPU and system nodes), billed in the node resource group"
NOT_ESTIMATED = (
    "the AKS Standard tier fee, OS disks (but a Deallocate pool's), Log Analytics ingestion, load balancer, "
    "public IPs, egress, Key Vault, Service Bus, registry and monitoring"
)


def budget_section(
    budget: BudgetConfig | None, monthly_total: float, currency: str, resource_groups: Sequence[str]
) -> dict[str, Any] | None:
    """The ``cost.budget`` section: amount, estimate, share, scope, and whether the estimate exceeds it."""
    if budget is None:
        return None
    share = monthly_total / budget.monthly_amount * 100
    return {
        "monthlyAmount": budget.monthly_amount,
        "monthlyEstimate": round(monthly_total, 2),
        "currency": currency,
        "percent": round(share, 1),
        "exceeds": monthly_total > budget.monthly_amount,
        "resourceGroups": list(resource_groups),
        "estimated": ESTIMATED,
        "notEstimated": NOT_ESTIMATED,
    }


def budget_warning(section: dict[str, Any] | None) -> str | None:
    """One line when the monthly estimate exceeds the budget (plan and PR diff), else None."""
    if not section or not section.get("exceeds"):
        return None
    return (
        f"the monthly estimate {section['monthlyEstimate']:,.2f} {section['currency']} exceeds the budget "
        f"{section['monthlyAmount']:,.2f} ({section['percent']:.0f} %): the budget's alerts will fire; raise "
        "budget.monthlyAmount or lower the capacity (pool max, schedules, scale to zero)"
    )


def budget_note(section: dict[str, Any]) -> str:
    """The cost note: amount, share and the scope both figures share."""
    groups = " and ".join(section["resourceGroups"])
    return (
        f"budget {section['monthlyAmount']:,.2f} a month (billing currency) on resource groups {groups}; "
        f"the estimate {section['monthlyEstimate']:,.2f} {section['currency']} is {section['percent']:.0f} % "
        f"of it if billed in {section['currency']}; the estimate covers {ESTIMATED}, the budget also sees "
        "what the estimate leaves out (below)"
    )
