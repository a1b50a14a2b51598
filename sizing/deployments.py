"""Resolve each model of a stack to its architecture, GPU and derived vLLM figures (pure, no Pulumi).

The program, the config rules and the offline plan all read these ``ModelPlan`` objects, so the
numbers a user sees are the numbers the manifests carry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from config.catalog import Catalog, GpuSku, MigProfile, ModelSpec
from config.schema import GpuPoolConfig, ModelConfig, NodePoolConfig, StackConfig, WorkloadConfig
from facts.kaito_versions import UnknownKaitoVersion, kaito_capabilities, kaito_version_of, preset_nodes
from facts.platform import Capacity
from sizing.cold_start import ColdStart
from sizing.memory import ModelArch
from sizing.model_sizing import (
    SizingResult,
    default_max_model_len,
    replicas_for_peak,
    serving_dtype,
    size_model,
)
from sizing.model_source import model_arch
from sizing.model_weights import FILES_SHARE, WeightsSource, weights_source
from sizing.nap import nap_pools, sizing_sku
from sizing.node_selection import PoolScheduling, nodepool_scheduling, pool_scheduling
from sizing.roofline import Estimate, Hardware, ModelShape, best_batch, estimate


@dataclass(frozen=True)
class ModelPlan:
    """One model deployment with everything derived from the stack config and the catalog."""

    index: int  # position under `models:` (for error paths)
    config: ModelConfig
    pool: GpuPoolConfig | NodePoolConfig  # a NodePool in NAP mode (sized on its sizing SKU)
    sku: GpuSku
    mig: MigProfile | None
    model_id: str  # catalog id, or the custom model's HF id
    hf_id: str
    arch: ModelArch
    gated: bool
    kaito_preset: str | None
    weights_dtype: str
    sizing: SizingResult
    # With latency targets or a request rate (workload.ttftMs/tpotMs/peakRequestsPerSecond): the
    # roofline estimate of one replica at the batch that meets them (the sizing's max_num_seqs is
    # capped to it), or at one sequence when even that misses them (``targets_met`` False: the rules refuse).
    target_estimate: Estimate | None = None
    targets_met: bool = True
    # Where its weights come from at start (sizing.model_weights): Blob streamed, or the reason why not.
    weights: WeightsSource = FILES_SHARE
    # Its predicted cold start, made once by the stack's plan (``planning.stack_plan.plan_stack``;
    # ``sizing.workloads.cold_start`` reads it, and predicts only for a plan made outside a stack plan).
    predicted_cold_start: ColdStart | None = None

    @property
    def dtype(self) -> str:
        """vLLM --dtype: float16 for AWQ/GPTQ weights (vLLM's AWQConfig and GPTQConfig support only
        torch.half activations, read in the v0.11.0 wheel at awq.py:56 and gptq.py:102, and an explicit
        ``--quantization awq`` with bfloat16 is refused at start, vllm/config/vllm.py:932-938 at v0.31.0;
        the contract tier runs that check),
        else the GPU's (``serving_dtype``)."""
        return "float16" if self.weights_dtype in ("awq", "gptq") else serving_dtype(self.sku)

    @property
    def max_model_len(self) -> int:
        return self.sizing.max_model_len

    @property
    def placed(self) -> bool:
        """Whether the model fits its GPU (for KAITO: where KAITO's estimator places it). Figures derived
        from a model that does not fit (replicas from a max-num-seqs of 0 ...) mean nothing: rules about
        them skip it, ``rules.check.models_fit`` reports the root cause once."""
        return self.sizing.fits and not (self.config.runtime == "kaito" and self.sizing.kaito_reason)

    @property
    def on_nodepool(self) -> bool:
        """Whether the model runs on a NAP NodePool (pinned to ``sku``) rather than a GPU pool."""
        return isinstance(self.pool, NodePoolConfig)

    def scheduling(self, capacity: Capacity | None = None) -> PoolScheduling:
        """Node selector, tolerations and GPU resource of this model's pods (vLLM), from the one
        module that labels and taints the nodes: a NodePool pins the SKU the model was sized for."""
        if isinstance(self.pool, NodePoolConfig):
            return nodepool_scheduling(self.pool, self.sku, capacity)
        return pool_scheduling(self.pool, self.sku, capacity)

    @property
    def replicas_min(self) -> int:
        return self.config.replicas.min

    @property
    def replicas_max(self) -> int:
        """The autoscaler's ceiling: explicit, else enough replicas for the peak concurrency."""
        if self.config.replicas.max is not None:
            return self.config.replicas.max
        rate, est = self.config.workload.peak_requests_per_second, self.target_estimate
        if rate is not None and est is not None and self.targets_met:
            return max(1, math.ceil(rate / est.requests_per_s))  # what one replica completes a second
        peak = self.config.workload.peak_concurrent_requests
        return max(1, replicas_for_peak(peak, max(1, self.sizing.max_num_seqs)))

    @property
    def kaito_nodes(self) -> int:
        """Nodes KAITO provisions per replica: its own estimate, else the whole nodes one replica's
        GPUs need (KAITO runtime only)."""
        estimate = self.sizing.kaito_nodes_per_replica
        return estimate or max(1, math.ceil(self.sizing.gpus_per_replica / self.sku.gpu_count))

    def row(self) -> dict[str, Any]:
        """The sizing row of the plan (camelCase, JSON-ready)."""
        s = self.sizing
        return {
            "name": self.config.name,
            "model": self.model_id,
            "sku": self.sku.name,
            "pool": self.pool.name,
            "runtime": self.config.runtime,
            "migProfile": s.mig_profile,
            "dtype": s.dtype,
            "weightsDtype": s.weights_dtype,
            "gpusPerReplica": s.gpus_per_replica,
            "deviceMemoryGiB": s.device_memory_gib,
            "deviceMemoryBasis": s.device_memory_basis,
            "weightsGiB": s.weights_gib,
            "kvBytesPerToken": s.kv_bytes_per_token,
            "kvBudgetPerGpuGiB": s.kv_budget_per_gpu_gib,
            "gpuMemoryUtilization": s.gpu_memory_utilization,
            "maxModelLen": s.max_model_len,
            "maxNumSeqs": s.max_num_seqs,
            "maxConcurrentAtFullContext": s.max_concurrent_at_full_context,
            "replicasMin": self.replicas_min,
            "replicasMax": self.replicas_max,
            "fits": s.fits,
            "reason": s.reason,
            "kaitoNodesPerReplica": s.kaito_nodes_per_replica,
            "pipelineParallel": s.pipeline_parallel,
            "parallelism": s.parallelism,
        }


def _placement(
    model: ModelConfig,
    config: StackConfig,
    catalog: Catalog,
    chosen_skus: Mapping[str, GpuSku | None] | None = None,
) -> tuple[GpuPoolConfig | NodePoolConfig, GpuSku, MigProfile | None] | None:
    """The model's pool, the SKU it is sized for and its MIG slice; None when they do not resolve.

    On a NAP NodePool the SKU is the NodePool's sizing SKU (``sizing.nap.sizing_sku``) and there is
    no MIG; on a GPU pool it is the pool's ``vmSize``.
    """
    nodepool = next((p for p in nap_pools(config) if p.name == model.pool), None)
    if nodepool is not None:
        sku = chosen_skus[nodepool.name] if chosen_skus is not None else sizing_sku(nodepool, catalog, config)
        return None if sku is None else (nodepool, sku, None)
    pool = next((p for p in config.gpu_pools if p.name == model.pool), None)
    if pool is None or pool.vm_size not in catalog.skus:
        return None
    sku = catalog.skus[pool.vm_size]
    # KAITO provisions whole-GPU nodes of the pool's SKU itself: MIG slices apply to vLLM only.
    mig = sku.mig_profile(pool.mig) if pool.mig and model.runtime == "vllm" else None
    if pool.mig and model.runtime == "vllm" and mig is None:
        return None
    return pool, sku, mig


def plan_model(
    index: int,
    model: ModelConfig,
    config: StackConfig,
    catalog: Catalog,
    chosen_skus: Mapping[str, GpuSku | None] | None = None,
) -> ModelPlan | None:
    """Size one model on its pool; None when its references do not resolve (rules report that).
    ``chosen_skus``: the NodePools' sizing SKUs when the caller has them (``sizing.nap.sizing_skus``)."""
    placement = _placement(model, config, catalog, chosen_skus)
    if placement is None:
        return None
    if model.model is not None and model.model not in catalog.models:
        return None
    pool, sku, mig = placement
    model_id, hf_id, arch, gated, preset, weights_dtype = model_arch(model, catalog)
    workload = model.workload
    max_len = workload.max_model_len or default_max_model_len(
        workload.p95_prompt_tokens, workload.p95_completion_tokens, arch.context_length
    )
    spec = catalog.models.get(model_id)
    size = partial(
        size_model,
        arch,
        sku,
        model_name=model_id,
        weights_dtype=weights_dtype,
        max_model_len=max_len,
        gpu_memory_utilization=workload.gpu_memory_utilization,
        typical_seq_len=min(max_len, workload.p95_prompt_tokens + workload.p95_completion_tokens),
        max_num_seqs=workload.max_num_seqs,
    )
    preset_count = _preset_count(model, config, sku, preset)
    file_size = (
        spec.kaito_file_size_gib if spec and model.runtime == "kaito" and preset_count is None else None
    )
    sizing = size(mig_profile=mig, kaito_file_size_gib=file_size)
    if preset_count is not None:
        # A KAITO release without an estimator: the node count is the preset's requirement.
        sizing = replace(sizing, kaito_nodes_per_replica=preset_count[0], kaito_reason=preset_count[1])
    nodes = sizing.kaito_nodes_per_replica
    if model.runtime == "kaito" and nodes is not None and nodes > 1:
        # KAITO runs the replica on `nodes` nodes, pipeline-parallel across them: size it that way.
        sizing = size(kaito_file_size_gib=file_size, pipeline_parallel=nodes)
        if preset_count is not None:
            sizing = replace(sizing, kaito_nodes_per_replica=nodes, kaito_reason=None)
    at_targets, met = None, True
    if workload.has_targets and sizing.fits and sizing.max_num_seqs >= 1:
        at_targets, met = _at_targets(arch, sizing, sku, mig, spec, workload)
        if met and at_targets.batch < sizing.max_num_seqs:
            sizing = replace(sizing, max_num_seqs=at_targets.batch)
    return ModelPlan(
        index=index,
        config=model,
        pool=pool,
        sku=sku,
        mig=mig,
        model_id=model_id,
        hf_id=hf_id,
        arch=arch,
        gated=gated,
        kaito_preset=preset,
        weights_dtype=weights_dtype,
        sizing=sizing,
        target_estimate=at_targets,
        targets_met=met,
        weights=weights_source(model, config.model_weights),
    )


def _at_targets(
    arch: ModelArch,
    sizing: SizingResult,
    sku: GpuSku,
    mig: MigProfile | None,
    spec: ModelSpec | None,
    workload: WorkloadConfig,
) -> tuple[Estimate, bool]:
    """The roofline estimate at the largest batch (up to what memory holds) meeting the targets, and
    True; else the estimate at one sequence, and False."""
    shape = ModelShape.of(
        arch,
        sizing.weights_dtype,
        spec.active_parameters if spec else None,
        spec.hidden_size if spec else None,
    )
    hw, tp = Hardware.of(sku, mig), sizing.gpus_per_replica
    prompt, completion = workload.p95_prompt_tokens, workload.p95_completion_tokens
    ttft = None if workload.ttft_ms is None else workload.ttft_ms / 1000
    tpot = None if workload.tpot_ms is None else workload.tpot_ms / 1000
    best = best_batch(shape, hw, tp, sizing.max_num_seqs, prompt, completion, ttft_s=ttft, tpot_s=tpot)
    if best is None:
        return estimate(shape, hw, tp, 1, prompt, completion), False
    return best, True


def _preset_count(
    model: ModelConfig, config: StackConfig, sku: GpuSku, preset: str | None
) -> tuple[int | None, str | None] | None:
    """(nodes, reason) from the preset's requirements when the stack's KAITO release has no node
    estimator (the managed add-on's 0.6.0); None when the estimator (or nothing KAITO) applies."""
    if model.runtime != "kaito":
        return None
    kaito = config.addons.kaito
    try:
        caps = kaito_capabilities(
            kaito_version_of(kaito.mode, kaito.chart_version, config.cluster.kubernetes_version)
        )
    except UnknownKaitoVersion:
        return None  # refused by rules.kaito.kaito_release_known
    if caps.estimator:
        return None
    if preset is None:
        return None, f"KAITO {caps.version} serves registered presets only, and this model has none"
    return preset_nodes(caps, preset, sku.kaito_name or sku.name)


def plan_models(
    config: StackConfig, catalog: Catalog, chosen_skus: Mapping[str, GpuSku | None] | None = None
) -> list[ModelPlan]:
    """Every model of the stack that resolves, in config order (``chosen_skus``: see ``plan_model``)."""
    plans = (plan_model(i, m, config, catalog, chosen_skus) for i, m in enumerate(config.models))
    return [p for p in plans if p is not None]


def device_memory_notes(plans: list[ModelPlan]) -> list[str]:
    """A plan note for each model sized on device memory no public figure confirms (gpu-memory.yaml
    basis ``unverified``, e.g. the H200 today)."""
    notes = []
    for plan in plans:
        if plan.sizing.device_memory_basis == "unverified":
            source = plan.mig.memory_source if plan.mig else plan.sku.memory_source
            notes.append(
                f"{plan.config.name}: sized on UNVERIFIED device memory for {plan.sku.gpu_model} on "
                f"{plan.sku.name} ({plan.sizing.device_memory_gib} GiB per GPU: {source}); check "
                "torch.cuda.mem_get_info() on a node before relying on the fit"
            )
    return notes
