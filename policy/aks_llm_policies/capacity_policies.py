"""Policies on GPU capacity and spend: tainted GPU pools, no spot-only serving, dev pools that scale
to zero, a budget with an alert."""

from __future__ import annotations

from collections import defaultdict
from fnmatch import fnmatch
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .capacity import (
    GPU_TAINT,
    LABEL_PURPOSE,
    ON_DEMAND,
    SPOT,
    NodeGroup,
    groups_of,
    node_groups,
)
from .values import UNKNOWN, display, items, mapping, number, plain, stack_of, text
from .workloads import pod_templates, schedulable_groups

BUDGET = "azure-native:consumption:Budget"
DEFAULT_DEV_STACKS = ["dev", "dev-*"]
SERVING = "serving"


def stack_resources(args: StackValidationArgs) -> list[tuple[str, str, Any, str]]:
    """``(type, name, plain props, urn)`` of every resource of the stack."""
    return [(r.resource_type, r.name, plain(r.props), r.urn) for r in args.resources]


# --- GPU pools are tainted ----------------------------------------------------------------------


def _taint_field(group: NodeGroup) -> str:
    return "spec.template.spec.taints" if group.kind == "NodePool" else "nodeTaints"


def validate_gpu_pools_tainted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = plain(args.props)
    for group in groups_of(args.resource_type, args.name, props, args.urn):
        if not group.gpu or not group.taints_known or GPU_TAINT in group.taints:
            continue
        have = ", ".join(str(t) for t in group.taints) or "none"
        report(
            f"{group.title} has no taint {GPU_TAINT} (taints: {have}): any pod could fill its GPU nodes, "
            f"and GPU nodes cost by the hour. Add {GPU_TAINT} to {_taint_field(group)}.",
            None,
        )


gpu_pools_tainted = ResourceValidationPolicy(
    name="gpu-pools-tainted",
    description="Every GPU agent pool and GPU NodePool is tainted sku=gpu:NoSchedule.",
    validate=validate_gpu_pools_tainted,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Add sku=gpu:NoSchedule to the pool's taints (nodeTaints, or the NodePool template).",
)


# --- No spot-only capacity for serving ----------------------------------------------------------


def _serving(groups: list[NodeGroup]) -> bool:
    return any(g.purpose == SERVING for g in groups)


def _agent_pool_floor_problem(name: str, members: list[NodeGroup]) -> tuple[str, str] | None:
    spot = [g for g in members if SPOT in g.capacity_types]
    if not spot:
        return None
    on_demand = [g for g in members if g.capacity_types == frozenset({ON_DEMAND})]
    if any(g.min_nodes is None for g in on_demand):
        return None  # a floor that is not known during preview: cannot tell
    if any((g.min_nodes or 0) >= 1 for g in on_demand):
        return None
    spot_names = ", ".join(g.name for g in spot)
    if not on_demand:
        why = "it has no on-demand agent pool"
    else:
        floors = ", ".join(f"{g.name} minCount {display(g.min_nodes)}" for g in on_demand)
        why = f"its on-demand capacity can scale to zero ({floors})"
    return (
        spot[0].urn,
        f"serving pool {name} has spot capacity ({spot_names}) and {why}: after a scale-down it serves "
        "from spot VMs alone, which Azure evicts with 30 s notice. Keep an on-demand agent pool with "
        "minCount >= 1 beside the spot one (onDemand.min >= 1), or make the pool purpose batch.",
    )


def _nodepool_problem(name: str, members: list[NodeGroup]) -> tuple[str, str] | None:
    spot_capable = [g for g in members if SPOT in g.capacity_types]
    if not spot_capable:
        return None
    on_demand = [g for g in members if g.capacity_types == frozenset({ON_DEMAND})]
    spot_names = ", ".join(g.name for g in spot_capable)
    if not on_demand:
        return (
            spot_capable[0].urn,
            f"serving NodePool(s) {spot_names} of pool {name} allow spot capacity with no on-demand-only "
            "NodePool beside them: Karpenter prefers the cheaper spot nodes, which Azure evicts with "
            "30 s notice. Add an on-demand NodePool (karpenter.sh/capacity-type In [on-demand]) with a "
            "higher weight, or make the pool purpose batch.",
        )
    best_on_demand = max(g.weight or 0.0 for g in on_demand)
    heavier = [g for g in spot_capable if (g.weight or 0.0) > best_on_demand]
    if heavier:
        names = ", ".join(f"{g.name} (weight {display(g.weight or 0.0)})" for g in heavier)
        return (
            heavier[0].urn,
            f"serving pool {name}: Karpenter tries spot-capable NodePool(s) {names} before the on-demand "
            f"one (weight {display(best_on_demand)}), so serving lands on spot first. Give the on-demand "
            "NodePool the highest weight.",
        )
    return None


def validate_serving_not_spot_only(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = stack_resources(args)
    groups = [g for g in node_groups(resources) if g.gpu]
    by_pool: dict[tuple[bool, str], list[NodeGroup]] = defaultdict(list)
    for g in groups:
        by_pool[(g.kind == "NodePool", g.group)].append(g)
    for (is_nodepool, name), members in sorted(by_pool.items()):
        if not _serving(members):
            continue
        problem = (_nodepool_problem if is_nodepool else _agent_pool_floor_problem)(name, members)
        if problem is not None:
            report(problem[1], problem[0])
    for type_, name, props, urn in resources:
        for pod in pod_templates(type_, name, urn, props):
            if not pod.gpu_requests():
                continue
            landing = schedulable_groups(pod, groups)
            if not landing or not all(g.spot_only for g in landing):
                continue
            if pod.labels.get(LABEL_PURPOSE) == SERVING or _serving(landing):
                names = ", ".join(g.name for g in landing)
                report(
                    f"{pod.owner} serves from spot capacity only (it can land on {names}): spot VMs are "
                    "evicted with 30 s notice. Let it run on the pool's on-demand nodes too (do not pin "
                    "the spot capacity type), or give it purpose batch.",
                    urn,
                )


serving_not_spot_only = StackValidationPolicy(
    name="serving-not-spot-only",
    description="Serving GPU capacity never rests on spot VMs alone.",
    validate=validate_serving_not_spot_only,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Keep an on-demand pool with minCount >= 1 (NAP: a heavier on-demand NodePool).",
)


# --- Dev GPU pools scale to zero ----------------------------------------------------------------


def dev_stack_patterns(config: Any) -> list[str]:
    raw = mapping(plain(config)).get("devStacks")
    return [p for p in items(raw) if isinstance(p, str)] or DEFAULT_DEV_STACKS


def validate_dev_scale_to_zero(args: ResourceValidationArgs, report: ReportViolation) -> None:
    stack = stack_of(args.urn)
    if stack is None or not any(fnmatch(stack, p) for p in dev_stack_patterns(args.get_config())):
        return
    props = plain(args.props)
    for group in groups_of(args.resource_type, args.name, props, args.urn):
        if not group.gpu:
            continue
        if group.kind == "NodePool":
            if group.consolidate_after == "Never":
                report(
                    f"dev stack {stack}: {group.title} never consolidates (disruption.consolidateAfter: "
                    "Never), so an idle GPU node is kept until someone deletes it. Use a duration "
                    "such as 5m.",
                    None,
                )
            continue
        floor = group.min_nodes
        if floor is None or floor == 0:
            continue
        if group.autoscaling is True:
            why = f"keeps {display(floor)} node(s) when idle (minCount {display(floor)})"
        else:
            why = f"runs a fixed {display(floor)} node(s) without the autoscaler"
        report(
            f"dev stack {stack}: {group.title} {why}; an idle GPU node in dev is money spent on nothing. "
            "Enable autoscaling with minCount 0 (onDemand.min: 0, spot.min: 0).",
            None,
        )


dev_gpu_pools_scale_to_zero = ResourceValidationPolicy(
    name="dev-gpu-pools-scale-to-zero",
    description="GPU pools of dev stacks scale to zero when idle.",
    validate=validate_dev_scale_to_zero,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(
        properties={
            "devStacks": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULT_DEV_STACKS,
                "description": "Stack names (shell patterns) whose GPU pools must scale to zero.",
            }
        }
    ),
    remediation_steps="Set onDemand.min and spot.min to 0 in the dev stack's gpuPools.",
)


# --- A budget alert exists ----------------------------------------------------------------------


def _alerting(notification: Any) -> bool:
    n = mapping(notification)
    if n.get("enabled") is False:
        return False
    contacts = [n.get(k) for k in ("contactEmails", "contactGroups", "contactRoles")]
    return any(c is UNKNOWN or bool(items(c)) for c in contacts)


def _budget_problem(name: str, props: Any) -> str | None:
    amount, notifications = props.get("amount"), props.get("notifications")
    if amount is not UNKNOWN and (number(amount) or 0) <= 0:
        return (
            f"budget {name} has amount {display(amount)}: every cost exceeds it, so its alerts mean nothing."
        )
    if notifications is UNKNOWN or any(_alerting(n) for n in mapping(notifications).values()):
        return None
    return (
        f"budget {name} has no enabled notification with a contact (contactEmails, contactGroups or "
        "contactRoles): it would be exceeded silently."
    )


def validate_budget_alert(args: StackValidationArgs, report: ReportViolation) -> None:
    budgets = [(name, props, urn) for type_, name, props, urn in stack_resources(args) if type_ == BUDGET]
    # Named as Azure names it (budgetName), not by the program's logical name for it.
    problems = [
        (urn, _budget_problem(text(mapping(props).get("budgetName")) or name, mapping(props)))
        for name, props, urn in budgets
    ]
    if any(problem is None for _, problem in problems):
        return
    for urn, problem in problems:
        report(problem or "", urn)
    if not budgets:
        report(
            "the stack declares no Consumption budget: GPU spend has no alert. Set aks-llm:budget "
            "(monthlyAmount, thresholds, contactEmails).",
            None,
        )


budget_alert_exists = StackValidationPolicy(
    name="budget-alert-exists",
    description="The stack has a Consumption budget that alerts someone.",
    validate=validate_budget_alert,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    remediation_steps="Set aks-llm:budget with monthlyAmount and contactEmails.",
)
