"""The SKU advisor: every placement of a model on every catalog SKU, fitted, estimated and priced,
cheapest meeting the workload's targets first (pure; no Pulumi).

A placement is vLLM on whole GPUs with tensor parallelism tp (1/2/4/8, at most the SKU's GPUs,
dividing the attention heads), vLLM on one MIG slice of each profile, or KAITO on its own node
estimate (kaito-project/kaito's estimator, ``sizing.kaito_estimator``; pipeline-parallel over its nodes).
Fit and the sequences a replica holds come from ``sizing.model_sizing.size_model`` (device memory as
the driver reports it, ``config/catalog/gpu-memory.yaml``); throughput and latency from
``sizing.roofline``; a replica runs the largest batch that meets the TTFT/TPOT targets, and the peak's
concurrent requests need ceil(concurrency / batch) replicas. Whole nodes are billed: replicas share a
node's GPUs (or MIG slices), so the price is nodes x the node's price per hour, and a single small
replica on a big node pays for the whole node.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from config.catalog import Catalog, GpuSku, MigProfile, ModelSpec
from config.prices import PriceBook
from config.schema import ModelConfig, WorkloadConfig
from sizing.memory import ModelArch
from sizing.model_sizing import TP_CHOICES, SizingResult, default_max_model_len, size_model
from sizing.model_source import model_arch
from sizing.roofline import Estimate, Hardware, ModelShape, best_batch, replicas_for

HOURS_TO_SECONDS = 3600.0


@dataclass(frozen=True)
class AdvisorWorkload:
    """What callers send: p95 lengths, the peak's concurrent requests, optional latency targets."""

    prompt_tokens: int
    completion_tokens: int
    concurrency: int
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    gpu_memory_utilization: float = 0.90
    requests_per_second: float | None = None  # a peak rate instead of ``concurrency``

    def __post_init__(self) -> None:
        if min(self.prompt_tokens, self.completion_tokens, self.concurrency) < 1:
            raise ValueError("prompt tokens, completion tokens and concurrency must be >= 1")
        if any(t is not None and t <= 0 for t in (self.ttft_ms, self.tpot_ms, self.requests_per_second)):
            raise ValueError("TTFT and TPOT targets and the request rate must be > 0")

    @classmethod
    def of(cls, w: WorkloadConfig) -> AdvisorWorkload:
        """A stack model's ``workload``."""
        return cls(
            w.p95_prompt_tokens,
            w.p95_completion_tokens,
            w.peak_concurrent_requests,
            w.ttft_ms,
            w.tpot_ms,
            w.gpu_memory_utilization,
            w.peak_requests_per_second,
        )

    def replicas(self, est: Estimate) -> int:
        """Replicas for the peak at ``est``'s batch: the concurrency, or the rate over what one
        replica completes a second."""
        if self.requests_per_second is not None:
            return max(1, math.ceil(self.requests_per_second / est.requests_per_s))
        return replicas_for(self.concurrency, est.batch)

    def tokens_at_peak(self, est: Estimate) -> float:
        """Prompt + completion tokens a second the peak asks for."""
        if self.requests_per_second is not None:
            return self.requests_per_second * (self.prompt_tokens + self.completion_tokens)
        return self.concurrency * est.tokens_per_s / est.batch


@dataclass(frozen=True)
class AdvisorModel:
    """A catalog or custom model as the advisor sizes it."""

    id: str
    arch: ModelArch
    weights_dtype: str
    active_parameters: int
    hidden_size: int | None
    kaito_preset: str | None
    kaito_file_size_gib: float | None
    runtime: str | None = None  # the stack's runtime, when the model comes from a stack
    custom: dict[str, Any] | None = None  # a custom model's architecture, as the stack writes it
    gated: bool = False  # the weights need a Hugging Face token (aks-llm:hfToken)

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> AdvisorModel:
        return cls(
            spec.id,
            ModelArch.from_spec(spec),
            spec.weights_dtype,
            spec.active_parameters,
            spec.hidden_size,
            spec.kaito_preset,
            spec.kaito_file_size_gib,
            gated=spec.gated,
        )

    @classmethod
    def from_config(cls, model: ModelConfig, catalog: Catalog) -> AdvisorModel:
        """A stack's model (catalog or custom), with its quantization applied."""
        model_id, _, arch, gated, preset, dtype = model_arch(model, catalog)
        spec = catalog.models.get(model_id) if model.custom is None else None
        custom = (
            None if model.custom is None else model.custom.model_dump(by_alias=True, exclude_defaults=True)
        )
        return cls(
            model_id,
            arch,
            dtype,
            spec.active_parameters if spec else arch.parameters,
            spec.hidden_size if spec else None,
            preset,
            spec.kaito_file_size_gib if spec and model.quantization == "auto" else None,
            model.runtime,
            custom,
            gated,
        )


@dataclass(frozen=True)
class Row:
    """One placement of the model on one SKU, and why it ranks where it does."""

    sku: str
    gpu: str
    runtime: str  # vllm | kaito
    placement: str  # "tp 2", "MIG 3g.40gb", "KAITO 2 nodes x tp 8"
    tp: int
    mig: str | None
    nodes_per_replica: int
    replicas_per_node: int
    fits: bool
    max_num_seqs: int
    batch: int | None  # sequences per replica, meeting the targets
    ttft_ms: float | None
    tpot_ms: float | None
    tokens_per_s: float | None  # one replica at ``batch``, prompt + completion
    bound: str | None
    meets_targets: bool
    replicas: int | None
    nodes: int | None
    node_on_demand_per_hour: float | None
    node_spot_per_hour: float | None
    on_demand_per_hour: float | None  # nodes for the peak x node price
    spot_per_hour: float | None
    on_demand_per_million_tokens: float | None
    spot_per_million_tokens: float | None
    kaito_supported: bool
    retired: str | None
    reason: str | None  # why not eligible (does not fit, misses a target, retired, unpriced)

    @property
    def eligible(self) -> bool:
        """Fits, meets the targets, is still sold and has a price: a recommendation."""
        return (
            self.fits and self.meets_targets and self.retired is None and self.on_demand_per_hour is not None
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "eligible": self.eligible}


def _pool_name(sku: GpuSku, mig: MigProfile | None) -> str:
    base = re.sub(r"[^a-z0-9]", "", sku.gpu_model.lower())
    return (base + ("mig" if mig else ""))[:10] or "gpu"


def _priced(total: float | None, nodes: int) -> float | None:
    return None if total is None else round(total * nodes, 4)


def _per_million(hourly: float | None, tokens_per_s: float | None) -> float | None:
    if hourly is None or not tokens_per_s:
        return None
    return round(hourly / (tokens_per_s * HOURS_TO_SECONDS) * 1e6, 4)


def _placement(sku: GpuSku, *, runtime: str, tp: int, mig: MigProfile | None, pp: int) -> tuple[int, str]:
    """(replicas per node, how one replica is placed) of a placement."""
    if mig is not None:
        return mig.instances_per_gpu * sku.gpu_count, f"MIG {mig.name}"
    if runtime == "kaito":
        return 1, f"KAITO {pp} node{'s' if pp > 1 else ''} x tp {tp}"
    return sku.gpu_count // tp, f"tp {tp}"


def _best_batch(
    model: AdvisorModel,
    sku: GpuSku,
    w: AdvisorWorkload,
    size: SizingResult,
    *,
    tp: int,
    mig: MigProfile | None,
) -> Estimate | None:
    """The roofline estimate at the batch that meets the workload's targets (None: none does)."""
    shape = ModelShape.of(model.arch, size.weights_dtype, model.active_parameters, model.hidden_size)
    return best_batch(
        shape,
        Hardware.of(sku, mig),
        tp,
        size.max_num_seqs if w.requests_per_second else min(size.max_num_seqs, w.concurrency),
        w.prompt_tokens,
        w.completion_tokens,
        ttft_s=None if w.ttft_ms is None else w.ttft_ms / 1000,
        tpot_s=None if w.tpot_ms is None else w.tpot_ms / 1000,
    )


def _row(
    model: AdvisorModel,
    sku: GpuSku,
    workload: AdvisorWorkload,
    book: PriceBook,
    *,
    runtime: str,
    tp: int,
    mig: MigProfile | None = None,
    pp: int = 1,
    kaito_reason: str | None = None,
) -> Row:
    w = workload
    max_len = default_max_model_len(w.prompt_tokens, w.completion_tokens, model.arch.context_length)
    size = size_model(
        model.arch,
        sku,
        model_name=model.id,
        weights_dtype=model.weights_dtype,
        max_model_len=max_len,
        gpu_memory_utilization=w.gpu_memory_utilization,
        typical_seq_len=min(max_len, w.prompt_tokens + w.completion_tokens),
        mig_profile=mig,
        kaito_file_size_gib=model.kaito_file_size_gib if runtime == "kaito" else None,
        pipeline_parallel=pp,
        tensor_parallel=tp,
    )
    per_node, placement = _placement(sku, runtime=runtime, tp=tp, mig=mig, pp=pp)
    quote = book.quote(sku.name)
    estimate: Estimate | None = None
    reason = kaito_reason or size.reason
    fits = size.fits and kaito_reason is None
    if fits:
        estimate = _best_batch(model, sku, w, size, tp=tp, mig=mig)
        if estimate is None:
            reason = "misses the TTFT/TPOT targets even at one sequence per replica"
    replicas = nodes = None
    tokens_at_peak = None
    if estimate is not None:
        replicas = w.replicas(estimate)
        nodes = math.ceil(replicas / per_node) * pp
        tokens_at_peak = w.tokens_at_peak(estimate)
    on_demand = _priced(quote.on_demand, nodes or 0) if nodes else None
    spot = _priced(quote.spot, nodes or 0) if nodes else None
    if sku.retired:
        reason = f"retired by Azure on {sku.retired}" + (f"; {reason}" if reason else "")
    if reason is None and on_demand is None:
        reason = f"no price for {sku.name} in the price table"
    return Row(
        sku=sku.name,
        gpu=Hardware.of(sku, mig).name,
        runtime=runtime,
        placement=placement,
        tp=tp,
        mig=mig.name if mig else None,
        nodes_per_replica=pp,
        replicas_per_node=per_node,
        fits=fits,
        max_num_seqs=size.max_num_seqs if fits else 0,
        batch=estimate.batch if estimate else None,
        ttft_ms=round(estimate.ttft_s * 1000, 1) if estimate else None,
        tpot_ms=round(estimate.tpot_s * 1000, 2) if estimate else None,
        tokens_per_s=round(estimate.tokens_per_s, 1) if estimate else None,
        bound=estimate.bound if estimate else None,
        meets_targets=estimate is not None,
        replicas=replicas,
        nodes=nodes,
        node_on_demand_per_hour=quote.on_demand,
        node_spot_per_hour=quote.spot,
        on_demand_per_hour=on_demand,
        spot_per_hour=spot,
        on_demand_per_million_tokens=_per_million(on_demand, tokens_at_peak),
        spot_per_million_tokens=_per_million(spot, tokens_at_peak),
        kaito_supported=sku.kaito_supported,
        retired=sku.retired,
        reason=reason,
    )


def placements(
    model: AdvisorModel, sku: GpuSku, workload: AdvisorWorkload, book: PriceBook, runtimes: Iterable[str]
) -> list[Row]:
    """Every placement of ``model`` on ``sku`` for the runtimes asked (vllm, kaito)."""
    tps = [t for t in TP_CHOICES if t <= sku.gpu_count and model.arch.attention_heads % t == 0]
    rows: list[Row] = []
    if "vllm" in runtimes:
        rows += [_row(model, sku, workload, book, runtime="vllm", tp=t) for t in tps]
        rows += [_row(model, sku, workload, book, runtime="vllm", tp=1, mig=m) for m in sku.mig_profiles]
    if "kaito" in runtimes and sku.kaito_supported and model.kaito_file_size_gib is not None and tps:
        # KAITO's estimate decides the nodes; it serves with every GPU of each node (tp), pipeline-
        # parallel across the nodes, as the plan sizes it (sizing.deployments.plan_model).
        sized = size_model(
            model.arch,
            sku,
            model_name=model.id,
            weights_dtype=model.weights_dtype,
            max_model_len=default_max_model_len(
                workload.prompt_tokens, workload.completion_tokens, model.arch.context_length
            ),
            kaito_file_size_gib=model.kaito_file_size_gib,
        )
        nodes = sized.kaito_nodes_per_replica
        reason = None if nodes is not None else sized.kaito_reason or "KAITO gives no node estimate"
        rows.append(
            _row(model, sku, workload, book, runtime="kaito", tp=tps[-1], pp=nodes or 1, kaito_reason=reason)
        )
    return rows


def rank_key(row: Row) -> tuple[Any, ...]:
    """Eligible first, cheapest at the peak, then cheapest per token, fewer GPUs, whole GPUs, vLLM."""
    inf = math.inf
    return (
        not row.eligible,
        not (row.fits and row.meets_targets),
        row.on_demand_per_hour if row.on_demand_per_hour is not None else inf,
        row.on_demand_per_million_tokens if row.on_demand_per_million_tokens is not None else inf,
        row.nodes if row.nodes is not None else math.inf,  # decides among unpriced rows
        row.tp * row.nodes_per_replica,
        row.mig is not None,  # a tie goes to whole GPUs (no MIG set-up)
        row.runtime != "vllm",
        row.sku,
        row.placement,
    )


def advise(
    model: AdvisorModel,
    workload: AdvisorWorkload,
    catalog: Catalog,
    book: PriceBook,
    runtimes: Iterable[str] = ("vllm", "kaito"),
) -> list[Row]:
    """Every placement on every catalog SKU, ranked (``rank_key``)."""
    wanted = tuple(runtimes)
    rows = [r for sku in catalog.skus.values() for r in placements(model, sku, workload, book, wanted)]
    return sorted(rows, key=rank_key)


def stack_snippet(
    row: Row, model: AdvisorModel, workload: AdvisorWorkload, catalog: Catalog
) -> dict[str, Any]:
    """The stack config values (``aks-llm:`` keys without the prefix) that deploy ``row``."""
    sku = catalog.sku(row.sku)
    mig = sku.mig_profile(row.mig) if row.mig else None
    replicas = row.replicas or 1
    surge_nodes = math.ceil((replicas + 1) / row.replicas_per_node) * row.nodes_per_replica
    pool: dict[str, Any] = {
        "name": _pool_name(sku, mig),
        "vmSize": row.sku,
        # a MIG pool keeps a node: the autoscaler cannot scale MIG nodes up from zero (schema)
        # room for the peak's replicas plus one rolling-update surge replica
        "onDemand": {"min": 1 if mig else 0, "max": surge_nodes},
    }
    if mig is not None:
        pool["mig"] = mig.name
    work: dict[str, Any] = {
        "p95PromptTokens": workload.prompt_tokens,
        "p95CompletionTokens": workload.completion_tokens,
    }
    if workload.requests_per_second is not None:
        work["peakRequestsPerSecond"] = workload.requests_per_second
    else:
        work["peakConcurrentRequests"] = workload.concurrency
    targets = {"ttftMs": workload.ttft_ms, "tpotMs": workload.tpot_ms}
    work |= {k: v for k, v in targets.items() if v is not None}  # the plan derives the batch from them
    if row.batch is not None and row.runtime == "vllm" and not any(targets.values()):
        work["maxNumSeqs"] = row.batch
    name = re.sub(r"[^a-z0-9-]+", "-", model.id.lower().split("/")[-1])[:40].strip("-")
    entry: dict[str, Any] = {"name": name or "model"}
    if model.custom is not None:
        entry["custom"] = model.custom
    else:
        entry["model"] = model.id
    entry |= {"runtime": row.runtime, "pool": pool["name"], "workload": work}
    # one replica kept warm: a model scaled to zero needs something to wake it (schedule, HTTP add-on)
    entry["scaleToZero"] = False
    entry["replicas"] = {"min": 1, "max": replicas}
    return {"gpuPools": [pool], "models": [entry]}
