"""Rules of model services: KAITO's SKUs and features, gated models, replicas and schedules,
quantization. Each rule is ``(StackPlan) -> Iterable[Problem]``, registered in
``rules.check.RULES``. Sizing refusals (weights + one sequence, max-num-seqs, MIG slices) are
``rules.check.models_fit``.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.catalog import Catalog
from config.errors import Problem
from config.schema import GpuPoolConfig, ModelConfig
from planning.stack_plan import StackPlan
from rules.kaito import uses_catalog_skus
from sizing.autoscaling import wake_up_sources
from sizing.queue_worker import batch_models, queue_target, queue_wakes
from sizing.workloads import kaito_kind, replica_floor

TOKEN_HINT = (
    "pulumi config set --secret aks-llm:hfToken hf_... (a token of an account that accepted the licence)"
)


def _kaito_skus(catalog: Catalog) -> str:
    return ", ".join(sorted(n for n, s in catalog.skus.items() if s.kaito_supported and not s.retired))


def kaito_accepts_sku(stack: StackPlan) -> Iterable[Problem]:
    """KAITO (v0.12) provisions Ampere or newer GPUs only: T4 and V100 pools cannot run it.
    A release with its own SKU table (the managed add-on's 0.6.0) is checked by its preset
    requirements instead (``sizing.deployments``, reported by ``models_fit``)."""
    catalog = stack.catalog
    if not uses_catalog_skus(stack):
        return
    for plan in stack.model_plans:
        model, sku, pool = plan.config, plan.sku, plan.pool
        if model.runtime != "kaito" or sku.kaito_supported:
            continue
        yield Problem(
            f"models[{plan.index}].runtime",
            model.runtime,
            f"KAITO does not accept {sku.name} ({sku.gpu_model}, compute capability "
            f"{sku.compute_capability}): it provisions Ampere or newer GPUs only (compute capability "
            "8.0+, bfloat16); V100 was removed before KAITO v0.10.0 and T4 in v0.12.0",
            f"runtime: vllm on pool {pool.name} (vLLM serves float16 there), or a pool with an A10/A100/H100 "
            f"SKU KAITO accepts: {_kaito_skus(catalog)}",
        )


def _gated(model: ModelConfig, catalog: Catalog) -> tuple[str, str] | None:
    """(key path suffix, HF id) of a gated model, else None."""
    if model.custom is not None:
        return ("custom.gated", model.custom.hf_id) if model.custom.gated else None
    spec = catalog.models.get(str(model.model))
    return ("model", spec.hf_id) if spec is not None and spec.gated else None


def gated_models_have_a_token(stack: StackPlan) -> Iterable[Problem]:
    """A gated Hugging Face model downloads only with a token (KAITO's modelAccessSecret, vLLM's
    HF_TOKEN_PATH): refuse it when no ``hfToken`` is configured.

    Keys: models[].model, models[].custom.gated
    """
    config, catalog = stack.config, stack.catalog
    if config.hf_token is not None:
        return
    for i, model in enumerate(config.models):
        gated = _gated(model, catalog)
        if gated is None:
            continue
        key, hf_id = gated
        yield Problem(
            f"models[{i}].{key}",
            model.model if key == "model" else True,
            f"{hf_id} is a gated Hugging Face model: its weights download only with a Hugging Face token, "
            "and no aks-llm:hfToken is configured",
            TOKEN_HINT,
        )


def replica_settings(stack: StackPlan) -> Iterable[Problem]:
    """replicas.min/max, scaleToZero and the schedule's pre-warm agree with each other."""
    config = stack.config
    for i, model in enumerate(config.models):
        replicas, path = model.replicas, f"models[{i}]"
        if replicas.max is not None and replicas.max < replicas.min:
            yield Problem(
                f"{path}.replicas.max",
                replicas.max,
                f"the autoscaler's maximum is below replicas.min ({replicas.min})",
                f"replicas.max >= {replicas.min}",
            )
        if model.scale_to_zero and replicas.min > 0:
            yield Problem(
                f"{path}.replicas.min",
                replicas.min,
                "scaleToZero: true lets the model scale to 0 replicas when idle, which contradicts a "
                f"minimum of {replicas.min}",
                f"replicas.min: 0 with scaleToZero: true, or scaleToZero: false to keep {replicas.min} "
                "replica(s) at all times",
            )
        if not model.scale_to_zero and replicas.min == 0:
            yield Problem(
                f"{path}.scaleToZero",
                False,
                "scaleToZero: false keeps at least one replica running, but replicas.min is 0",
                "replicas: {min: 1 or more} with scaleToZero: false, or scaleToZero: true",
            )
    for plan in stack.model_plans:
        schedule, cfg = plan.config.schedule, plan.config
        if schedule is None or schedule.min_replicas <= plan.replicas_max:
            continue
        if cfg.replicas.max is not None:
            why = "replicas.max"
        elif cfg.workload.peak_requests_per_second is not None and plan.target_estimate is not None:
            rate, each = cfg.workload.peak_requests_per_second, plan.target_estimate.requests_per_s
            why = f"derived: ceil(peakRequestsPerSecond {rate:g} / {each:.2f} requests/s a replica completes)"
        else:
            peak, seqs = cfg.workload.peak_concurrent_requests, max(1, plan.sizing.max_num_seqs)
            why = f"derived: ceil(peakConcurrentRequests {peak} / max-num-seqs {seqs})"
        yield Problem(
            f"models[{plan.index}].schedule.minReplicas",
            schedule.min_replicas,
            f"pre-warms {schedule.min_replicas} replicas in business hours, but the autoscaler's maximum "
            f"is {plan.replicas_max} ({why}); KEDA never runs more than the maximum",
            f"schedule.minReplicas <= {plan.replicas_max}, replicas.max >= {schedule.min_replicas}, or a "
            "higher workload.peakConcurrentRequests",
        )


def kaito_settings(stack: StackPlan) -> Iterable[Problem]:
    """What KAITO cannot do: quantize a preset, slice MIG on bring-your-own nodes here, or scale a
    model when the helm install has no InferenceSet controller."""
    config = stack.config
    kaito = config.addons.kaito
    byo = kaito.mode == "helm" and kaito.node_provisioner == "none"
    for plan in stack.model_plans:
        cfg, path = plan.config, f"models[{plan.index}]"
        if cfg.runtime != "kaito":
            continue
        if cfg.quantization != "auto":
            yield Problem(
                f"{path}.quantization",
                cfg.quantization,
                "KAITO serves its preset's own weights; quantization applies to the vLLM runtime only",
                "quantization: auto with runtime: kaito, or runtime: vllm",
            )
        pool = plan.pool
        if byo and isinstance(pool, GpuPoolConfig) and pool.mig:
            yield Problem(
                f"{path}.pool",
                cfg.pool,
                f"with nodeProvisioner: none KAITO runs on pool {pool.name}'s own nodes, whose GPUs are cut "
                f"into MIG {pool.mig} slices; KAITO's MIG partitions (enableMIG) are not wired by this "
                "program",
                "runtime: vllm on a MIG pool, or a pool without mig for KAITO",
            )
        if kaito.mode == "helm" and not kaito.feature_gates.inference_set and kaito_kind(plan) != "Workspace":
            yield Problem(
                f"{path}.replicas",
                {"min": cfg.replicas.min, "max": plan.replicas_max},
                "an autoscaled KAITO model is an InferenceSet (KEDA cannot scale a Workspace), and "
                "addons.kaito.featureGates.inferenceSet is false",
                "addons.kaito.featureGates.inferenceSet: true, or a fixed single replica "
                "(replicas: {min: 1, max: 1}, scaleToZero: false, no schedule)",
            )


def quantization_settings(stack: StackPlan) -> Iterable[Problem]:
    """vLLM's AWQ/GPTQ need a pre-quantized checkpoint; its FP8 kernels need compute capability 8.0+."""
    config, catalog = stack.config, stack.catalog
    skus = {plan.index: plan.sku for plan in stack.model_plans}
    for i, model in enumerate(config.models):
        q, path = model.quantization, f"models[{i}].quantization"
        if model.runtime != "vllm" or q == "auto":
            continue
        spec = catalog.models.get(model.model) if model.model is not None else None
        if q in ("awq", "gptq") and spec is not None and spec.weights_dtype != q:
            yield Problem(
                path,
                q,
                f"{q.upper()} needs a checkpoint quantized with it, and catalog model {model.model} is "
                f"stored as {spec.weights_dtype}",
                f"a catalog {q.upper()} checkpoint (e.g. qwen2.5-7b-instruct-"
                f"{'awq' if q == 'awq' else 'gptq-int4'}), the checkpoint under custom: (its hfId and "
                "architecture), or quantization: auto or fp8",
            )
        sku = skus.get(i)
        if q == "fp8" and sku is not None and not sku.bf16:
            yield Problem(
                path,
                q,
                f"vLLM's FP8 kernels need compute capability 8.0 or newer; {sku.gpu_model} on {sku.name} "
                f"is {sku.compute_capability}",
                "quantization: auto (float16), or an A10/A100/H100 pool",
            )


def something_wakes_it(stack: StackPlan) -> Iterable[Problem]:
    """A model that scales to zero has something that can wake it. At zero replicas it has no pods, so
    no series: its Prometheus trigger reads nothing (KEDA's Prometheus scaler is active only when the
    value exceeds activationThreshold; kedacore/keda pkg/scalers/prometheus_scaler.go,
    GetMetricsAndActivity). Only a schedule, the KEDA HTTP add-on (serving vLLM) or a deployed queue
    worker (its batch model) can; the queue without its worker wakes nothing."""
    config = stack.config
    http, woken, target = config.addons.keda.http_addon.enabled, queue_wakes(config), queue_target(config)
    # A deployed worker whose model is not one of the batch models (a typo, a serving model, two batch
    # models and none named) is reported once, on addons.asyncQueue (rules.queue): the batch models it
    # would wake once that is fixed are not reported as unwakeable too (issue 20: no cascades). Without
    # a worker image nothing wakes them whatever the model: that is independent and still reported.
    deployed = config.addons.async_queue.enabled and config.addons.async_queue.worker.image is not None
    unresolved = deployed and target not in batch_models(config)
    for plan in stack.model_plans:
        cfg = plan.config
        queue = cfg.name == woken or (unresolved and cfg.purpose == "batch")
        if replica_floor(plan) > 0 or wake_up_sources(plan, http_addon=http, queue=queue):
            continue
        kinds = "a schedule (its business-hours pre-warm)"
        if cfg.runtime == "vllm" and cfg.purpose == "serving":
            kinds += ", addons.keda.httpAddon.enabled: true (it holds the first request)"
        elif cfg.purpose == "batch":
            kinds += ", the async queue's worker (addons.asyncQueue with worker.image set)"
        why = (
            f"model {cfg.name} ({cfg.runtime}, {cfg.purpose}) scales to zero and nothing can wake it: at "
            "zero replicas it has no pods and so no metrics, and its only trigger (Prometheus) reads none"
        )
        if cfg.name == target:
            why += (
                "; the async queue would, but addons.asyncQueue.worker.image is unset, so no worker is "
                "deployed and queued messages wait without waking it"
            )
        yield Problem(
            f"models[{plan.index}].scaleToZero",
            cfg.scale_to_zero,
            why,
            f"{kinds} to wake it, or scaleToZero: false with replicas.min >= 1 (e.g. until the worker "
            "image exists: docs/async-queue.md)"
            if cfg.name == target
            else f"{kinds} to wake it, or scaleToZero: false with replicas.min >= 1",
        )


MODEL_RULES = [
    kaito_accepts_sku,
    gated_models_have_a_token,
    replica_settings,
    kaito_settings,
    quantization_settings,
    something_wakes_it,
]
