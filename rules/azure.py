"""Rules about writes Azure refuses: the Kubernetes version on the plan's date, the budget's start
date, a Key Vault nobody can reach, and the system pool's VM size (pure, no Pulumi). The API server's
reachability at deployment (documentation ranges) is ``planning.api_access``'s."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from config.catalog import closest_names
from config.errors import Problem
from facts.aks_versions import LTS_PLAN, LTS_TIER, creatable_minors, support_status
from planning.stack_plan import StackPlan
from rules.rule import Rule

BUDGET_MAX_MONTHS_AHEAD = 12


def kubernetes_version_supported(stack: StackPlan) -> Iterable[Problem]:
    """A version past its AKS end of life on the plan's date is refused (AKS refuses to create the
    cluster: supported-kubernetes-versions.md line 362); LTS only on Premium with AKSLongTermSupport."""
    config = stack.config
    on = stack.plan_date
    c = config.cluster
    status = support_status(c.kubernetes_version, tier=c.tier, support_plan=c.support_plan, on=on)
    if status.kind != "refuse":
        return
    if c.support_plan == LTS_PLAN and c.tier != LTS_TIER:
        yield Problem(
            "cluster.supportPlan", c.support_plan, status.message, f"tier: {LTS_TIER} with {LTS_PLAN}"
        )
        return
    accepted = ", ".join(creatable_minors(on)) or "none in the calendar"
    yield Problem(
        "cluster.kubernetesVersion",
        c.kubernetes_version,
        status.message + f" (plan date {on}; set another with --date or AKS_LLM_PLAN_DATE)",
        f"a minor AKS creates on {on}: {accepted}",
    )


def _months_between(start: date, later: date) -> int:
    return (later.year - start.year) * 12 + later.month - start.month


def budget_start_date(stack: StackPlan) -> Iterable[Problem]:
    """Azure refuses a monthly budget starting before the current month or more than 12 months
    ahead (Consumption Budgets API: timePeriod.startDate). A changed startDate replaces the budget
    (delete first), so a date Azure would refuse would leave the group without a budget."""
    config = stack.config
    on = stack.plan_date
    budget = config.budget
    if budget is None or budget.start_date is None:
        return
    start = date.fromisoformat(budget.start_date)
    ahead = _months_between(on, start)
    if ahead < 0:
        yield Problem(
            "budget.startDate",
            budget.start_date,
            f"before the current month on the plan date {on}: Azure refuses a budget starting in a past "
            "period, and a changed startDate deletes the budget before creating it",
            f"{on.replace(day=1).isoformat()} up to {BUDGET_MAX_MONTHS_AHEAD} months ahead, or remove "
            "startDate (an existing budget then keeps its start: the defaulted date is never resent)",
        )
    elif ahead > BUDGET_MAX_MONTHS_AHEAD:
        yield Problem(
            "budget.startDate",
            budget.start_date,
            f"more than {BUDGET_MAX_MONTHS_AHEAD} months after the plan date {on}: Azure refuses it",
            f"a first of month from {on.replace(day=1).isoformat()} to "
            f"{BUDGET_MAX_MONTHS_AHEAD} months ahead",
        )


def key_vault_reachable(stack: StackPlan) -> Iterable[Problem]:
    """``publicNetworkAccess: false`` needs a private endpoint in a VNet the cluster uses: the program
    creates one in ``virtualNetwork`` (``components/private_endpoints.py``); on AKS's managed VNet it
    cannot, so the vault would be unreachable."""
    config = stack.config
    if not config.addons.key_vault.public_network_access and config.virtual_network is None:
        yield Problem(
            "addons.keyVault.publicNetworkAccess",
            False,
            "without virtualNetwork the program has no subnet for the vault's private endpoint, so the "
            "cluster could not reach the vault (the Hugging Face token could not be read)",
            "true (the firewall's default Deny with allowedIpRanges / allowClusterEgress), or a "
            "virtualNetwork for the private endpoint",
        )


def system_pool_vm_size(stack: StackPlan) -> Iterable[Problem]:
    """The system pool's size is a catalog general-purpose SKU (counted in quota and cost)."""
    config, catalog = stack.config, stack.catalog
    size = config.cluster.system_pool.vm_size
    if size in catalog.system_skus:
        return
    choices = ", ".join(
        f"{s.name} ({s.vcpus} vCPU, {s.memory_gib} GiB)"
        for s in sorted(catalog.system_skus.values(), key=lambda s: s.vcpus)
    )
    if size in catalog.skus:
        why = "a GPU SKU: the system pool is tainted CriticalAddonsOnly and runs no GPU work"
    else:
        why = "not a general-purpose SKU in the catalog (config/catalog/skus.yaml system_skus)"
    near = closest_names(size, catalog.system_skus)
    hint = f"did you mean {', '.join(near)}? " if near and size not in catalog.skus else ""
    yield Problem("cluster.systemPool.vmSize", size, why, hint + "one of " + choices)


AZURE_RULES: list[Rule] = [
    kubernetes_version_supported,
    budget_start_date,
    key_vault_reachable,
    system_pool_vm_size,
]
