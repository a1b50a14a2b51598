"""Rules of Node Auto Provisioning: the exclusivity with autoscaled pools, catalog SKUs, limits,
spot on serving NodePools, one OS for the GPU Operator and one GPU driver per node.

Each rule is ``(StackPlan) -> Iterable[Problem]``, registered in ``rules.check.RULES``.
Quota is checked by ``rules.gpu.quota_fits``, whose rows include the NodePools.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.catalog import did_you_mean
from config.errors import Problem
from facts.aks_versions import WARN_DAYS, load_image_families, upcoming_minors
from facts.platform import LABEL_OPERATOR_OPERANDS
from planning.stack_plan import StackPlan
from rules.rule import Rule
from sizing.nap import (
    GPU_MODE,
    catalog_series,
    limits_of,
    max_nodes,
    nap_pools,
    sku_series,
)
from sizing.node_selection import capacities, driver_conflict

NODE_POOLS = "nodeProvisioning.nodePools"


def nap_excludes_autoscaled_pools(stack: StackPlan) -> Iterable[Problem]:
    """GPU capacity comes from autoscaled agent pools or from NAP NodePools, never both."""
    config = stack.config
    nap = config.node_provisioning
    if nap.mode == "nap" and config.gpu_pools:
        names = [p.name for p in config.gpu_pools]
        yield Problem(
            "gpuPools",
            names,
            "nodeProvisioning.mode is nap, and AKS refuses node pools with the cluster autoscaler enabled "
            "when the cluster's nodeProvisioningProfile.mode is Auto; every GPU pool here is autoscaled",
            "declare this GPU capacity under nodeProvisioning.nodePools (Karpenter NodePools) and remove "
            "gpuPools, or nodeProvisioning.mode: pools",
        )
    if nap.mode == "pools" and nap.node_pools:
        yield Problem(
            NODE_POOLS,
            [p.name for p in nap.node_pools],
            "Karpenter NodePools need Node Auto Provisioning, and nodeProvisioning.mode is pools (GPU "
            "capacity from the autoscaled gpuPools)",
            "nodeProvisioning.mode: nap (with no gpuPools), or declare the capacity under gpuPools",
        )


def nap_autoscaler_profile(stack: StackPlan) -> Iterable[Problem]:
    """``cluster.autoscaler`` would do nothing in NAP mode: say so instead of ignoring it."""
    config = stack.config
    if config.node_provisioning.mode == "nap" and "autoscaler" in config.cluster.model_fields_set:
        yield Problem(
            "cluster.autoscaler",
            config.cluster.autoscaler.model_dump(by_alias=True),
            "in NAP mode no node pool is autoscaled, so the cluster autoscaler profile would apply to "
            "nothing (the program leaves it out of the cluster)",
            "remove cluster.autoscaler; tune nodeProvisioning.nodePools[].disruption (consolidateAfter, "
            "consolidationPolicy) instead",
        )


def nodepool_skus(stack: StackPlan) -> Iterable[Problem]:
    """``skus`` are catalog GPU SKUs Azure still sells; ``skuFamilies`` are catalog series."""
    config, catalog = stack.config, stack.catalog
    sellable = sorted(n for n, s in catalog.skus.items() if not s.retired)
    series = catalog_series(catalog)
    for i, pool in enumerate(config.node_provisioning.node_pools):
        for j, name in enumerate(pool.skus):
            sku = catalog.skus.get(name)
            path = f"{NODE_POOLS}[{i}].skus[{j}]"
            if sku is None:
                hint = did_you_mean(name, sellable)  # never a retired SKU
                yield Problem(
                    path,
                    name,
                    "not a GPU SKU in the catalog: a NodePool may only provision catalog GPU SKUs (the "
                    "program sizes models and checks quota and cost against the catalog)",
                    hint + "one of " + ", ".join(sellable),
                )
            elif sku.retired:
                yield Problem(
                    path, name, f"this series was retired by Azure on {sku.retired}", ", ".join(sellable)
                )
        for j, family in enumerate(pool.sku_families):
            if family in series:
                continue
            retired = next(
                (s.retired for s in catalog.skus.values() if s.retired and sku_series(s.name) == family), None
            )
            hint = "" if retired else did_you_mean(family, series)
            yield Problem(
                f"{NODE_POOLS}[{i}].skuFamilies[{j}]",
                family,
                f"this series was retired by Azure on {retired}"
                if retired
                else "not a series of catalog GPU SKUs (Karpenter's own sku-family label is only the series "
                "letter, N for every NC/ND/NV size, so families are resolved against the catalog)",
                hint
                + "one of "
                + ", ".join(f"{s} ({', '.join(k.name for k in series[s])})" for s in sorted(series)),
            )


def nodepool_limits(stack: StackPlan) -> Iterable[Problem]:
    """Each capacity's limits hold at least one node of the NodePool's sizing SKU."""
    config = stack.config
    for i, pool in enumerate(nap_pools(config)):
        sku = stack.nap_sizing_skus[pool.name]
        if sku is None:
            continue
        for capacity in capacities(pool):
            limits = limits_of(pool, capacity)
            if max_nodes(limits, sku) >= 1:
                continue
            key = "onDemand" if capacity == "on-demand" else "spot"
            yield Problem(
                f"{NODE_POOLS}[{i}].{key}.limits",
                limits.model_dump(by_alias=True, exclude_none=True),
                f"below one node of {sku.name} ({sku.gpu_count} GPU(s), {sku.vcpus} vCPUs, "
                f"{sku.memory_gib} GiB), the SKU models on NodePool {pool.name} are sized for: Karpenter "
                "could never launch it",
                f"limits of at least gpus: {sku.gpu_count}, cpu: {sku.vcpus}, memoryGib: {sku.memory_gib}",
            )


def serving_spot_needs_on_demand(stack: StackPlan) -> Iterable[Problem]:
    """A serving NodePool uses spot only next to on-demand capacity (spot evictions: 30 s notice)."""
    config = stack.config
    for i, pool in enumerate(nap_pools(config)):
        if pool.purpose == "serving" and pool.spot is not None and pool.on_demand is None:
            yield Problem(
                f"{NODE_POOLS}[{i}].onDemand",
                None,
                f"serving NodePool {pool.name} would run on spot VMs alone: spot VMs are evicted with 30 s "
                "notice, so a serving NodePool may add spot only next to on-demand capacity (Karpenter "
                "tries the on-demand NodePool first, weight 100, then spot, weight 50)",
                "onDemand: {limits: {gpus: ...}} next to spot, or purpose: batch, or no spot",
            )


def operator_one_image_family(stack: StackPlan) -> Iterable[Problem]:
    """The GPU Operator supports one OS version per cluster: operator NodePools share an image family."""
    config = stack.config
    operator = [(i, p) for i, p in enumerate(nap_pools(config)) if p.driver == "operator"]
    if not operator:
        return
    first_index, first = operator[0]
    for i, pool in operator[1:]:
        if pool.image_family != first.image_family:
            yield Problem(
                f"{NODE_POOLS}[{i}].imageFamily",
                pool.image_family,
                f"the NVIDIA GPU Operator is not compatible with several OS versions in one AKS cluster, and "
                f"operator NodePool {first.name} ({NODE_POOLS}[{first_index}]) uses {first.image_family}",
                f"imageFamily: {first.image_family} on every driver: operator NodePool, or driver: managed",
            )


def image_family_follows_the_version(stack: StackPlan) -> Iterable[Problem]:
    """Each NodePool's image family is one AKS supports on the cluster's minor and on every minor the
    calendar moves the cluster to within 90 days (its end of life, the auto-upgrade channel), as the
    version rule refuses a version AKS no longer creates (``rules.azure``). Node images come from
    ``config/catalog/aks-image-families.yaml`` (MicrosoftDocs/azure-aks-docs upgrade-os-version.md)."""
    config = stack.config
    on = stack.plan_date
    pools = list(enumerate(nap_pools(config)))
    if not pools:
        return
    c = config.cluster
    minors = upcoming_minors(
        c.kubernetes_version, upgrade_channel=c.upgrade_channel, support_plan=c.support_plan, on=on
    )
    families = load_image_families()
    fitting = [f.describe() for f in families.values() if all(f.supports(m) for m in minors)]
    for i, pool in pools:
        support = families[pool.image_family]
        broken = [(m, why) for m, why in minors.items() if not support.supports(m)]
        if not broken:
            continue
        minor, why = broken[0]
        yield Problem(
            f"{NODE_POOLS}[{i}].imageFamily",
            pool.image_family,
            f"AKS supports node image {support.describe()}, and the cluster runs Kubernetes {minor} "
            f"({why}) within {WARN_DAYS} days of {on}: its nodes would get no supported image",
            "imageFamily: " + " or ".join(fitting) + " (or a cluster.kubernetesVersion it supports)",
        )


def nap_one_gpu_driver_per_node(stack: StackPlan) -> Iterable[Problem]:
    """Never AKS's driver and the operator's on one node: NodePools' labels match their gpu.mode."""
    for spec in stack.nodepool_specs:
        mode = GPU_MODE[spec.pool.driver]
        opt_out = spec.labels.get(LABEL_OPERATOR_OPERANDS)
        why = driver_conflict(mode == "Driver", spec.labels, spec.pool.driver)
        if why is None:
            continue
        yield Problem(
            f"{NODE_POOLS}[{spec.index}].driver",
            spec.pool.driver,
            f"NodePool {spec.name} (AKSNodeClass gpu.mode={mode}, {LABEL_OPERATOR_OPERANDS}="
            f"{opt_out or 'unset'}): {why}",
            f"managed NodePools labelled {LABEL_OPERATOR_OPERANDS}=false, operator NodePools not",
        )


NAP_RULES: list[Rule] = [
    nap_excludes_autoscaled_pools,
    nap_autoscaler_profile,
    nodepool_skus,
    nodepool_limits,
    serving_spot_needs_on_demand,
    operator_one_image_family,
    image_family_follows_the_version,
    nap_one_gpu_driver_per_node,
]
