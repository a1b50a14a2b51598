"""Node Auto Provisioning: the Karpenter NodePools and AKSNodeClasses a stack's ``nodeProvisioning``
becomes (pure, no Pulumi).

One logical NodePool (``nodeProvisioning.nodePools[i]``) becomes one ``AKSNodeClass`` named like it
and one Karpenter ``NodePool`` per capacity type, ``<name>-od`` and/or ``<name>-spot``. The
component declares exactly these objects (rendered by ``renderers/nap.py``), the rules check them,
quota and cost size them and the plan prints them, so what is checked is what is created.

SKUs: ``skus`` and ``skuFamilies`` resolve against the catalog into an explicit
``karpenter.azure.com/sku-name`` requirement. Karpenter's own ``sku-family`` label is only the
series letter (``N`` for every NC/ND/NV size, retired V100s included), so it cannot keep a NodePool
to catalog GPU SKUs.

Sizing SKU: a NodePool may allow several SKUs; the program sizes every model on it for one of them,
the advisor's choice (``sizing.advisor``): the allowed SKU (of which every capacity's limits hold a
node) on which every model of the NodePool fits with its workload and whose nodes for the models'
peak cost least on-demand (the sum of each model's
cheapest placement there); unpriced SKUs after priced ones, ties and SKUs where a model does not fit
in the old order (least GPU memory, then the fewest vCPUs, then the name). Models are pinned to it
(``sizing.node_selection.nodepool_scheduling``), so what runs is what was sized.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config.catalog import Catalog, GpuSku
from config.prices import local_book
from config.schema import NapLimitsConfig, NodePoolConfig, StackConfig
from facts.platform import GPU_RESOURCE, Capacity, Taint
from sizing import drain
from sizing.advisor import AdvisorModel, AdvisorWorkload, placements
from sizing.node_selection import capacities, nap_node_labels, node_taints

SUFFIX = {"on-demand": "-od", "spot": "-spot"}
PREFERRED_WEIGHT = 100  # Karpenter tries NodePools in descending weight (1..100)
FALLBACK_WEIGHT = 50
GPU_LIMIT = GPU_RESOURCE  # what a NodePool limits
# gpu.mode of the AKSNodeClass: Driver = AKS installs the NVIDIA driver, None = the GPU Operator does.
GPU_MODE = {"managed": "Driver", "operator": "None"}
CONSOLIDATION_DEFAULT = {"serving": "WhenEmpty", "batch": "WhenEmptyOrUnderutilized"}

_SERIES = re.compile(r"^Standard_([A-Z]+)\d+(.*)$")


def sku_series(name: str) -> str | None:
    """The Azure series of a VM size without its size number: ``Standard_NC24ads_A100_v4`` ->
    ``NCads_A100_v4``, ``Standard_NC4as_T4_v3`` -> ``NCas_T4_v3``; None when not of that form."""
    match = _SERIES.match(name)
    return f"{match[1]}{match[2]}" if match else None


def catalog_series(catalog: Catalog) -> dict[str, list[GpuSku]]:
    """Every series of the catalog's GPU SKUs that Azure still sells, with its SKUs."""
    out: dict[str, list[GpuSku]] = {}
    for sku in catalog.skus.values():
        series = sku_series(sku.name)
        if series is not None and not sku.retired:
            out.setdefault(series, []).append(sku)
    return out


def sizing_order(sku: GpuSku) -> tuple[int, int, str]:
    """Least total GPU memory first, then fewest vCPUs, then the name."""
    return (sku.gpu_count * sku.gpu_memory_gb, sku.vcpus, sku.name)


def allowed_skus(pool: NodePoolConfig, catalog: Catalog) -> list[GpuSku]:
    """The catalog GPU SKUs a NodePool allows (named ones and its families'), in sizing order.

    Unknown or retired names and unknown families are left out here; the rules report them.
    """
    found: dict[str, GpuSku] = {}
    for name in pool.skus:
        sku = catalog.skus.get(name)
        if sku is not None and not sku.retired:
            found[name] = sku
    series = catalog_series(catalog)
    for family in pool.sku_families:
        for sku in series.get(family, []):
            found[sku.name] = sku
    return sorted(found.values(), key=sizing_order)


def _peak_cost(pool: NodePoolConfig, sku: GpuSku, config: StackConfig, catalog: Catalog) -> float | None:
    """On-demand USD/h of the nodes the NodePool's models need at their peak on ``sku`` (each model's
    cheapest fitting whole-GPU placement, ``sizing.advisor``); None when one of them does not fit;
    infinity when ``sku`` has no price."""
    book = local_book(catalog.prices, config.prices)
    total = 0.0
    for model in config.models:
        if model.pool != pool.name or (model.model is not None and model.model not in catalog.models):
            continue
        work = AdvisorWorkload.of(model.workload)
        rows = placements(AdvisorModel.from_config(model, catalog), sku, work, book, (model.runtime,))
        costs = [r.on_demand_per_hour for r in rows if r.fits and r.meets_targets and r.mig is None]
        if not costs:
            return None
        total += min(float("inf") if c is None else c for c in costs)
    return total


def sizing_sku(pool: NodePoolConfig, catalog: Catalog, config: StackConfig | None = None) -> GpuSku | None:
    """The SKU models on this NodePool are sized for and pinned to (see the module docstring); without
    ``config`` (no models to rank for) the first in sizing order."""
    skus = allowed_skus(pool, catalog)
    if config is None or len(skus) < 2:
        return skus[0] if skus else None
    # a SKU of which a capacity's limits hold no node is never launched there (the rules refuse it)
    launchable = [s for s in skus if all(max_nodes(limits_of(pool, c), s) >= 1 for c in capacities(pool))]
    costs = {sku.name: _peak_cost(pool, sku, config, catalog) for sku in launchable}
    fitting = [s for s in launchable if costs[s.name] is not None]
    if not fitting:
        return skus[0]  # the rules refuse the model that fits nowhere, on the smallest SKU's numbers
    return min(fitting, key=lambda s: (costs[s.name], sizing_order(s)))


def sizing_skus(config: StackConfig, catalog: Catalog) -> dict[str, GpuSku | None]:
    """Each NodePool's sizing SKU by name (``sizing_sku``, chosen once per plan: it ranks the allowed
    SKUs for the NodePool's models)."""
    return {pool.name: sizing_sku(pool, catalog, config) for pool in nap_pools(config)}


def preferred_capacity(pool: NodePoolConfig) -> Capacity:
    """On-demand for serving, spot for batch (when the NodePool has it)."""
    offered = capacities(pool)
    wanted: Capacity = "on-demand" if pool.purpose == "serving" else "spot"
    return wanted if wanted in offered else offered[0]


def capacity_order(pool: NodePoolConfig) -> list[Capacity]:
    """The NodePool's capacity types in the order Karpenter tries them (by weight): preferred first."""
    preferred = preferred_capacity(pool)
    return [preferred, *(c for c in capacities(pool) if c != preferred)]


def weight(pool: NodePoolConfig, capacity: Capacity) -> int:
    """Karpenter's NodePool weight: the preferred capacity type is tried first."""
    return PREFERRED_WEIGHT if capacity == preferred_capacity(pool) else FALLBACK_WEIGHT


def consolidation_policy(pool: NodePoolConfig) -> str:
    return pool.disruption.consolidation_policy or CONSOLIDATION_DEFAULT[pool.purpose]


def limits_of(pool: NodePoolConfig, capacity: Capacity) -> NapLimitsConfig:
    section = pool.on_demand if capacity == "on-demand" else pool.spot
    assert section is not None, f"NodePool {pool.name} has no {capacity} capacity"
    return section.limits


def max_nodes(limits: NapLimitsConfig, sku: GpuSku) -> int:
    """Nodes of ``sku`` Karpenter may launch before a limit stops it (each limit caps the count)."""
    caps = [limits.gpus // sku.gpu_count]
    if limits.cpu is not None:
        caps.append(limits.cpu // sku.vcpus)
    if limits.memory_gib is not None:
        caps.append(limits.memory_gib // sku.memory_gib)
    return min(caps)


def nodes_at_limits(pool: NodePoolConfig, sku: GpuSku) -> dict[Capacity, int]:
    """Nodes of ``sku`` per capacity type (on-demand first) that the NodePool's limits allow."""
    return {capacity: max_nodes(limits_of(pool, capacity), sku) for capacity in capacities(pool)}


def limits_manifest(limits: NapLimitsConfig) -> dict[str, str]:
    """``spec.limits`` as strings (the API server turns numbers into strings: no diff on refresh).

    The plan's NodePool row (``NodePoolSpec.row``) shows the limits in this form too, so it stays here,
    beside the row; ``renderers/nap.py`` puts it in the NodePool manifest."""
    out = {GPU_LIMIT: str(limits.gpus)}
    if limits.cpu is not None:
        out["cpu"] = str(limits.cpu)
    if limits.memory_gib is not None:
        out["memory"] = f"{limits.memory_gib}Gi"
    return out


@dataclass(frozen=True)
class NodeClassSpec:
    """The AKSNodeClass of one logical NodePool (shared by its on-demand and spot NodePools)."""

    index: int
    pool: NodePoolConfig

    @property
    def name(self) -> str:
        return self.pool.name

    @property
    def gpu_mode(self) -> str:
        return GPU_MODE[self.pool.driver]


@dataclass(frozen=True)
class NodePoolSpec:
    """One Karpenter NodePool: a logical NodePool's on-demand or spot capacity."""

    index: int  # position under nodeProvisioning.nodePools (for error paths)
    pool: NodePoolConfig
    capacity: Capacity
    skus: tuple[GpuSku, ...]  # allowed, in sizing order
    sizing_sku: GpuSku
    # spec.template.spec.terminationGracePeriod: at least every vLLM replica's grace period on it
    # (sizing.drain), so Karpenter never deletes a draining replica before its preStop drain is over.
    termination_grace_seconds: int = drain.NODEPOOL_TERMINATION_GRACE_DEFAULT_SECONDS

    @property
    def name(self) -> str:
        return self.pool.name + SUFFIX[self.capacity]

    @property
    def weight(self) -> int:
        return weight(self.pool, self.capacity)

    @property
    def limits(self) -> NapLimitsConfig:
        return limits_of(self.pool, self.capacity)

    @property
    def labels(self) -> dict[str, str]:
        return nap_node_labels(self.pool, self.capacity)

    @property
    def taints(self) -> list[Taint]:
        return node_taints(self.capacity)

    def max_nodes(self, sku: GpuSku | None = None) -> int:
        return max_nodes(self.limits, sku or self.sizing_sku)

    def row(self) -> dict[str, Any]:
        """The NodePool table row of the plan (camelCase, JSON-ready)."""
        return {
            "nodePool": self.name,
            "pool": self.pool.name,
            "capacity": self.capacity,
            "weight": self.weight,
            "skus": [s.name for s in self.skus],
            "sizingSku": self.sizing_sku.name,
            "limits": limits_manifest(self.limits),
            "maxNodes": self.max_nodes(),
            "driver": self.pool.driver,
            "gpuMode": GPU_MODE[self.pool.driver],
            "imageFamily": self.pool.image_family,
            "purpose": self.pool.purpose,
            "consolidationPolicy": consolidation_policy(self.pool),
            "consolidateAfter": self.pool.disruption.consolidate_after,
            "expireAfter": self.pool.disruption.expire_after,
            "terminationGracePeriod": drain.karpenter_duration(self.termination_grace_seconds),
        }


def nap_pools(config: StackConfig) -> list[NodePoolConfig]:
    """The logical NodePools of a stack in NAP mode (none in pools mode)."""
    return list(config.node_provisioning.node_pools) if config.node_provisioning.mode == "nap" else []


def nodepool_specs(
    config: StackConfig, catalog: Catalog, chosen_skus: Mapping[str, GpuSku | None] | None = None
) -> list[NodePoolSpec]:
    """Every Karpenter NodePool of the stack whose SKUs resolve (rules report the others);
    ``chosen_skus``: the NodePools' sizing SKUs when the caller has them (``sizing_skus``)."""
    specs: list[NodePoolSpec] = []
    for i, pool in enumerate(nap_pools(config)):
        skus = allowed_skus(pool, catalog)
        if not skus:
            continue
        grace = drain.nodepool_termination_grace_seconds(config, pool)
        sku = chosen_skus[pool.name] if chosen_skus is not None else sizing_sku(pool, catalog, config)
        chosen = sku or skus[0]
        specs.extend(NodePoolSpec(i, pool, cap, tuple(skus), chosen, grace) for cap in capacities(pool))
    return specs


def node_class_specs(nodepools: Sequence[NodePoolSpec]) -> list[NodeClassSpec]:
    """One AKSNodeClass per logical NodePool that has NodePools."""
    seen = {spec.index: spec.pool for spec in nodepools}
    return [NodeClassSpec(i, pool) for i, pool in seen.items()]
