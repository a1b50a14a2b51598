"""Where GPU workloads land: the taints and labels of every GPU agent pool and NAP NodePool, and the
matching node selectors, tolerations and GPU resource names for workloads (pure, no Pulumi).

The agent pools (``sizing.agent_pools``), the NodePools (``sizing.nap``) and every workload that runs
on them read this one module, so a pool's taints and labels and a workload's tolerations and
selectors can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config.catalog import GpuSku, MigProfile
from config.schema import GpuPoolConfig, NodePoolConfig
from facts.platform import (
    GPU_RESOURCE,
    GPU_TAINT,
    LABEL_ACCELERATOR,
    LABEL_CAPACITY,
    LABEL_DEVICE_PLUGIN_CONFIG,
    LABEL_DRIVER,
    LABEL_MIG_CONFIG,
    LABEL_NAP_SKU,
    LABEL_OPERATOR_OPERANDS,
    LABEL_POOL,
    LABEL_PURPOSE,
    LABEL_SKU,
    MIG_RESOURCE_PREFIX,
    SPOT_TAINT,
    Capacity,
    Taint,
)


@dataclass(frozen=True)
class PoolScheduling:
    """What a workload needs to run on a GPU pool, and the labels the pool's nodes carry."""

    node_selector: dict[str, str]
    tolerations: list[dict[str, str]]
    gpu_resource_name: str  # request 1 of this per replica-GPU (a MIG slice with MIG)
    gpus_per_node: int  # how many of ``gpu_resource_name`` one node offers
    labels: dict[str, str] = field(default_factory=dict)


def mig_profile(pool: GpuPoolConfig, sku: GpuSku) -> MigProfile | None:
    """The pool's MIG profile on its SKU (``mig: 3g.40gb`` or ``mig: MIG3g``); None without MIG."""
    return sku.mig_profile(pool.mig) if pool.mig else None


def mig_config_name(profile: MigProfile) -> str:
    """The mig-parted config that cuts every GPU of a node into ``profile`` slices."""
    return f"all-{profile.name}"


def capacities(pool: GpuPoolConfig | NodePoolConfig) -> list[Capacity]:
    """The agent pools (or NAP NodePools) a logical pool becomes, on-demand first."""
    out: list[Capacity] = []
    if pool.on_demand is not None:
        out.append("on-demand")
    if pool.spot is not None:
        out.append("spot")
    return out


def gpu_resource_name(pool: GpuPoolConfig, sku: GpuSku) -> str:
    """``nvidia.com/mig-<profile>`` on a MIG pool (mixed strategy), else ``nvidia.com/gpu``."""
    profile = mig_profile(pool, sku)
    return f"{MIG_RESOURCE_PREFIX}{profile.name}" if profile else GPU_RESOURCE


def gpus_per_node(pool: GpuPoolConfig, sku: GpuSku) -> int:
    """Schedulable GPU resources per node: MIG slices, time-sliced replicas, or whole GPUs."""
    profile = mig_profile(pool, sku)
    if profile is not None:
        return profile.instances_per_gpu * sku.gpu_count
    if pool.time_slicing is not None:
        return pool.time_slicing.replicas * sku.gpu_count
    return sku.gpu_count


def node_taints(capacity: Capacity) -> list[Taint]:
    """Every GPU node is tainted ``sku=gpu:NoSchedule``; spot nodes also carry AKS's spot taint."""
    return [GPU_TAINT, SPOT_TAINT] if capacity == "spot" else [GPU_TAINT]


def node_labels(pool: GpuPoolConfig, sku: GpuSku, capacity: Capacity | None) -> dict[str, str]:
    """The labels of the pool's nodes (without the capacity label when ``capacity`` is None).

    Every managed-driver pool is labelled ``nvidia.com/gpu.deploy.operands=false``, so a GPU Operator
    in the cluster (now, or added later) never installs its driver, or any other operand, next to the
    AKS-installed driver. Labelling it always, not only when the stack has an operator pool, means
    adding an operator pool later needs no relabelling of running managed nodes.
    """
    labels = {
        LABEL_ACCELERATOR: "nvidia",
        LABEL_POOL: pool.name,
        LABEL_SKU: sku.name,
        LABEL_PURPOSE: pool.purpose,
        LABEL_DRIVER: pool.driver,
    }
    if capacity is not None:
        labels[LABEL_CAPACITY] = capacity
    if pool.driver == "managed":
        labels[LABEL_OPERATOR_OPERANDS] = "false"
    profile = mig_profile(pool, sku)
    if pool.driver == "operator" and profile is not None:
        labels[LABEL_MIG_CONFIG] = mig_config_name(profile)
    if pool.driver == "operator" and pool.time_slicing is not None:
        labels[LABEL_DEVICE_PLUGIN_CONFIG] = pool.name
    return labels


def pool_scheduling(
    pool: GpuPoolConfig,
    sku: GpuSku,
    capacity: Capacity | None = None,
) -> PoolScheduling:
    """How a workload targets ``pool``: either agent pool (``capacity=None``) or one of them.

    With ``capacity=None`` the workload may land on on-demand or spot nodes of the pool (it tolerates
    the spot taint when the pool has spot capacity); ``"on-demand"`` or ``"spot"`` pins it.
    """
    return _scheduling(
        f"pool {pool.name}",
        capacities(pool),
        capacity,
        selector={LABEL_POOL: pool.name},
        gpu_resource_name=gpu_resource_name(pool, sku),
        gpus_per_node=gpus_per_node(pool, sku),
        labels=node_labels(pool, sku, capacity),
    )


def _scheduling(
    what: str,
    offered: list[Capacity],
    capacity: Capacity | None,
    *,
    selector: dict[str, str],
    gpu_resource_name: str,
    gpus_per_node: int,
    labels: dict[str, str],
) -> PoolScheduling:
    """What agent pools and NodePools share: the capacity pin and the taints to tolerate."""
    if capacity is not None and capacity not in offered:
        raise ValueError(f"{what} has no {capacity} capacity (it has {', '.join(offered)})")
    if capacity is not None:
        selector = {**selector, LABEL_CAPACITY: capacity}
    spot_possible = capacity == "spot" or (capacity is None and "spot" in offered)
    taints = node_taints("spot" if spot_possible else "on-demand")
    return PoolScheduling(
        node_selector=selector,
        tolerations=[t.toleration() for t in taints],
        gpu_resource_name=gpu_resource_name,
        gpus_per_node=gpus_per_node,
        labels=labels,
    )


def driver_conflict(aks_installs_driver: bool, labels: dict[str, str], driver: str) -> str | None:
    """Why a node's driver setup would be wrong (two drivers, none, or a mislabelled driver), or None."""
    opt_out = labels.get(LABEL_OPERATOR_OPERANDS)
    if aks_installs_driver and opt_out != "false":
        return "the GPU Operator would install its driver next to the AKS-installed one"
    if not aks_installs_driver and opt_out == "false":
        return "the GPU Operator would skip its nodes, leaving their GPUs without a driver"
    if labels.get(LABEL_DRIVER) != driver:
        return f"its {LABEL_DRIVER} label would select the wrong NVIDIA software"
    return None


# --- Node Auto Provisioning NodePools ------------------------------------------------------------


def nap_node_labels(pool: NodePoolConfig, capacity: Capacity | None) -> dict[str, str]:
    """The labels a NodePool puts on its nodes (without the capacity label when ``capacity`` is None).

    The same keys as on agent pools, except ``accelerator`` (Karpenter's NodePool CRD restricts it)
    and the SKU, which Karpenter labels itself (``karpenter.azure.com/sku-name``) because a NodePool
    may allow several. Managed-driver NodePools keep the GPU Operator off, as managed agent pools do.
    """
    labels = {LABEL_POOL: pool.name, LABEL_PURPOSE: pool.purpose, LABEL_DRIVER: pool.driver}
    if capacity is not None:
        labels[LABEL_CAPACITY] = capacity
    if pool.driver == "managed":
        labels[LABEL_OPERATOR_OPERANDS] = "false"
    return labels


def nodepool_scheduling(
    pool: NodePoolConfig,
    sku: GpuSku,
    capacity: Capacity | None = None,
) -> PoolScheduling:
    """How a workload targets NAP NodePool ``pool`` on ``sku`` (the SKU it was sized for).

    The node selector pins the logical pool and the SKU, so Karpenter provisions exactly what the
    workload was sized for even when the NodePool allows several SKUs; capacity as in
    ``pool_scheduling``. NodePools offer whole GPUs (no MIG or time-slicing).
    """
    return _scheduling(
        f"NodePool {pool.name}",
        capacities(pool),
        capacity,
        selector={LABEL_POOL: pool.name, LABEL_NAP_SKU: sku.name},
        gpu_resource_name=GPU_RESOURCE,
        gpus_per_node=sku.gpu_count,
        labels=nap_node_labels(pool, capacity),
    )
