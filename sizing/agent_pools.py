"""The AKS agent pools a stack's GPU pools become (pure, no Pulumi).

One logical pool (``gpuPools[i]``) becomes an on-demand agent pool named like the pool and/or a spot
agent pool named ``<name>sp``. The GPU pools component declares exactly these specs, the rules check
them and the plan prints them, so what is checked is what is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from config.catalog import Catalog, GpuSku
from config.schema import GpuPoolConfig, StackConfig
from facts.platform import Capacity
from sizing import drain
from sizing.node_selection import (
    capacities,
    gpu_resource_name,
    gpus_per_node,
    mig_profile,
    node_labels,
    node_taints,
)

SPOT_SUFFIX = "sp"


@dataclass(frozen=True)
class AgentPoolSpec:
    """One AKS agent pool (a VM scale set) of a GPU pool."""

    index: int  # position under gpuPools (for error paths)
    pool: GpuPoolConfig
    sku: GpuSku
    capacity: Capacity
    name: str
    min_count: int
    max_count: int
    gpu_driver: Literal["Install", "None"]
    gpu_instance_profile: str | None  # MIG1g..MIG7g: the managed driver partitions the GPU
    mig: str | None  # the MIG profile (e.g. 3g.40gb), whoever applies it
    labels: dict[str, str]
    taints: list[str]
    scale_down_mode: Literal["Delete", "Deallocate"]
    max_surge: str | None  # None on spot pools: AKS refuses max surge there
    spot_max_price: float | None
    # upgradeSettings.drainTimeoutInMinutes (on-demand pools, next to max surge): raised above AKS's
    # 30 min default when the pool's vLLM replicas need longer to drain one after another (sizing.drain).
    drain_timeout_minutes: int | None = None

    @property
    def vcpus_max(self) -> int:
        return self.max_count * self.sku.vcpus

    def row(self) -> dict[str, Any]:
        """The pool-table row of the plan (camelCase, JSON-ready)."""
        return {
            "agentPool": self.name,
            "pool": self.pool.name,
            "vmSize": self.sku.name,
            "capacity": self.capacity,
            "min": self.min_count,
            "max": self.max_count,
            "driver": self.pool.driver,
            "mig": self.mig,
            "gpuResource": gpu_resource_name(self.pool, self.sku),
            "purpose": self.pool.purpose,
            "scaleDownMode": self.scale_down_mode,
            "maxSurge": self.max_surge,
            "spotMaxPrice": self.spot_max_price,
            "drainTimeoutMinutes": self.drain_timeout_minutes,
        }


def agent_pool_name(pool: GpuPoolConfig, capacity: Capacity) -> str:
    return pool.name + (SPOT_SUFFIX if capacity == "spot" else "")


def pool_specs(
    index: int, pool: GpuPoolConfig, sku: GpuSku, drain_timeout_minutes: int | None = None
) -> list[AgentPoolSpec]:
    """The agent pools of one GPU pool, on-demand first."""
    profile = mig_profile(pool, sku)
    specs = []
    for capacity in capacities(pool):
        bounds = pool.on_demand if capacity == "on-demand" else pool.spot
        assert bounds is not None
        spot = capacity == "spot"
        specs.append(
            AgentPoolSpec(
                index=index,
                pool=pool,
                sku=sku,
                capacity=capacity,
                name=agent_pool_name(pool, capacity),
                min_count=bounds.min,
                max_count=bounds.max,
                gpu_driver="Install" if pool.driver == "managed" else "None",
                gpu_instance_profile=profile.aks_gpu_instance_profile
                if profile and pool.driver == "managed"
                else None,
                mig=profile.name if profile else None,
                labels=node_labels(pool, sku, capacity),
                taints=[t.aks() for t in node_taints(capacity)],
                # AKS refuses max surge on spot pools. Deallocate applies to spot pools too since Scale-down
                # Mode's GA (scale-down-mode.md, MicrosoftDocs/azure-aks-docs: "Previously, while Scale-down
                # Mode was in preview, spot node pools were unsupported. Now that Scale-down Mode is
                # Generally Available, this limitation no longer applies."); evicted spot VMs are deleted.
                scale_down_mode=pool.scale_down_mode,
                max_surge=None if spot else pool.max_surge,
                spot_max_price=pool.spot.max_price if spot and pool.spot else None,
                drain_timeout_minutes=None if spot else drain_timeout_minutes,
            )
        )
    return specs


def agent_pool_specs(config: StackConfig, catalog: Catalog) -> list[AgentPoolSpec]:
    """Every GPU agent pool of the stack whose SKU resolves (rules report the others)."""
    specs: list[AgentPoolSpec] = []
    for i, pool in enumerate(config.gpu_pools):
        sku = catalog.skus.get(pool.vm_size)
        if sku is None or (pool.mig and mig_profile(pool, sku) is None):
            continue
        timeout = drain.upgrade_drain_timeout_minutes(config, pool, gpus_per_node(pool, sku))
        specs.extend(pool_specs(i, pool, sku, timeout))
    return specs


def operator_in_stack(config: StackConfig) -> bool:
    """Whether the stack installs the NVIDIA GPU Operator (some pool asks for its driver)."""
    return any(p.driver == "operator" for p in config.gpu_pools)


PRIORITY_EXPANDER_CONFIG_MAP = "cluster-autoscaler-priority-expander"  # in kube-system
ON_DEMAND_PRIORITY, SPOT_PRIORITY, OTHER_PRIORITY = 20, 10, 1


def priority_expander_priorities(specs: list[AgentPoolSpec]) -> str | None:
    """The ``priorities`` entry of the priority expander's ConfigMap: on-demand pools before spot
    pools, the order the cost estimate fills them in (``sizing.slots.fill``); None without pools.

    Higher numbers win; patterns are regular expressions over node group names, which on AKS are the
    VM scale sets ``aks-<agent pool>-<id>-vmss`` (kubernetes/autoscaler
    cluster-autoscaler/expander/priority/readme.md). ``.*`` at the lowest priority keeps every other
    node group eligible.
    """
    if not specs:
        return None
    tiers: dict[int, list[str]] = {ON_DEMAND_PRIORITY: [], SPOT_PRIORITY: []}
    for spec in specs:
        tier = SPOT_PRIORITY if spec.capacity == "spot" else ON_DEMAND_PRIORITY
        tiers[tier].append(f"^aks-{spec.name}-.*")
    lines: list[str] = []
    for priority in (ON_DEMAND_PRIORITY, SPOT_PRIORITY):
        if tiers[priority]:
            lines.append(f"{priority}:")
            lines += [f"  - {pattern}" for pattern in tiers[priority]]
    lines += [f"{OTHER_PRIORITY}:", "  - .*"]
    return "\n".join(lines) + "\n"
