"""Rules of GPU pools: spot split, MIG, time-slicing, the GPU driver and quota.

Each rule is ``(StackPlan) -> Iterable[Problem]``, registered in ``rules.check.RULES``.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.catalog import did_you_mean
from config.errors import Problem
from facts.platform import LABEL_OPERATOR_OPERANDS
from planning.stack_plan import StackPlan
from sizing.node_selection import driver_conflict
from sizing.quota import SPOT_FAMILY, families_in_use


def serving_spot_floor(stack: StackPlan) -> Iterable[Problem]:
    """A serving pool uses spot only as burst above a non-zero on-demand floor (30 s evictions)."""
    config = stack.config
    for i, pool in enumerate(config.gpu_pools):
        if pool.purpose != "serving" or pool.spot is None:
            continue
        if pool.on_demand is None or pool.on_demand.min < 1:
            path = f"gpuPools[{i}].onDemand" + (".min" if pool.on_demand else "")
            yield Problem(
                path,
                pool.on_demand.min if pool.on_demand else None,
                f"serving pool {pool.name} would run on spot VMs alone when it scales down: spot VMs "
                "are evicted with 30 s notice, so a serving pool may add spot only as burst capacity "
                "above an on-demand floor",
                "onDemand: {min: 1 or more, max: ...} next to spot, or purpose: batch, or no spot",
            )


def mig_profiles(stack: StackPlan) -> Iterable[Problem]:
    """MIG only on GPUs that have it, with a profile of that GPU (and one AKS can create if managed)."""
    config, catalog = stack.config, stack.catalog
    for i, pool in enumerate(config.gpu_pools):
        sku = catalog.skus.get(pool.vm_size)
        if pool.mig is None or sku is None:
            continue
        path = f"gpuPools[{i}].mig"
        if not sku.mig_profiles:
            capable = sorted(n for n, s in catalog.skus.items() if s.mig_profiles and not s.retired)
            yield Problem(
                path,
                pool.mig,
                f"{sku.gpu_model} ({sku.name}) has no MIG profiles: MIG partitions A100/H100-class GPUs "
                "(T4, A10 and V100 have no MIG at all)",
                "no mig on this pool, or a SKU with MIG profiles: " + ", ".join(capable),
            )
            continue
        profile = sku.mig_profile(pool.mig)
        names = [
            p.name + (f" ({p.aks_gpu_instance_profile})" if p.aks_gpu_instance_profile else "")
            for p in sku.mig_profiles
        ]
        if profile is None:
            hint = did_you_mean(pool.mig, [p.name for p in sku.mig_profiles], best_only=True)
            yield Problem(
                path,
                pool.mig,
                f"not a MIG profile of the {sku.gpu_model} ({sku.gpu_memory_gb} GB) of {sku.name}",
                hint + "one of " + ", ".join(names),
            )
        elif pool.driver == "managed" and profile.aks_gpu_instance_profile is None:
            aks = [
                f"{p.name} ({p.aks_gpu_instance_profile})"
                for p in sku.mig_profiles
                if p.aks_gpu_instance_profile
            ]
            yield Problem(
                path,
                pool.mig,
                f"AKS has no gpuInstanceProfile for {profile.name}: with the managed driver AKS "
                "partitions GPUs itself and offers only MIG1g, MIG2g, MIG3g, MIG4g and MIG7g",
                "driver: operator (the GPU Operator's MIG manager can create it), or one of "
                + ", ".join(aks),
            )


def time_slicing(stack: StackPlan) -> Iterable[Problem]:
    """Time-slicing needs the operator's device plugin, excludes MIG, and is opt-in on serving pools."""
    config = stack.config
    for i, pool in enumerate(config.gpu_pools):
        ts = pool.time_slicing
        if ts is None:
            continue
        path = f"gpuPools[{i}].timeSlicing"
        value = {"replicas": ts.replicas}
        if pool.driver != "operator":
            yield Problem(
                path,
                value,
                "time-slicing is configured through the GPU Operator's device plugin, and this pool "
                "uses the AKS-managed driver",
                f"driver: operator on pool {pool.name}, or no timeSlicing",
            )
        if pool.mig is not None:
            yield Problem(
                path,
                value,
                f"pool {pool.name} already partitions its GPUs with MIG {pool.mig}: MIG and time-slicing "
                "cannot be combined on one pool",
                "either mig or timeSlicing on a pool, not both",
            )
        if pool.purpose == "serving" and not ts.accept_noisy_neighbours:
            yield Problem(
                path,
                value,
                "time-sliced GPUs share memory and compute with no isolation: one replica's load "
                "changes another's latency, which a serving pool does not accept by default",
                "timeSlicing: {replicas: N, acceptNoisyNeighbours: true} to accept it, MIG for "
                "isolated slices, or purpose: batch",
            )


def one_gpu_driver_per_node(stack: StackPlan) -> Iterable[Problem]:
    """Never the managed driver and the operator's driver on one node.

    Each agent pool has one driver. Managed-driver pools must carry the operator's opt-out label (or
    the operator would install its driver next to AKS's) and operator pools must not (or their GPUs
    would get no driver). The labels come from ``sizing.node_selection``; should they ever drift, this
    refuses the stack before anything is created.
    """
    for spec in stack.agent_pool_specs:
        opt_out = spec.labels.get(LABEL_OPERATOR_OPERANDS)
        why = driver_conflict(spec.gpu_driver == "Install", spec.labels, spec.pool.driver)
        if why is None:
            continue
        yield Problem(
            f"gpuPools[{spec.index}].driver",
            spec.pool.driver,
            f"agent pool {spec.name} (AKS gpuProfile.driver={spec.gpu_driver}, "
            f"{LABEL_OPERATOR_OPERANDS}={opt_out or 'unset'}): {why}",
            f"managed pools labelled {LABEL_OPERATOR_OPERANDS}=false, operator pools not",
        )


def quota_families(stack: StackPlan) -> Iterable[Problem]:
    """Declared quota families are Azure VM families the catalog knows (a typo would check nothing)."""
    config, catalog = stack.config, stack.catalog
    known = sorted(
        {s.quota_family for s in catalog.skus.values()}
        | {s.quota_family for s in catalog.system_skus.values()}
    )
    used = families_in_use(stack.quota)
    for family in config.quota.families:
        if family not in known:
            hint = did_you_mean(family, known, best_only=True)
            yield Problem(
                f"quota.families.{family}",
                family,
                "not a VM quota family of any catalog SKU, so this quota would check nothing",
                hint
                + "families this stack uses: "
                + (", ".join(used) or "none")
                + f" (spot quota goes under quota.spotVcpus, Azure's {SPOT_FAMILY})",
            )


def quota_fits(stack: StackPlan) -> Iterable[Problem]:
    """The pools' maximum vCPUs (plus upgrade surge) and KAITO's own nodes per family fit the
    declared quota."""
    for row in stack.quota:
        if row.quota is None or row.need <= row.quota:
            continue
        path = "quota.spotVcpus" if row.kind == "spot" else f"quota.families.{row.family}"
        what = "regional spot (low-priority) quota" if row.kind == "spot" else f"{row.family} quota"
        pools = "; ".join(p.describe() for p in row.pools)
        kaito = [p.agent_pool.removeprefix("kaito ") for p in row.pools if p.kaito]
        who = "the pools and the nodes KAITO provisions" if kaito else "the pools"
        lower = "lower max/maxSurge of these pools"
        if kaito:
            lower += f", or replicas.max of KAITO model(s) {', '.join(kaito)}"
        yield Problem(
            path,
            row.quota,
            f"{who} need {row.need} vCPUs at their maximum ({pools}), more than the declared "
            f"{what} of {row.quota}",
            f"a quota of at least {row.need} vCPUs (request an increase in the Azure portal, "
            f"Quotas), or {lower}",
        )


def mig_pools_start_from_a_node(stack: StackPlan) -> Iterable[Problem]:
    """The cluster autoscaler sizes a node group from zero assuming whole GPUs (``nvidia.com/gpu``;
    Azure/AKS#5161): pods that request MIG slices never trigger a scale-up from zero nodes."""
    config, catalog = stack.config, stack.catalog
    for i, pool in enumerate(config.gpu_pools):
        sku = catalog.skus.get(pool.vm_size)
        if not pool.mig or sku is None or sku.mig_profile(pool.mig) is None:
            continue
        for key, capacity in (("onDemand", pool.on_demand), ("spot", pool.spot)):
            if capacity is not None and capacity.min == 0:
                yield Problem(
                    f"gpuPools[{i}].{key}.min",
                    0,
                    f"pool {pool.name} cuts its GPUs into MIG {pool.mig} slices, and the cluster autoscaler "
                    "cannot scale a node group up from zero for pods that request MIG slices (it plans new "
                    "nodes from whole GPUs, nvidia.com/gpu: Azure/AKS#5161); from one running node it can",
                    f"{key}.min: 1 or more, or a pool without mig (whole GPUs scale from zero)",
                )


GPU_RULES = [
    serving_spot_floor,
    mig_pools_start_from_a_node,
    mig_profiles,
    time_slicing,
    one_gpu_driver_per_node,
    quota_families,
    quota_fits,
]
