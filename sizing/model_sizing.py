"""Does a model fit a GPU SKU (or MIG slice) under vLLM, with how many GPUs and how many sequences?

Device memory is the CUDA total vLLM budgets from (``torch.cuda.mem_get_info``; per GPU and per MIG
slice in ``config/catalog/gpu-memory.yaml``, each with its basis and source), not Microsoft's marketing
"80 GB" read as decimal gigabytes (74.5 GiB, 6 % below what an A100 80GB gives vLLM). Reported sizes
are GiB (2**30) rounded to 2 decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from config.catalog import GpuSku, MigProfile
from sizing.kaito_estimator import KaitoEstimateError, kaito_nodes_per_replica
from sizing.memory import GIB, ModelArch, kv_bytes_per_sequence, kv_bytes_per_token, weight_bytes

TP_CHOICES = (1, 2, 4, 8)
# Memory inside vLLM's budget that is neither weights nor KV cache: CUDA context, activation peak and
# CUDA graphs. KAITO's estimator uses 2.3 GiB (about 0.6 GiB CUDA context + 1.7 GiB activations and
# graphs: kaito-project/kaito pkg/workspace/estimator/nodesestimator/estimator.go:46-50 @056b8280).
RUNTIME_OVERHEAD_GIB = 2.3
_X = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class SizingResult:
    """Outcome of ``size_model``; ``reason`` explains a ``fits=False`` with the numbers."""

    model: str
    sku: str
    dtype: str  # vLLM --dtype
    weights_dtype: str  # as served (bf16 weights become fp16 on GPUs without bf16)
    gpus_per_replica: int  # tensor-parallel size on one node (1 on a MIG slice)
    device_memory_gib: float  # per GPU or per MIG slice: the CUDA total vLLM sees
    weights_gib: float
    weights_per_gpu_gib: float
    kv_bytes_per_token: int  # all layers, 16-bit, no sliding-window cap
    kv_bytes_per_token_per_gpu: int
    max_model_len: int
    kv_budget_per_gpu_gib: float
    max_concurrent_at_full_context: int
    max_num_seqs: int
    gpu_memory_utilization: float
    fits: bool
    reason: str | None
    kaito_nodes_per_replica: int | None  # None: no KAITO file size, SKU not in KAITO, MIG, or KAITO rejects
    mig_profile: str | None
    pipeline_parallel: int = 1  # nodes one replica spans (KAITO multi-node: pipeline stages)
    kaito_reason: str | None = None  # why KAITO's own estimator refuses the SKU, when it does
    device_memory_basis: str = ""  # measured | derived | unverified (gpu-memory.yaml)

    @property
    def parallelism(self) -> str:
        """E.g. ``tp 4`` or ``pp 3 (nodes) x tp 1 (GPUs per node)``."""
        if self.pipeline_parallel == 1:
            return f"tp {self.gpus_per_replica}"
        return f"pp {self.pipeline_parallel} (nodes) x tp {self.gpus_per_replica} (GPUs per node)"


def serving_dtype(sku: GpuSku) -> str:
    """vLLM ``--dtype``: bfloat16 where the GPU supports it (CC >= 8.0), else float16."""
    return "bfloat16" if sku.bf16 else "float16"


def default_max_model_len(p95_prompt_tokens: int, p95_completion_tokens: int, context_length: int) -> int:
    """2 x (p95 prompt + p95 completion), rounded up to a multiple of 256, capped at ``context_length``."""
    if p95_prompt_tokens < 0 or p95_completion_tokens < 0 or p95_prompt_tokens + p95_completion_tokens == 0:
        raise ValueError("p95 prompt/completion tokens must be >= 0 and not both 0")
    if context_length < 1:
        raise ValueError(f"context_length must be > 0, got {context_length}")
    wanted = math.ceil(2 * (p95_prompt_tokens + p95_completion_tokens) / 256) * 256
    return min(wanted, context_length)


def replicas_for_peak(peak_concurrent_requests: int, max_num_seqs: int) -> int:
    """Replicas needed so ``peak_concurrent_requests`` fit at ``max_num_seqs`` each (ceil)."""
    if peak_concurrent_requests < 0 or max_num_seqs < 1:
        raise ValueError("peak_concurrent_requests must be >= 0 and max_num_seqs >= 1")
    return math.ceil(peak_concurrent_requests / max_num_seqs)


def _tp_candidates(arch: ModelArch, sku: GpuSku, mig: MigProfile | None) -> list[int]:
    if mig is not None:
        return [1]
    return [tp for tp in TP_CHOICES if tp <= sku.gpu_count and arch.attention_heads % tp == 0]


def _device_label(sku: GpuSku, mig: MigProfile | None, tp: int, util: float) -> str:
    if mig is not None:
        flag = "" if mig.memory_basis == "measured" else f", {mig.memory_basis}"
        return (
            f"1 {_X} MIG {mig.name} slice of {sku.gpu_model} ({mig.memory_gib:.2f} GiB{flag} {_X} {util:.2f})"
        )
    flag = "" if sku.memory_basis == "measured" else f", {sku.memory_basis}"
    return f"{tp} {_X} {sku.gpu_model} ({sku.cuda_total_gib:.2f} GiB CUDA total{flag} {_X} {util:.2f})"


def _kaito_nodes(
    arch: ModelArch, sku: GpuSku, mig: MigProfile | None, file_size_gib: float | None, max_model_len: int
) -> tuple[int | None, str | None]:
    """KAITO's nodes per replica, or None with KAITO's own refusal when its estimator errors."""
    if file_size_gib is None or sku.kaito_gpu_memory_gib is None or mig is not None:
        return None, None
    bytes_per_token = kv_bytes_per_token(arch.layers, arch.kv_heads, arch.head_dim)
    try:
        estimate = kaito_nodes_per_replica(
            file_size_gib, sku.kaito_gpu_memory_gib, sku.gpu_count, bytes_per_token, max_model_len
        )
    except KaitoEstimateError as exc:
        return None, str(exc)
    return estimate.nodes_per_replica, None


@dataclass(frozen=True)
class _Memory:
    """The sizing's inputs in bytes, per GPU of one pipeline stage: what vLLM may use, the weights,
    the runtime overhead, and the KV cache of one sequence at a tensor-parallel size."""

    arch: ModelArch
    device: float  # per GPU or MIG slice, bytes
    usable: float  # device x gpu_memory_utilization
    weights: float  # all weights, bytes, as served
    overhead: float
    pp: int  # pipeline stages (nodes per replica)
    stage_layers: int  # layers of the largest pipeline stage
    max_model_len: int
    typical: int  # the typical sequence length max-num-seqs is sized for

    def budget(self, tp: int) -> float:
        """KV cache bytes left per GPU at tensor-parallel size ``tp``."""
        return self.usable - self.weights / (tp * self.pp) - self.overhead

    def kv_seq(self, seq_len: int, tp: int) -> int:
        """KV bytes per GPU of one ``seq_len``-token sequence (the largest stage's layers)."""
        arch = self.arch
        return math.ceil(kv_bytes_per_sequence(arch, seq_len, tp=tp) * self.stage_layers / arch.layers)

    def holds(self, tp: int, wanted_seqs: int) -> bool:
        """One full-length sequence, and ``wanted_seqs`` typical ones, fit the budget at ``tp``."""
        full = self.kv_seq(self.max_model_len, tp)
        return self.budget(tp) >= max(full, wanted_seqs * self.kv_seq(self.typical, tp))


def _check_inputs(
    sku: GpuSku,
    *,
    max_model_len: int,
    gpu_memory_utilization: float,
    typical: int,
    max_num_seqs: int | None,
    mig_profile: MigProfile | None,
    runtime_overhead_gib: float,
    max_num_seqs_cap: int,
    pipeline_parallel: int,
) -> None:
    """Step 1, inputs: ValueError for an argument no sizing can use."""
    if not 0 < gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    if max_model_len < 1 or max_num_seqs_cap < 1 or runtime_overhead_gib < 0:
        raise ValueError("max_model_len and max_num_seqs_cap must be >= 1, runtime_overhead_gib >= 0")
    if not 1 <= typical <= max_model_len:
        raise ValueError(f"typical_seq_len must be in [1, max_model_len={max_model_len}], got {typical}")
    if max_num_seqs is not None and max_num_seqs < 1:
        raise ValueError(f"max_num_seqs must be >= 1, got {max_num_seqs}")
    if pipeline_parallel < 1 or (pipeline_parallel > 1 and mig_profile is not None):
        raise ValueError(f"pipeline_parallel must be >= 1 (1 on a MIG slice), got {pipeline_parallel}")
    if mig_profile is not None and sku.mig_profile(mig_profile.name) != mig_profile:
        raise ValueError(f"{sku.name} ({sku.gpu_model}) has no MIG profile {mig_profile.name}")


def _memory(
    arch: ModelArch,
    sku: GpuSku,
    *,
    weights_dtype: str,
    max_model_len: int,
    typical: int,
    gpu_memory_utilization: float,
    mig_profile: MigProfile | None,
    runtime_overhead_gib: float,
    pipeline_parallel: int,
) -> tuple[_Memory, str]:
    """The memory the sizing works with, and the weights' dtype as served (bf16 -> fp16 without bf16)."""
    device = (mig_profile.memory_gib if mig_profile else sku.cuda_total_gib) * GIB
    if device <= 0:
        raise ValueError(f"{sku.name}: no device memory (catalog gpu-memory.yaml)")
    served_dtype = "fp16" if weights_dtype == "bf16" and not sku.bf16 else weights_dtype
    memory = _Memory(
        arch=arch,
        device=device,
        usable=device * gpu_memory_utilization,
        weights=weight_bytes(arch.parameters, served_dtype),
        overhead=runtime_overhead_gib * GIB,
        pp=pipeline_parallel,
        stage_layers=math.ceil(arch.layers / pipeline_parallel),
        max_model_len=max_model_len,
        typical=typical,
    )
    return memory, served_dtype


def _tensor_parallel(memory: _Memory, candidates: list[int], max_num_seqs: int | None) -> int:
    """Step 2, tensor parallelism: the smallest candidate that holds ``max_num_seqs`` typical sequences
    (or one), else the smallest that holds one full-length sequence, else the largest candidate."""
    if memory.pp > 1:  # KAITO spreads a replica over whole nodes: every GPU of each node
        candidates = candidates[-1:]
    tp = next((t for t in candidates if memory.holds(t, max_num_seqs or 1)), None)
    return tp or next((t for t in candidates if memory.holds(t, 1)), candidates[-1])


def _fit_reasons(
    memory: _Memory,
    sku: GpuSku,
    tp: int,
    at_full_context: int,
    *,
    mig_profile: MigProfile | None,
    gpu_memory_utilization: float,
    runtime_overhead_gib: float,
) -> list[str]:
    """Step 3, fit: why the model does not fit at ``tp`` (context length, one full-length sequence)."""
    arch, pp, weights = memory.arch, memory.pp, memory.weights
    reasons: list[str] = []
    if memory.max_model_len > arch.context_length:
        reasons.append(
            f"maxModelLen {memory.max_model_len:,} exceeds the model's context length {arch.context_length:,}"
        )
    if at_full_context < 1:
        shard = f"weights {weights / GIB:.1f} GiB"
        if tp * pp > 1:
            stages = f" on {pp} nodes" if pp > 1 else ""
            shard += f" / {tp * pp} GPUs{stages} = {weights / (tp * pp) / GIB:.1f} GiB"
        kv_full = memory.kv_seq(memory.max_model_len, tp)
        reasons.append(
            f"{shard} + overhead {runtime_overhead_gib:.1f} GiB + KV of one {memory.max_model_len:,}-token "
            f"sequence {kv_full / GIB:.1f} GiB > {memory.usable / GIB:.1f} GiB usable"
            f"{' per GPU' if tp * pp > 1 else ''} on "
            + _device_label(sku, mig_profile, tp, gpu_memory_utilization)
        )
    return reasons


def _max_num_seqs(
    memory: _Memory, tp: int, at_full_context: int, max_num_seqs: int | None, cap: int
) -> tuple[int, str | None]:
    """Step 4, max-num-seqs: the given value (with why it does not fit, if so), or the typical
    sequences the KV budget holds, capped at ``cap`` (at least 1 when one full sequence fits)."""
    kv_budget = memory.budget(tp)
    kv_typical = memory.kv_seq(memory.typical, tp)
    room_typical = max(0, math.floor(kv_budget / kv_typical))
    if max_num_seqs is None:
        seqs = min(cap, room_typical)
        return (max(1, seqs) if at_full_context >= 1 else seqs), None
    if at_full_context >= 1 and room_typical < max_num_seqs:
        return max_num_seqs, (
            f"maxNumSeqs {max_num_seqs} needs {max_num_seqs * kv_typical / GIB:.1f} GiB of KV for "
            f"{memory.typical:,}-token sequences but {kv_budget / GIB:.1f} GiB is left per GPU after the "
            f"weights (room for {room_typical}: set maxNumSeqs <= {room_typical}, or leave it unset to "
            "derive it)"
        )
    return max_num_seqs, None


def size_model(
    arch: ModelArch,
    sku: GpuSku,
    *,
    model_name: str,
    weights_dtype: str,
    max_model_len: int,
    gpu_memory_utilization: float = 0.90,
    typical_seq_len: int | None = None,
    max_num_seqs: int | None = None,
    mig_profile: MigProfile | None = None,
    kaito_file_size_gib: float | None = None,
    runtime_overhead_gib: float = RUNTIME_OVERHEAD_GIB,
    max_num_seqs_cap: int = 256,
    pipeline_parallel: int = 1,
    tensor_parallel: int | None = None,
) -> SizingResult:
    """Size ``arch`` on one node of ``sku`` (or one MIG slice), or, with ``pipeline_parallel`` N > 1,
    on N nodes as KAITO's multi-node vLLM runs it: N pipeline stages (each ceil(layers / N) layers),
    tensor parallel only within a node over its GPUs.

    Tensor parallelism is the smallest of 1/2/4/8 (<= GPU count, dividing attention_heads) whose
    per-GPU budget (device x utilization - weights/tp - overhead) holds one full-length sequence's
    KV shard (and, when ``max_num_seqs`` is given, that many ``typical_seq_len`` sequences if some tp
    can); when none does, the largest allowed tp is reported with ``fits=False``. ``tensor_parallel``
    sizes exactly that tp instead (one of the allowed ones; the advisor's placements).

    Steps: inputs (``_check_inputs``, ``_memory``), tensor parallelism (``_tensor_parallel``), fit
    (``_fit_reasons``), max-num-seqs (``_max_num_seqs``).
    """
    typical = max_model_len if typical_seq_len is None else typical_seq_len
    _check_inputs(
        sku,
        max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization,
        typical=typical,
        max_num_seqs=max_num_seqs,
        mig_profile=mig_profile,
        runtime_overhead_gib=runtime_overhead_gib,
        max_num_seqs_cap=max_num_seqs_cap,
        pipeline_parallel=pipeline_parallel,
    )
    memory, served_dtype = _memory(
        arch,
        sku,
        weights_dtype=weights_dtype,
        max_model_len=max_model_len,
        typical=typical,
        gpu_memory_utilization=gpu_memory_utilization,
        mig_profile=mig_profile,
        runtime_overhead_gib=runtime_overhead_gib,
        pipeline_parallel=pipeline_parallel,
    )
    pp = memory.pp
    candidates = _tp_candidates(arch, sku, mig_profile)
    if tensor_parallel is not None:
        if tensor_parallel not in candidates:
            raise ValueError(f"tensor_parallel {tensor_parallel} not in {candidates} for {sku.name}")
        candidates = [tensor_parallel]
    tp = _tensor_parallel(memory, candidates, max_num_seqs)
    kv_budget = memory.budget(tp)
    at_full_context = max(0, math.floor(kv_budget / memory.kv_seq(max_model_len, tp)))
    reasons = _fit_reasons(
        memory,
        sku,
        tp,
        at_full_context,
        mig_profile=mig_profile,
        gpu_memory_utilization=gpu_memory_utilization,
        runtime_overhead_gib=runtime_overhead_gib,
    )
    seqs, seqs_reason = _max_num_seqs(memory, tp, at_full_context, max_num_seqs, max_num_seqs_cap)
    if seqs_reason is not None:
        reasons.append(seqs_reason)

    kv_heads_per_gpu = math.ceil(arch.kv_heads / tp)
    kaito_nodes, kaito_reason = _kaito_nodes(arch, sku, mig_profile, kaito_file_size_gib, max_model_len)
    return SizingResult(
        model=model_name,
        sku=sku.name,
        dtype=serving_dtype(sku),
        weights_dtype=served_dtype,
        gpus_per_replica=tp,
        device_memory_gib=round(memory.device / GIB, 2),
        weights_gib=round(memory.weights / GIB, 2),
        weights_per_gpu_gib=round(memory.weights / (tp * pp) / GIB, 2),
        kv_bytes_per_token=kv_bytes_per_token(arch.layers, arch.kv_heads, arch.head_dim),
        kv_bytes_per_token_per_gpu=kv_bytes_per_token(memory.stage_layers, kv_heads_per_gpu, arch.head_dim),
        max_model_len=max_model_len,
        kv_budget_per_gpu_gib=round(kv_budget / GIB, 2),
        max_concurrent_at_full_context=at_full_context,
        max_num_seqs=seqs,
        gpu_memory_utilization=gpu_memory_utilization,
        fits=not reasons,
        reason="; ".join(reasons) or None,
        kaito_nodes_per_replica=kaito_nodes,
        mig_profile=mig_profile.name if mig_profile else None,
        pipeline_parallel=pp,
        kaito_reason=kaito_reason,
        device_memory_basis=(mig_profile.memory_basis if mig_profile else sku.memory_basis),
    )
