"""Scheduling facts of GPU pools (pure) and that the agent pools carry exactly those taints/labels."""

from __future__ import annotations

from typing import Any

import pytest

from config.catalog import load_catalog
from config.schema import GpuPoolConfig
from facts.platform import GPU_TAINT, SPOT_TAINT
from sizing.node_selection import PoolScheduling, node_labels, node_taints, pool_scheduling
from tests.conftest import by_type, planned

GPU_TOL = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
SPOT_TOL = {
    "key": "kubernetes.azure.com/scalesetpriority",
    "operator": "Equal",
    "value": "spot",
    "effect": "NoSchedule",
}


def pool(**fields: Any) -> GpuPoolConfig:
    data = {"name": "gpu", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"min": 1, "max": 2}, **fields}
    return GpuPoolConfig.model_validate(data)


def sched(p: GpuPoolConfig, capacity: Any = None) -> PoolScheduling:
    return pool_scheduling(p, load_catalog().sku(p.vm_size), capacity)


def test_taints_are_the_gpu_taint_plus_the_spot_taint_on_spot() -> None:
    assert [t.aks() for t in node_taints("on-demand")] == ["sku=gpu:NoSchedule"]
    assert [t.aks() for t in node_taints("spot")] == [
        "sku=gpu:NoSchedule",
        "kubernetes.azure.com/scalesetpriority=spot:NoSchedule",
    ]
    assert GPU_TAINT.toleration() == GPU_TOL and SPOT_TAINT.toleration() == SPOT_TOL


def test_whole_pool_workload_tolerates_spot_only_when_the_pool_has_spot() -> None:
    on_demand_only = sched(pool())
    assert on_demand_only.node_selector == {"aks-llm/gpu-pool": "gpu"}
    assert on_demand_only.tolerations == [GPU_TOL]
    split = pool(purpose="batch", spot={"max": 3})
    assert sched(split).tolerations == [GPU_TOL, SPOT_TOL]
    pinned = sched(split, "on-demand")
    assert pinned.node_selector == {"aks-llm/gpu-pool": "gpu", "aks-llm/capacity-type": "on-demand"}
    assert pinned.tolerations == [GPU_TOL]
    assert sched(split, "spot").tolerations == [GPU_TOL, SPOT_TOL]
    with pytest.raises(ValueError, match="no spot capacity"):
        sched(pool(), "spot")


@pytest.mark.parametrize(
    ("vm_size", "mig", "resource", "per_node"),
    [
        ("Standard_NC24ads_A100_v4", "MIG1g", "nvidia.com/mig-1g.10gb", 7),  # 80 GB A100
        ("Standard_ND96asr_v4", "MIG1g", "nvidia.com/mig-1g.5gb", 56),  # 8 x 40 GB A100
        ("Standard_NC40ads_H100_v5", "MIG1g", "nvidia.com/mig-1g.12gb", 7),  # H100 NVL 94 GB
        ("Standard_NC24ads_A100_v4", "3g.40gb", "nvidia.com/mig-3g.40gb", 2),
        ("Standard_NC48ads_A100_v4", None, "nvidia.com/gpu", 2),
    ],
)
def test_mig_slices_are_sized_from_the_gpus_memory(
    vm_size: str, mig: str | None, resource: str, per_node: int
) -> None:
    s = sched(pool(vmSize=vm_size, mig=mig))
    assert (s.gpu_resource_name, s.gpus_per_node) == (resource, per_node)


def test_time_slicing_multiplies_gpus_per_node_and_selects_the_pools_plugin_config() -> None:
    p = pool(driver="operator", purpose="batch", timeSlicing={"replicas": 4})
    s = sched(p)
    assert (s.gpu_resource_name, s.gpus_per_node) == ("nvidia.com/gpu", 4)
    assert s.labels["nvidia.com/device-plugin.config"] == "gpu"


def test_labels_name_accelerator_sku_capacity_purpose_and_driver() -> None:
    sku = load_catalog().sku("Standard_NC24ads_A100_v4")
    managed = node_labels(pool(), sku, "on-demand")
    assert managed == {
        "accelerator": "nvidia",
        "aks-llm/gpu-pool": "gpu",
        "aks-llm/gpu-sku": "Standard_NC24ads_A100_v4",
        "aks-llm/purpose": "serving",
        "aks-llm/gpu-driver": "managed",
        "aks-llm/capacity-type": "on-demand",
        "nvidia.com/gpu.deploy.operands": "false",
    }
    operator = node_labels(pool(driver="operator", mig="3g.40gb"), sku, "spot")
    assert "nvidia.com/gpu.deploy.operands" not in operator
    assert operator["nvidia.com/mig.config"] == "all-3g.40gb"
    assert operator["aks-llm/capacity-type"] == "spot"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_agent_pools_carry_the_taints_and_labels_of_the_scheduling_module(stack: str) -> None:
    settings, run = planned(stack)
    from stack.loader import parse_stack_config

    cfg = parse_stack_config(
        {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("aks-llm:")},
        source="x",
    )
    pools = {p.name: p for p in cfg.gpu_pools}
    agent_pools = by_type(run, "azure-native:containerservice:AgentPool")
    assert agent_pools
    for ap in agent_pools:
        spot = ap.inputs["scaleSetPriority"] == "Spot"
        name = ap.inputs["agentPoolName"]
        p = pools[name.removesuffix("sp") if spot else name]
        s = pool_scheduling(p, load_catalog().sku(p.vm_size), "spot" if spot else "on-demand")
        assert ap.inputs["nodeLabels"] == s.labels
        taints = [f"{t['key']}={t['value']}:{t['effect']}" for t in s.tolerations]
        assert ap.inputs["nodeTaints"] == taints
        assert all(ap.inputs["nodeLabels"][k] == v for k, v in s.node_selector.items())
