"""NAP NodePools as priced capacity (pure): which nodes models need, in which capacity type.

A NodePool has no minimum and no node count: Karpenter launches what pending pods need, trying
the NodePool of the preferred capacity first (on-demand for serving, spot for batch; by weight) up
to its limits, then the other. The models on it are pinned to its sizing SKU, so its capacity rows
are priced at that SKU; its maximum is what the limits allow of that SKU.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.catalog import Catalog, GpuSku
from config.schema import NodePoolConfig, StackConfig
from sizing.nap import allowed_skus, limits_of, max_nodes, nap_pools, preferred_capacity
from sizing.scheduling import capacities

ON_DEMAND, SPOT = "onDemand", "spot"
COST_CAPACITY = {"on-demand": ON_DEMAND, "spot": SPOT}


@dataclass(frozen=True)
class NodePoolCapacity:
    """One logical NodePool for the cost estimate."""

    pool: NodePoolConfig
    sku: GpuSku  # the sizing SKU: every model on the NodePool is pinned to it
    allowed: tuple[GpuSku, ...]  # every SKU the NodePool allows (sizing order)
    maxima: dict[str, int]  # cost capacity (onDemand | spot) -> nodes of ``sku`` under its limits
    order: tuple[str, ...]  # cost capacities, preferred first

    @property
    def name(self) -> str:
        return self.pool.name

    def fill(self, needed: int) -> tuple[dict[str, int], int]:
        """(nodes per cost capacity, nodes missing) when models need ``needed`` nodes of ``sku``."""
        out = {cap: 0 for cap in self.maxima}
        left = needed
        for cap in self.order:
            out[cap] = min(left, self.maxima[cap])
            left -= out[cap]
        return out, left

    def at_limits(self, sku: GpuSku) -> dict[str, int]:
        """Nodes of ``sku`` per cost capacity that the limits allow."""
        return {COST_CAPACITY[c]: max_nodes(limits_of(self.pool, c), sku) for c in capacities(self.pool)}


def nodepool_capacities(config: StackConfig, catalog: Catalog) -> list[NodePoolCapacity]:
    """Every logical NodePool of a NAP stack whose SKUs resolve, in config order."""
    out = []
    for pool in nap_pools(config):
        allowed = allowed_skus(pool, catalog)
        if not allowed:
            continue
        sku = allowed[0]
        caps = capacities(pool)
        preferred = preferred_capacity(pool)
        ordered = [preferred, *(c for c in caps if c != preferred)]
        maxima = {COST_CAPACITY[c]: max_nodes(limits_of(pool, c), sku) for c in caps}
        order = tuple(COST_CAPACITY[c] for c in ordered)
        out.append(NodePoolCapacity(pool, sku, tuple(allowed), maxima, order))
    return out
