"""Throughput and latency of a model on a GPU placement, from the roofline (pure; no Pulumi).

A decode step reads every weight shard once and the KV cache of every running sequence, so it takes
at least (bytes read) / (HBM bandwidth); a prefill does 2 x active parameters FLOPs per prompt token
(plus attention), so it takes at least FLOPs / (peak dense bf16/fp16 tensor throughput). Each bound is
divided by an efficiency factor (what vLLM reaches of the datasheet peak), the larger one wins, and
tensor parallelism adds two all-reduces of the activations per layer over the GPUs' link.

    decode step  = max(bytes / (HBM x MEMORY_EFFICIENCY), FLOPs / (peak x COMPUTE_EFFICIENCY)) + comm
      bytes      = weights read / tp + batch x KV bytes of one sequence on one rank
      FLOPs      = batch x (2 x active parameters + 4 x layers x context x attention width) / tp
    prefill      = max(FLOPs / (peak x COMPUTE_EFFICIENCY), weights / tp / (HBM x MEMORY_EFFICIENCY)) + comm
      FLOPs      = sequences x (2 x active parameters x prompt + 2 x layers x prompt^2 x attention width) / tp
    comm         = 2 x layers x (ring all-reduce of tokens x hidden x 2 bytes + ALLREDUCE_LATENCY_S)
    ring         = 2 x (tp - 1) / tp x bytes / (link GB/s / 2, one direction)

Serving ``batch`` sequences continuously, each sequence's prefill stalls the batch once, so over the
``completion`` steps of one generation ``batch`` prefills run as well:

    cycle        = completion x decode step + batch x prefill(prompt)
    TPOT         = cycle / completion            (time per output token, prefill stalls included)
    TTFT         = prefill(prompt) + decode step (no queueing: the replica has room for the request)
    throughput   = batch x (prompt + completion) / cycle   (prompt + completion tokens/s, the plan's unit)

Assumptions (each a named constant below) and expected error: the efficiencies are one pair for every
GPU and model, fitted to the public vLLM figures in tests/test_roofline.py (within a factor 1.5 of
each); expect +-50 % against a real run, more on MIG slices, MoE models, long prompts (attention
kernels) and PCIe tensor parallelism. Not modelled: prefix caching, speculative decoding, quantized
KV cache, CPU/scheduler overhead between steps, queueing delay above the replica's capacity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from config.catalog import GpuSku, MigProfile
from sizing.memory import ModelArch, kv_bytes_per_sequence, weight_bytes

# Share of the datasheet HBM bandwidth a vLLM decode step reaches. Public vLLM runs reach 0.5-0.8 of it
# (vLLM's own latency benchmark, Llama-3.1-8B at batch 8 on an H200: about 0.5; a batch-1 sweep on an
# A100 40GB: 0.77; both in tests/test_roofline.py): 0.6 sits between them.
MEMORY_EFFICIENCY = 0.6
# Share of the dense tensor peak a prefill reaches (model FLOPs utilization of large GEMMs; public
# training and inference reports put it at 0.4-0.6).
COMPUTE_EFFICIENCY = 0.5
# Fixed cost of one all-reduce (NCCL launch and synchronisation), per link kind: a stated assumption
# (NCCL's small-message all-reduce latency is some microseconds on NVLink, more over PCIe).
ALLREDUCE_LATENCY_S: Mapping[str, float] = MappingProxyType({"none": 0.0, "nvlink": 10e-6, "pcie": 30e-6})
ACTIVATION_BYTES = 2  # bf16/fp16 activations in the all-reduce
# A MIG slice's share of the GPU: compute in proportion to its compute slices (1/7 of the SMs each),
# memory bandwidth in proportion to its memory (NVIDIA's MIG user guide: memory slices each carry
# their share of the memory controllers).
MIG_COMPUTE_SLICES = 7


@dataclass(frozen=True)
class Hardware:
    """What the roofline needs of one GPU (or MIG slice) and the link between tensor-parallel ranks."""

    name: str
    hbm_bytes_per_s: float
    peak_flops: float
    link: str  # none | pcie | nvlink
    link_bytes_per_s: float  # one direction

    @classmethod
    def of(cls, sku: GpuSku, mig: MigProfile | None = None) -> Hardware:
        """The GPU of ``sku`` (or its MIG slice ``mig``) from the catalog's datasheet figures."""
        perf = sku.performance
        if perf is None:
            raise ValueError(f"{sku.name}: no performance figures (config/catalog/gpu-performance.yaml)")
        hbm, flops = perf.hbm_gb_per_s * 1e9, perf.dense_16bit_tflops * 1e12
        name = perf.board
        if mig is not None:
            hbm *= min(1.0, mig.memory_gb / sku.gpu_memory_gb)
            flops *= mig.compute_slices / MIG_COMPUTE_SLICES
            name = f"{perf.board} MIG {mig.name}"
        return cls(name, hbm, flops, perf.interconnect, perf.interconnect_gb_per_s * 1e9 / 2)


@dataclass(frozen=True)
class ModelShape:
    """The figures of a model the roofline reads."""

    arch: ModelArch
    weights_bytes: int  # as served (dtype applied)
    active_parameters: int  # per token (MoE: the routed experts only)
    hidden_size: int

    @classmethod
    def of(
        cls,
        arch: ModelArch,
        weights_dtype: str,
        active_parameters: int | None = None,
        hidden_size: int | None = None,
    ) -> ModelShape:
        """Dense unless ``active_parameters`` says otherwise; hidden size defaults to heads x head_dim."""
        return cls(
            arch,
            weight_bytes(arch.parameters, weights_dtype),
            active_parameters or arch.parameters,
            hidden_size or arch.attention_heads * arch.head_dim,
        )

    @property
    def attention_width(self) -> int:
        return self.arch.attention_heads * self.arch.head_dim

    def weights_read(self, batch: int) -> float:
        """Weight bytes one decode step reads: all of them for a dense model; for a mixture of experts
        ``batch`` x the active share, up to all of them (each token routes to its own experts)."""
        share = min(1.0, batch * self.active_parameters / self.arch.parameters)
        return self.weights_bytes * share


def allreduce_seconds(hw: Hardware, tp: int, nbytes: float) -> float:
    """One ring all-reduce of ``nbytes`` over ``tp`` ranks; 0 without tensor parallelism."""
    if tp == 1:
        return 0.0
    return 2 * (tp - 1) / tp * nbytes / hw.link_bytes_per_s + ALLREDUCE_LATENCY_S[hw.link]


def _comm_seconds(model: ModelShape, hw: Hardware, tp: int, tokens: int) -> float:
    per_layer = 2 * allreduce_seconds(hw, tp, tokens * model.hidden_size * ACTIVATION_BYTES)
    return model.arch.layers * per_layer


@dataclass(frozen=True)
class StepTime:
    """One decode step or prefill, its three parts (seconds) and which bound wins."""

    memory_s: float
    compute_s: float
    comm_s: float

    @property
    def seconds(self) -> float:
        return max(self.memory_s, self.compute_s) + self.comm_s

    @property
    def bound(self) -> str:
        return "memory" if self.memory_s >= self.compute_s else "compute"


def decode_step(model: ModelShape, hw: Hardware, tp: int, batch: int, context: int) -> StepTime:
    """One decode step of ``batch`` sequences of ``context`` tokens each, on ``tp`` ranks."""
    if tp < 1 or batch < 1 or context < 0:
        raise ValueError(f"tp and batch must be >= 1 and context >= 0, got {tp}, {batch}, {context}")
    kv = kv_bytes_per_sequence(model.arch, context, tp=tp)
    read = model.weights_read(batch) / tp + batch * kv
    flops = (
        batch * (2 * model.active_parameters + 4 * model.arch.layers * context * model.attention_width) / tp
    )
    return StepTime(
        read / (hw.hbm_bytes_per_s * MEMORY_EFFICIENCY),
        flops / (hw.peak_flops * COMPUTE_EFFICIENCY),
        _comm_seconds(model, hw, tp, batch),
    )


def prefill(model: ModelShape, hw: Hardware, tp: int, prompt: int, sequences: int = 1) -> StepTime:
    """Prefill of ``sequences`` prompts of ``prompt`` tokens each, on ``tp`` ranks."""
    if tp < 1 or prompt < 1 or sequences < 1:
        raise ValueError(f"tp, prompt and sequences must be >= 1, got {tp}, {prompt}, {sequences}")
    per_seq = 2 * model.active_parameters * prompt + 2 * model.arch.layers * prompt**2 * model.attention_width
    return StepTime(
        model.weights_bytes / tp / (hw.hbm_bytes_per_s * MEMORY_EFFICIENCY),
        sequences * per_seq / tp / (hw.peak_flops * COMPUTE_EFFICIENCY),
        _comm_seconds(model, hw, tp, sequences * prompt),
    )


def batch_latency_seconds(
    model: ModelShape, hw: Hardware, tp: int, batch: int, prompt: int, completion: int
) -> float:
    """End-to-end time of one fixed batch (vLLM's latency benchmark): all prefills, then the steps."""
    steps = sum(decode_step(model, hw, tp, batch, prompt + i).seconds for i in range(completion))
    return prefill(model, hw, tp, prompt, batch).seconds + steps


@dataclass(frozen=True)
class Estimate:
    """Steady-state serving of ``batch`` concurrent sequences on one replica."""

    batch: int
    step_s: float
    prefill_s: float
    bound: str  # memory | compute (the decode step's)
    ttft_s: float
    tpot_s: float
    output_tokens_per_s: float
    tokens_per_s: float  # prompt + completion
    cycle_s: float  # one generation of every sequence of the batch

    @property
    def requests_per_s(self) -> float:
        """Requests one replica completes a second at this batch."""
        return self.batch / self.cycle_s


def estimate(model: ModelShape, hw: Hardware, tp: int, batch: int, prompt: int, completion: int) -> Estimate:
    """Serving ``batch`` sequences of ``prompt`` + ``completion`` tokens at once (module docstring)."""
    if completion < 1:
        raise ValueError(f"completion must be >= 1, got {completion}")
    step = decode_step(model, hw, tp, batch, prompt + completion // 2)
    fill = prefill(model, hw, tp, prompt).seconds
    cycle = completion * step.seconds + batch * fill
    return Estimate(
        batch=batch,
        step_s=step.seconds,
        prefill_s=fill,
        bound=step.bound,
        ttft_s=fill + step.seconds,
        tpot_s=cycle / completion,
        output_tokens_per_s=batch * completion / cycle,
        tokens_per_s=batch * (prompt + completion) / cycle,
        cycle_s=cycle,
    )


def best_batch(
    model: ModelShape,
    hw: Hardware,
    tp: int,
    max_batch: int,
    prompt: int,
    completion: int,
    *,
    ttft_s: float | None = None,
    tpot_s: float | None = None,
) -> Estimate | None:
    """The largest batch up to ``max_batch`` whose TTFT and TPOT meet the targets; None if not even 1."""
    if max_batch < 1:
        return None

    def meets(b: int) -> Estimate | None:
        e = estimate(model, hw, tp, b, prompt, completion)
        ok = (ttft_s is None or e.ttft_s <= ttft_s) and (tpot_s is None or e.tpot_s <= tpot_s)
        return e if ok else None

    if meets(1) is None:
        return None
    lo, hi = 1, max_batch  # TPOT grows with the batch: the largest b that meets is found by bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if meets(mid) else (lo, mid - 1)
    return meets(lo)


def replicas_for(concurrency: int, batch: int) -> int:
    """Replicas so ``concurrency`` sequences run at ``batch`` each (ceil)."""
    if concurrency < 0 or batch < 1:
        raise ValueError("concurrency must be >= 0 and batch >= 1")
    return math.ceil(concurrency / batch)
