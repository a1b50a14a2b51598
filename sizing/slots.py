"""GPU slots: what a pool offers at its maximum and what its models ask for (pure, no Pulumi).

A slot is one unit of the GPU resource a replica requests: a whole GPU (``nvidia.com/gpu``), a MIG
slice (``nvidia.com/mig-<profile>``) or a time-sliced share. A pool offers ``slots_per_node`` of them
per node, ``sizing.node_selection.gpus_per_node`` (the figure the device plugin advertises), times its
nodes at maximum: ``onDemand.max`` and ``spot.max`` of an agent pool, or the nodes of its sizing SKU a
Karpenter NodePool's ``limits`` allow (``sizing.nap.max_nodes``: GPUs, CPU and memory each cap them).

A model asks for ``slots_per_replica`` per replica: its tensor-parallel GPUs, or one MIG slice. At its
maximum it needs ``replicas_max`` of them plus, for a Deployment (vLLM), one replica of rollout surge
(``maxSurge: 1``): a rollout at the maximum runs one extra pod until the old one has gone. Its floor
(``minReplicaCount``, or the schedule's pre-warm when higher) must fit on on-demand slots if the model
serves requests: spot capacity counts toward the maximum, never toward a serving floor (a spot eviction
gives ~30 s, ``sizing.drain``), so a floor that only fits with spot would vanish on an eviction.

KAITO models are left out unless KAITO runs on the pool's own nodes (helm install with
``nodeProvisioner: none``): otherwise KAITO provisions its own nodes outside the pool.

``pool_slots`` and ``pool_slot_demand`` are the reusable parts (the scheduling check calls them);
``slot_shortfalls`` compares them pool by pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.catalog import Catalog, GpuSku
from config.schema import GpuPoolConfig, NodePoolConfig, StackConfig
from facts.platform import Capacity
from sizing.deployments import ModelPlan
from sizing.nap import capacity_order, nap_pools, nodes_at_limits, sizing_sku
from sizing.node_selection import gpus_per_node
from sizing.workloads import replica_floor

ROLLOUT_SURGE_REPLICAS = 1  # the vLLM Deployment's RollingUpdate maxSurge (components/vllm_model.py)


@dataclass(frozen=True)
class PoolSlots:
    """The GPU slots of one logical pool (agent pools or NodePools) at its maximum."""

    pool: str
    slots_per_node: int
    on_demand_nodes: int
    spot_nodes: int

    @property
    def on_demand(self) -> int:
        return self.on_demand_nodes * self.slots_per_node

    @property
    def spot(self) -> int:
        return self.spot_nodes * self.slots_per_node

    @property
    def total(self) -> int:
        return self.on_demand + self.spot

    def describe(self) -> str:
        parts = []
        if self.on_demand_nodes:
            parts.append(f"{self.on_demand_nodes} on-demand")
        if self.spot_nodes:
            parts.append(f"{self.spot_nodes} spot")
        nodes = " + ".join(parts) or "0"
        text = f"{nodes} nodes x {self.slots_per_node} slots = {self.total}"
        mixed = self.spot_nodes and self.on_demand_nodes
        return text + (f", {self.on_demand} of them on-demand" if mixed else "")


@dataclass(frozen=True)
class SlotDemand:
    """What one model asks of its pool's slots."""

    index: int  # position under models (for error paths)
    model: str
    pool: str
    serving: bool
    slots_per_replica: int
    replicas_floor: int
    replicas_max: int
    surge_replicas: int

    @property
    def at_max(self) -> int:
        return (self.replicas_max + self.surge_replicas) * self.slots_per_replica

    @property
    def at_floor(self) -> int:
        return self.replicas_floor * self.slots_per_replica

    def describe(self) -> str:
        surge = f" + {self.surge_replicas} rollout surge" if self.surge_replicas else ""
        return (
            f"{self.model}: ({self.replicas_max} replicas{surge}) x {self.slots_per_replica} slots = "
            f"{self.at_max}"
        )


def node_bounds(pool: GpuPoolConfig) -> dict[Capacity, tuple[int, int]]:
    """(min, max) nodes of the pool's on-demand and spot agent pools; (0, 0) for one it does not have."""
    return {
        "on-demand": (pool.on_demand.min, pool.on_demand.max) if pool.on_demand else (0, 0),
        "spot": (pool.spot.min, pool.spot.max) if pool.spot else (0, 0),
    }


def fill(pool: GpuPoolConfig, needed: int) -> tuple[int, int, int]:
    """(on-demand nodes, spot nodes, nodes missing) when models need ``needed`` nodes of the pool.

    Each agent pool keeps its minimum; what is needed beyond goes on-demand first, then spot (the cost
    estimate's split: on-demand nodes are what the floor of a serving model must fit on).
    """
    (od_min, od_max), (sp_min, sp_max) = node_bounds(pool)["on-demand"], node_bounds(pool)["spot"]
    extra = max(0, needed - od_min - sp_min)
    od_extra = min(extra, od_max - od_min)
    sp_extra = min(extra - od_extra, sp_max - sp_min)
    return od_min + od_extra, sp_min + sp_extra, extra - od_extra - sp_extra


def fill_nodepool(pool: NodePoolConfig, sku: GpuSku, needed: int) -> tuple[dict[Capacity, int], int]:
    """(nodes per capacity type, nodes missing) when models need ``needed`` nodes of ``sku`` on a NAP
    NodePool: Karpenter fills the preferred capacity type up to its limits, then the other (the cost
    estimate's split for NodePools, as ``fill`` is for agent pools)."""
    maxima = nodes_at_limits(pool, sku)
    out = dict.fromkeys(maxima, 0)
    left = needed
    for capacity in capacity_order(pool):
        out[capacity] = min(left, maxima[capacity])
        left -= out[capacity]
    return out, left


def pool_slots(pool: GpuPoolConfig | NodePoolConfig, sku: GpuSku) -> PoolSlots:
    """The slots of ``pool`` at its maximum; ``sku`` is its vmSize (agent pools) or sizing SKU (NodePools)."""
    if isinstance(pool, NodePoolConfig):
        nodes = nodes_at_limits(pool, sku)
        per_node = sku.gpu_count
    else:
        nodes = {capacity: high for capacity, (_, high) in node_bounds(pool).items()}
        per_node = gpus_per_node(pool, sku)
    return PoolSlots(pool.name, per_node, nodes.get("on-demand", 0), nodes.get("spot", 0))


def runs_on_pool(plan: ModelPlan, config: StackConfig) -> bool:
    """Whether the model's pods take the pool's own slots (vLLM; KAITO only on bring-your-own nodes)."""
    if plan.config.runtime == "vllm":
        return True
    kaito = config.addons.kaito
    return isinstance(plan.pool, GpuPoolConfig) and kaito.mode == "helm" and kaito.node_provisioner == "none"


def pool_slot_demand(plan: ModelPlan) -> SlotDemand:
    """The slots a model needs at its maximum (plus rollout surge for vLLM) and at its floor."""
    cfg = plan.config
    if cfg.runtime == "vllm":
        per_replica = 1 if plan.mig is not None else plan.sizing.gpus_per_replica
        surge = ROLLOUT_SURGE_REPLICAS
    else:  # KAITO on the pool's nodes: whole nodes per replica; a StatefulSet rolls without surge
        per_replica = plan.kaito_nodes * plan.sku.gpu_count
        surge = 0
    floor = replica_floor(plan)
    if cfg.schedule is not None:
        floor = max(floor, cfg.schedule.min_replicas)
    return SlotDemand(
        index=plan.index,
        model=cfg.name,
        pool=plan.pool.name,
        serving=cfg.purpose == "serving",
        slots_per_replica=per_replica,
        replicas_floor=floor,
        replicas_max=plan.replicas_max,
        surge_replicas=surge,
    )


def stack_pool_slots(
    config: StackConfig, catalog: Catalog, chosen_skus: Mapping[str, GpuSku | None] | None = None
) -> dict[str, PoolSlots]:
    """Slots of every pool (GPU pools, or NodePools in NAP mode) whose SKU resolves (``chosen_skus``:
    the NodePools' sizing SKUs when the caller has them, ``sizing.nap.sizing_skus``)."""
    out: dict[str, PoolSlots] = {}
    for pool in config.gpu_pools:
        sku = catalog.skus.get(pool.vm_size)
        if sku is not None and (not pool.mig or sku.mig_profile(pool.mig) is not None):
            out[pool.name] = pool_slots(pool, sku)
    for nodepool in nap_pools(config):
        if chosen_skus is not None:
            np_sku = chosen_skus[nodepool.name]
        else:
            np_sku = sizing_sku(nodepool, catalog, config)
        if np_sku is not None:
            out[nodepool.name] = pool_slots(nodepool, np_sku)
    return out


@dataclass(frozen=True)
class Shortfall:
    """A pool whose slots do not hold its models: at the maximum, or (serving) at the floor on-demand."""

    pool: PoolSlots
    demands: tuple[SlotDemand, ...]
    kind: str  # "max" or "floor"

    @property
    def needed(self) -> int:
        if self.kind == "max":
            return sum(d.at_max for d in self.demands)
        return sum(d.at_floor for d in self.demands)

    @property
    def available(self) -> int:
        return self.pool.total if self.kind == "max" else self.pool.on_demand


def slot_shortfalls(
    plans: list[ModelPlan],
    config: StackConfig,
    catalog: Catalog,
    chosen_skus: Mapping[str, GpuSku | None] | None = None,
) -> list[Shortfall]:
    """Pools whose models together need more slots than the pool has (``max``), or whose serving
    models' floors need more than its on-demand slots (``floor``)."""
    slots = stack_pool_slots(config, catalog, chosen_skus)
    by_pool: dict[str, list[SlotDemand]] = {}
    for plan in plans:
        if plan.pool.name in slots and runs_on_pool(plan, config):
            by_pool.setdefault(plan.pool.name, []).append(pool_slot_demand(plan))
    out = []
    for name, demands in by_pool.items():
        pool = slots[name]
        at_max = Shortfall(pool, tuple(demands), "max")
        if at_max.needed > at_max.available:
            out.append(at_max)
        serving = tuple(d for d in demands if d.serving and d.replicas_floor > 0)
        at_floor = Shortfall(pool, serving, "floor")
        if serving and at_floor.needed > at_floor.available:
            out.append(at_floor)
    return out
