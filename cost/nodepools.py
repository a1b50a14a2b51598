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
from sizing.nap import allowed_skus, capacity_order, nap_pools, nodes_at_limits
from sizing.slots import fill_nodepool

ON_DEMAND, SPOT = "onDemand", "spot"  # the estimate's capacity keys (cost.estimate reads them here)
COST_CAPACITY = {"on-demand": ON_DEMAND, "spot": SPOT}


@dataclass(frozen=True)
class NodePoolCapacity:
    """One logical NodePool for the cost estimate; its split between capacity types is the plan's
    (``sizing.slots.fill_nodepool``), only renamed to the estimate's capacity keys."""

    pool: NodePoolConfig
    sku: GpuSku  # the sizing SKU: every model on the NodePool is pinned to it
    allowed: tuple[GpuSku, ...]  # every SKU the NodePool allows (sizing order)

    @property
    def name(self) -> str:
        return self.pool.name

    @property
    def maxima(self) -> dict[str, int]:
        """Cost capacity (onDemand | spot) -> nodes of ``sku`` under its limits."""
        return self.at_limits(self.sku)

    @property
    def order(self) -> tuple[str, ...]:
        """Cost capacities, preferred first."""
        return tuple(COST_CAPACITY[c] for c in capacity_order(self.pool))

    def fill(self, needed: int) -> tuple[dict[str, int], int]:
        """(nodes per cost capacity, nodes missing) when models need ``needed`` nodes of ``sku``."""
        nodes, missing = fill_nodepool(self.pool, self.sku, needed)
        return {COST_CAPACITY[c]: n for c, n in nodes.items()}, missing

    def at_limits(self, sku: GpuSku) -> dict[str, int]:
        """Nodes of ``sku`` per cost capacity that the limits allow."""
        return {COST_CAPACITY[c]: n for c, n in nodes_at_limits(self.pool, sku).items()}


def nodepool_capacities(config: StackConfig, catalog: Catalog) -> list[NodePoolCapacity]:
    """Every logical NodePool of a NAP stack whose SKUs resolve, in config order."""
    out = []
    for pool in nap_pools(config):
        allowed = allowed_skus(pool, catalog)
        if allowed:
            out.append(NodePoolCapacity(pool, allowed[0], tuple(allowed)))
    return out
