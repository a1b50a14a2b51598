"""vCPU quota a stack needs at its pools' maxima (pure, no Pulumi).

Azure counts quota in vCPUs per VM family and region; spot VMs of every family count against one
regional low-priority quota instead. The need of a family is, over every on-demand pool of that
family (GPU pools and the system pool), ``max nodes x vCPUs`` plus the surge nodes AKS adds while
upgrading a pool of that size; spot pools cannot surge.

NAP NodePools have no node count, only limits: a NodePool may spend its whole limit on any SKU it
allows, so each family's need is the worst case over the NodePool's SKUs of that family (``max nodes
under the limits x vCPUs``), and a spot NodePool's need (regional spot quota) the worst case over
all its SKUs. Karpenter launches no node beyond the limits, replacements included, so there is no
surge; its limit check is eventually consistent, though, and rapid scale-out can overrun it slightly.

KAITO provisions its own on-demand nodes of a KAITO model's SKU, outside every pool and NodePool:
each KAITO model adds ``nodes per replica x replicas max x vCPUs`` to that SKU's family (nothing
with the helm install's ``nodeProvisioner: none``, where KAITO runs on the pools' own nodes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from config.catalog import Catalog
from config.schema import StackConfig
from sizing.agent_pools import AgentPoolSpec
from sizing.deployments import ModelPlan
from sizing.nap import NodePoolSpec

SPOT_FAMILY = "lowPriorityCores"  # Azure's usage name of the regional spot/low-priority quota


@dataclass(frozen=True)
class PoolNeed:
    """One agent pool's contribution to a family's need."""

    agent_pool: str  # or a NAP NodePool
    nodes: int  # maximum nodes
    surge_nodes: int
    vcpus_per_node: int
    note: str = ""  # NAP: the SKU of the worst case
    kaito: bool = False  # nodes KAITO provisions for a model (agent_pool is "kaito <model>")

    @property
    def vcpus(self) -> int:
        return (self.nodes + self.surge_nodes) * self.vcpus_per_node

    def describe(self) -> str:
        """E.g. ``a100: (3 + 1 surge) x 24 vCPUs`` or ``a100sp: 4 x 24 vCPUs``."""
        nodes = f"({self.nodes} + {self.surge_nodes} surge)" if self.surge_nodes else str(self.nodes)
        note = f" ({self.note})" if self.note else ""
        return f"{self.agent_pool}: {nodes} x {self.vcpus_per_node} vCPUs{note}"


@dataclass(frozen=True)
class QuotaRow:
    """The vCPUs one quota family needs, who needs them, and the declared quota if any."""

    family: str
    kind: Literal["on-demand", "spot"]
    pools: tuple[PoolNeed, ...]
    quota: int | None

    @property
    def need(self) -> int:
        return sum(p.vcpus for p in self.pools)

    @property
    def ok(self) -> bool | None:
        return None if self.quota is None else self.need <= self.quota


def surge_nodes(max_surge: str | None, nodes: int) -> int:
    """Nodes AKS adds during an upgrade: an absolute number, or a percentage rounded up."""
    if not max_surge:
        return 0
    if max_surge.endswith("%"):
        return math.ceil(nodes * int(max_surge[:-1]) / 100)
    return int(max_surge)


def quota_rows(
    config: StackConfig,
    catalog: Catalog,
    agent_pools: Sequence[AgentPoolSpec],
    nodepools: Sequence[NodePoolSpec],
    plans: Sequence[ModelPlan],
) -> list[QuotaRow]:
    """The need per quota family (on-demand families sorted by name, then spot), from the stack's agent
    pools, NodePools and model plans (``planning.stack_plan.plan_stack`` computes each once)."""
    by_family: dict[str, list[PoolNeed]] = {}
    system = config.cluster.system_pool
    system_sku = catalog.system_skus.get(system.vm_size)
    if system_sku is not None:
        by_family.setdefault(system_sku.quota_family, []).append(
            PoolNeed("system", system.count, surge_nodes(system.max_surge, system.count), system_sku.vcpus)
        )
    spot: list[PoolNeed] = []
    for spec in agent_pools:
        need = PoolNeed(
            spec.name, spec.max_count, surge_nodes(spec.max_surge, spec.max_count), spec.sku.vcpus
        )
        if spec.capacity == "spot":
            spot.append(need)
        else:
            by_family.setdefault(spec.sku.quota_family, []).append(need)
    for np_spec in nodepools:
        for family, need in nodepool_needs(np_spec).items():
            if np_spec.capacity == "spot":
                spot.append(need)
            else:
                by_family.setdefault(family, []).append(need)
    for plan in kaito_plans(config, plans):
        by_family.setdefault(plan.sku.quota_family, []).append(kaito_need(plan))
    declared = config.quota.families
    rows = [
        QuotaRow(family, "on-demand", tuple(needs), declared.get(family))
        for family, needs in sorted(by_family.items())
    ]
    if spot:
        rows.append(QuotaRow(SPOT_FAMILY, "spot", tuple(spot), config.quota.spot_vcpus))
    return rows


def kaito_plans(config: StackConfig, plans: Sequence[ModelPlan]) -> list[ModelPlan]:
    """KAITO models whose nodes KAITO provisions itself (all but ``nodeProvisioner: none``)."""
    kaito = config.addons.kaito
    if kaito.mode == "helm" and kaito.node_provisioner == "none":
        return []
    return [p for p in plans if p.config.runtime == "kaito"]


def kaito_need(plan: ModelPlan) -> PoolNeed:
    """A KAITO model's on-demand nodes at its maximum: nodes per replica x replicas max."""
    nodes, replicas = plan.kaito_nodes, plan.replicas_max
    note = f"{nodes} nodes per replica x {replicas} replicas" if nodes > 1 else ""
    return PoolNeed(f"kaito {plan.config.name}", nodes * replicas, 0, plan.sku.vcpus, note, kaito=True)


def families_in_use(rows: Sequence[QuotaRow]) -> list[str]:
    """On-demand quota families the stack's pools draw on (of its quota rows)."""
    return [r.family for r in rows if r.kind == "on-demand"]


def nodepool_needs(spec: NodePoolSpec) -> dict[str, PoolNeed]:
    """A NodePool's worst case at its limits: per quota family on-demand, one entry for spot.

    SKUs of which not even one node fits under the limits are never launched and are left out.
    """
    worst: dict[str, PoolNeed] = {}
    for sku in spec.skus:
        nodes = spec.max_nodes(sku)
        if nodes < 1:
            continue
        key = "spot" if spec.capacity == "spot" else sku.quota_family
        need = PoolNeed(spec.name, nodes, 0, sku.vcpus, f"{sku.name} at the NodePool's limits")
        if key not in worst or need.vcpus > worst[key].vcpus:
            worst[key] = need
    return worst
