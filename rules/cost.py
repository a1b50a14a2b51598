"""Rules of the cost settings: price overrides name real VM sizes, throughputs name declared models."""

from __future__ import annotations

from collections.abc import Iterable

from config.catalog import Catalog, did_you_mean
from config.errors import Problem
from config.schema import StackConfig
from planning.stack_plan import StackPlan
from sizing.nap import allowed_skus, nap_pools


def stack_vm_sizes(config: StackConfig, catalog: Catalog | None = None) -> list[str]:
    """Every VM size the stack runs (GPU pools, system pool, and with the catalog NAP NodePools)."""
    sizes = [p.vm_size for p in config.gpu_pools] + [config.cluster.system_pool.vm_size]
    if catalog is not None:
        sizes += [s.name for p in nap_pools(config) for s in allowed_skus(p, catalog)]
    return sorted(set(sizes))


def price_override_skus(stack: StackPlan) -> Iterable[Problem]:
    """A price override names a VM size the stack uses or the catalog knows (else: a typo)."""
    config, catalog = stack.config, stack.catalog
    used = stack_vm_sizes(config, catalog)
    known = set(used) | set(catalog.skus) | set(catalog.system_skus)
    for sku in config.prices.skus:
        if sku in known:
            continue
        hint = did_you_mean(sku, known)
        yield Problem(
            f"prices.skus.{sku}",
            sku,
            "not a VM size this stack uses nor one in the catalog, so the price would apply to nothing",
            hint + "this stack's sizes: " + ", ".join(used),
        )


def cost_comparison_models(stack: StackPlan) -> Iterable[Problem]:
    """``modelThroughput`` names declared models (a model without a throughput gets the roofline's
    estimate in the break-even, marked so: ``cost.estimate``)."""
    config = stack.config
    cmp = config.cost_comparison
    if cmp is None:
        return
    names = [m.name for m in config.models]
    for name in cmp.model_throughput:
        if name not in names:
            hint = did_you_mean(name, names, best_only=True)
            yield Problem(
                f"costComparison.modelThroughput.{name}",
                name,
                "no model of that name",
                hint + (", ".join(names) if names else "declare the model under models first"),
            )
