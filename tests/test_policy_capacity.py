"""Capacity policies on deliberately broken resources: untainted GPU pools, spot-only serving, dev pools
that keep nodes, no budget alert."""

from __future__ import annotations

import pytest

from aks_llm_policies import (
    budget_alert_exists,
    dev_gpu_pools_scale_to_zero,
    gpu_pools_tainted,
    serving_not_spot_only,
)
from tests.policy_fixtures import (
    AGENT_POOL,
    agent_pool,
    committed,
    nodepool,
    pool_name,
    vllm_deployment,
    without,
)
from tests.policy_support import messages, res, violations

BUDGET = "azure-native:consumption:Budget"
CLUSTER = "azure-native:containerservice:ManagedCluster"

# --- gpu-pools-tainted ----------------------------------------------------------------------------


def test_agent_pool_without_gpu_taint_is_refused() -> None:
    pool = agent_pool(committed("prod"), "a100")
    pool.inputs["nodeTaints"] = []
    (found,) = violations(gpu_pools_tainted, [pool])
    assert found[0] == pool.urn
    assert (
        "agent pool a100 (Standard_NC24ads_A100_v4) has no taint sku=gpu:NoSchedule (taints: none)"
        in found[1]
    )
    assert "Add sku=gpu:NoSchedule to nodeTaints" in found[1]


def test_a_prefer_no_schedule_taint_is_not_enough() -> None:
    pool = agent_pool(committed("prod"), "a100sp")
    pool.inputs["nodeTaints"] = [
        "sku=gpu:PreferNoSchedule",
        "kubernetes.azure.com/scalesetpriority=spot:NoSchedule",
    ]
    (message,) = messages(gpu_pools_tainted, [pool])
    assert (
        "taints: sku=gpu:PreferNoSchedule, kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in message
    )


def test_gpu_pool_inline_on_the_cluster_is_checked_too() -> None:
    cluster = next(r for r in committed("prod") if r.type == CLUSTER)
    profiles = cluster.inputs["agentPoolProfiles"]
    profiles.append({**profiles[0], "name": "gpu", "vmSize": "Standard_NC4as_T4_v3", "mode": "User"})
    profiles[-1].pop("nodeTaints", None)
    (message,) = messages(gpu_pools_tainted, [cluster])
    assert message.startswith("cluster agent pool gpu (Standard_NC4as_T4_v3) has no taint sku=gpu:NoSchedule")


def test_cpu_pools_need_no_gpu_taint() -> None:
    pool = agent_pool(committed("prod"), "a100")
    for key in ("gpuProfile", "nodeLabels", "nodeTaints"):
        pool.inputs.pop(key)
    pool.inputs["vmSize"] = "Standard_D8ds_v5"
    assert messages(gpu_pools_tainted, [pool]) == []


def test_gpu_nodepool_without_taint_is_refused() -> None:
    tainted = nodepool("a100-od", ["on-demand"])
    bare = nodepool("a100-od", ["on-demand"], taints=[])
    assert messages(gpu_pools_tainted, [tainted]) == []
    (message,) = messages(gpu_pools_tainted, [bare])
    assert "NodePool a100-od (Standard_NC24ads_A100_v4) has no taint sku=gpu:NoSchedule" in message
    assert "spec.template.spec.taints" in message


# --- serving-not-spot-only ------------------------------------------------------------------------


def test_serving_pool_with_spot_only_is_refused() -> None:
    resources = without(committed("prod"), type_=AGENT_POOL, name="a100")
    found = violations(serving_not_spot_only, resources)
    pool = [v for v in found if v[0].endswith("AgentPool::platform-gpu-pools-a100sp")]
    assert len(pool) == 1, found
    assert "serving pool a100 has spot capacity (a100sp) and it has no on-demand agent pool" in pool[0][1]
    # the serving Deployment on that pool is then left on spot alone too
    assert any("Deployment inference/qwen7b serves from spot capacity only" in v[1] for v in found)


def test_serving_pool_whose_on_demand_floor_is_zero_is_refused() -> None:
    resources = committed("prod")
    agent_pool(resources, "a100").inputs["minCount"] = 0
    (message,) = messages(serving_not_spot_only, resources)
    assert "its on-demand capacity can scale to zero (a100 minCount 0)" in message
    assert "minCount >= 1" in message


def test_batch_pools_may_be_spot_only() -> None:
    resources = without(committed("dev"), type_=AGENT_POOL, name="t4")
    assert [pool_name(r) for r in resources if r.type == AGENT_POOL] == ["t4sp"]
    assert messages(serving_not_spot_only, resources) == []


def test_nap_serving_pool_needs_an_on_demand_nodepool_tried_first() -> None:
    spot = nodepool("a100-spot", ["spot"], weight=50)
    assert "allow spot capacity with no on-demand-only NodePool" in messages(serving_not_spot_only, [spot])[0]
    mixed = nodepool("a100", ["on-demand", "spot"])
    assert "NodePool(s) a100 of pool a100 allow spot" in messages(serving_not_spot_only, [mixed])[0]
    light = nodepool("a100-od", ["on-demand"], weight=10)
    (message,) = messages(serving_not_spot_only, [light, spot])
    assert (
        "tries spot-capable NodePool(s) a100-spot (weight 50) before the on-demand one (weight 10)" in message
    )
    heavy = nodepool("a100-od", ["on-demand"], weight=100)
    assert messages(serving_not_spot_only, [heavy, spot]) == []
    batch = nodepool("t4-spot", ["spot"], pool="t4", purpose="batch", skus=("Standard_NC4as_T4_v3",))
    assert messages(serving_not_spot_only, [batch]) == []


def test_serving_workload_pinned_to_spot_is_refused() -> None:
    deployment = vllm_deployment()
    deployment.inputs["spec"]["template"]["spec"]["nodeSelector"]["aks-llm/capacity-type"] = "spot"
    found = violations(serving_not_spot_only, [*committed("prod"), deployment])
    assert [urn for urn, _ in found] == [deployment.urn]
    assert "Deployment inference/qwen7b serves from spot capacity only (it can land on a100sp)" in found[0][1]


# --- dev-gpu-pools-scale-to-zero ------------------------------------------------------------------


def test_dev_gpu_pool_that_keeps_a_node_is_reported() -> None:
    pool = agent_pool(committed("dev"), "t4")
    pool.inputs["minCount"] = 1
    (message,) = messages(dev_gpu_pools_scale_to_zero, [pool])
    assert message.startswith("dev stack dev: agent pool t4 (Standard_NC4as_T4_v3) keeps 1 node(s) when idle")
    assert dev_gpu_pools_scale_to_zero.enforcement_level is not None
    assert dev_gpu_pools_scale_to_zero.enforcement_level.value == "advisory"


def test_dev_gpu_pool_without_autoscaler_is_reported() -> None:
    pool = agent_pool(committed("dev"), "t4sp")
    pool.inputs.update(enableAutoScaling=False, count=2)
    (message,) = messages(dev_gpu_pools_scale_to_zero, [pool])
    assert "runs a fixed 2 node(s) without the autoscaler" in message


def test_prod_pools_may_keep_nodes_and_dev_stacks_are_configurable() -> None:
    prod_pool = agent_pool(committed("prod"), "a100")  # minCount 1
    assert messages(dev_gpu_pools_scale_to_zero, [prod_pool]) == []
    staging = res(AGENT_POOL, "a100", prod_pool.inputs, stack="staging")
    assert messages(dev_gpu_pools_scale_to_zero, [staging]) == []
    (message,) = messages(dev_gpu_pools_scale_to_zero, [staging], {"devStacks": ["staging", "dev*"]})
    assert message.startswith("dev stack staging: agent pool a100")


def test_dev_nodepool_that_never_consolidates_is_reported() -> None:
    never = nodepool("t4-od", ["on-demand"], consolidate_after="Never", stack="dev-alice")
    (message,) = messages(dev_gpu_pools_scale_to_zero, [never])
    assert "dev stack dev-alice: NodePool t4-od" in message and "consolidateAfter: Never" in message
    assert messages(dev_gpu_pools_scale_to_zero, [nodepool("t4-od", ["on-demand"], stack="dev")]) == []


# --- budget-alert-exists --------------------------------------------------------------------------


def test_stack_without_budget_is_reported() -> None:
    (found,) = violations(budget_alert_exists, without(committed("prod"), type_=BUDGET))
    assert found == (
        "",
        "the stack declares no Consumption budget: GPU spend has no alert. Set aks-llm:budget "
        "(monthlyAmount, thresholds, contactEmails).",
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"enabled": False}, "has no enabled notification with a contact"),
        # the forecast notifications also name the stack's action group (contactGroups)
        ({"contactEmails": [], "contactGroups": []}, "has no enabled notification with a contact"),
    ],
)
def test_budget_that_alerts_nobody_is_reported(change: dict[str, object], expected: str) -> None:
    resources = committed("prod")
    budget = next(r for r in resources if r.type == BUDGET)
    for notification in budget.inputs["notifications"].values():
        notification.update(change)
    (found,) = violations(budget_alert_exists, resources)
    assert found[0] == budget.urn and f"budget budget-llm-prod-swedencentral {expected}" in found[1]


def test_budget_of_zero_is_reported() -> None:
    resources = committed("dev")
    next(r for r in resources if r.type == BUDGET).inputs["amount"] = 0
    (message,) = messages(budget_alert_exists, resources)
    assert "has amount 0" in message
