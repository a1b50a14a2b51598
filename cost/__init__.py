"""Cost of a stack, computed from the same plan as the resources (pure Python, no Pulumi).

``estimate_cost(config, catalog, plans)`` prices every capacity row (GPU pools on-demand and spot,
KAITO's own nodes, the system pool) from the dated catalog price table and the stack's ``prices``
overrides, follows each model's business-hours schedule for the monthly figure, and computes the
break-even against a per-token API from ``costComparison``.
"""

from cost.estimate import CostEstimate, estimate_cost

__all__ = ["CostEstimate", "estimate_cost"]
