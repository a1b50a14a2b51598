"""Rules of the model runtime on its nodes: no vLLM on time-sliced GPUs, replicas within the pool's GPU
slots, and drains within every cap. Each rule is ``(StackPlan) -> Iterable[Problem]``,
registered in ``rules.check.RULES``.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.errors import Problem
from planning.stack_plan import StackPlan
from sizing import drain
from sizing.nap import nap_pools
from sizing.slots import runs_on_pool, slot_shortfalls


def no_vllm_on_time_sliced_gpus(stack: StackPlan) -> Iterable[Problem]:
    """vLLM (standalone, or KAITO's on bring-your-own nodes) never shares a GPU by time-slicing.

    Each replica claims ``--gpu-memory-utilization`` of the whole GPU's memory (0.90 by default), and
    vLLM v0.31.0 refuses to start when free memory is below that claim (``request_memory``,
    ``vllm/v1/worker/utils.py:539-558``, "Free memory on device ... is less than desired GPU memory
    utilization"): a second replica on a time-shared GPU fails, and replicas that start together
    race in vLLM's memory profiling (one process's allocation counts against the other). Time-slicing
    isolates neither memory nor compute, so no utilization split starts reliably; MIG does isolate.
    """
    config = stack.config
    pools = {p.name: (i, p) for i, p in enumerate(config.gpu_pools)}
    for plan in stack.model_plans:
        entry = pools.get(plan.pool.name)
        if entry is None or not runs_on_pool(plan, config):
            continue
        _, pool = entry
        if pool.time_slicing is None:
            continue
        runtime = "vLLM" if plan.config.runtime == "vllm" else "KAITO's vLLM (on the pool's own nodes)"
        yield Problem(
            f"models[{plan.index}].pool",
            plan.config.pool,
            f"pool {pool.name} time-slices each GPU {pool.time_slicing.replicas} ways, and {runtime} cannot "
            "share a GPU that way: every replica claims --gpu-memory-utilization "
            f"{plan.sizing.gpu_memory_utilization:.2f} of the whole GPU's memory and vLLM refuses to start "
            "when less is free (vllm/v1/worker/utils.py), so the second replica on a GPU crash-loops, "
            "and replicas starting together race in vLLM's memory profiling",
            "a pool without timeSlicing (whole GPUs), or MIG slices (mig: ..., memory-isolated) for "
            "several small replicas per GPU",
        )


def replicas_fit_pool_slots(stack: StackPlan) -> Iterable[Problem]:
    """A pool holds its models at their maximum (rollout surge included), and a serving model's floor on
    on-demand nodes (``sizing.slots``). A model that does not fit its GPU is left out: its replica count
    means nothing, and ``models_fit`` reports it."""
    config, catalog = stack.config, stack.catalog
    placed = [plan for plan in stack.model_plans if plan.placed]
    for short in slot_shortfalls(placed, config, catalog, stack.nap_sizing_skus):
        pool, demands = short.pool, short.demands
        first = demands[0]
        if short.kind == "max":
            per_model = "; ".join(d.describe() for d in demands)
            yield Problem(
                f"models[{first.index}].replicas",
                {d.model: d.replicas_max for d in demands},
                f"the models on pool {pool.pool} need {short.needed} GPU slots at their maximum "
                f"({per_model}), and the pool has {pool.total} at its maximum ({pool.describe()}); "
                "replicas beyond that stay Pending",
                f"replicas.max (or a higher maxNumSeqs) so the models need at most {pool.total} slots, or "
                "a larger pool maximum (onDemand/spot max, or the NodePool's limits)",
            )
            continue
        per_model = "; ".join(
            f"{d.model}: {d.replicas_floor} replicas x {d.slots_per_replica} slots = {d.at_floor}"
            for d in demands
        )
        yield Problem(
            f"models[{first.index}].replicas.min",
            {d.model: d.replicas_floor for d in demands},
            f"the serving models on pool {pool.pool} keep {short.needed} GPU slots as their floor "
            f"(replicas.min or the schedule's minReplicas: {per_model}), and the pool has {pool.on_demand} "
            "on-demand slots; spot slots do not count toward a serving floor (an eviction gives ~30 s, "
            "so the floor would vanish with it)",
            f"a floor of at most {pool.on_demand} slots, or more on-demand capacity (onDemand.max)",
        )


def drains_fit_the_caps(stack: StackPlan) -> Iterable[Problem]:
    """Every vLLM replica's grace period (preStop drain + shutdown, ``sizing.drain``) fits the cluster
    autoscaler's ``maxGracefulTerminationSec`` (pools mode) and an explicit NodePool
    ``terminationGracePeriod`` (NAP mode); the upgrade drain timeout is raised to fit by the program."""
    config = stack.config
    cap = config.cluster.autoscaler.max_graceful_termination_sec
    autoscaled = {p.name for p in config.gpu_pools}
    nodepools = {p.name: (i, p) for i, p in enumerate(nap_pools(config))}
    for i, model in enumerate(config.models):
        if not drain.drains_on_pool(model):
            continue
        grace = drain.termination_grace_seconds(model)
        parts = (
            f"{drain.PRESTOP_SETTLE_SECONDS} s settle + {drain.prestop_bound_seconds(model)} s for running "
            f"requests (p95 {model.workload.p95_completion_tokens} completion tokens at "
            f"{drain.DECODE_TOKENS_PER_SECOND_FLOOR} tokens/s) + {drain.SHUTDOWN_SECONDS} s shutdown"
        )
        if model.pool in autoscaled and grace > cap:
            yield Problem(
                "cluster.autoscaler.maxGracefulTerminationSec",
                cap,
                f"model {model.name} (models[{i}]) needs a {grace} s grace period to drain ({parts}), and "
                f"the cluster autoscaler gives a pod at most {cap} s on scale-down: its running generations "
                "would be cut",
                f"maxGracefulTerminationSec: {grace} or more, or a lower workload.p95CompletionTokens",
            )
        entry = nodepools.get(model.pool)
        if entry is None:
            continue
        index, nodepool = entry
        if nodepool.termination_grace_period is None:
            continue
        allowed = drain.duration_seconds(nodepool.termination_grace_period)
        if grace > allowed:
            yield Problem(
                f"nodeProvisioning.nodePools[{index}].terminationGracePeriod",
                nodepool.termination_grace_period,
                f"model {model.name} (models[{i}]) needs a {grace} s grace period to drain ({parts}), and "
                f"Karpenter deletes its pods {allowed} s after a node starts draining",
                f"terminationGracePeriod: {drain.karpenter_duration(grace)} or more, or leave it unset (the "
                "program raises it to fit)",
            )


RUNTIME_RULES = [no_vllm_on_time_sliced_gpus, replicas_fit_pool_slots, drains_fit_the_caps]
