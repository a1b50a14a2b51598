"""The roofline estimate (sizing/roofline.py): pinned to its formula on hand-computed cases, and
compared with public vLLM measurements within a stated factor."""

from __future__ import annotations

import pytest

from config.catalog import load_catalog
from sizing.memory import ModelArch
from sizing.roofline import (
    COMPUTE_EFFICIENCY,
    MEMORY_EFFICIENCY,
    Hardware,
    ModelShape,
    allreduce_seconds,
    batch_latency_seconds,
    best_batch,
    decode_step,
    estimate,
    prefill,
    replicas_for,
)

CAT = load_catalog()


def shape(model_id: str) -> ModelShape:
    spec = CAT.model(model_id)
    return ModelShape.of(
        ModelArch.from_spec(spec), spec.weights_dtype, spec.active_parameters, spec.hidden_size
    )


LLAMA8 = shape("llama-3.1-8b-instruct")  # 8,030,261,248 params bf16; 32 layers, 32 heads x 128, 8 KV heads
LLAMA70 = shape("llama-3.3-70b-instruct")  # 80 layers, hidden 8192
H100 = Hardware.of(CAT.sku("Standard_ND96isr_H100_v5"))  # 3,350 GB/s, 989.5 TFLOP/s, NVLink 900 GB/s
H200 = Hardware.of(CAT.sku("Standard_ND96isr_H200_v5"))  # 4,800 GB/s
A100_40 = Hardware.of(CAT.sku("Standard_ND96asr_v4"))  # 1,555 GB/s


def test_the_efficiencies_are_the_stated_ones() -> None:
    # The hand-computed figures below divide by these; a change must revisit them and the benchmarks.
    assert (MEMORY_EFFICIENCY, COMPUTE_EFFICIENCY) == (0.6, 0.5)


def test_decode_step_is_bytes_over_bandwidth() -> None:
    # bytes = weights 16,060,522,496 + batch 8 x 1,024 tokens x KV 131,072 B/token (2 x 32 x 8 x 128 x 2)
    #       = 16,060,522,496 + 1,073,741,824 = 17,134,264,320
    # memory  = 17,134,264,320 / (3,350e9 x 0.6) = 8.52451 ms
    # compute = 8 x (2 x 8,030,261,248 + 4 x 32 x 1,024 x 4,096) / (989.5e12 x 0.5) = 0.268376 ms
    step = decode_step(LLAMA8, H100, tp=1, batch=8, context=1024)
    assert step.memory_s == pytest.approx(17_134_264_320 / 2.01e12)
    assert step.memory_s == pytest.approx(8.52451e-3, rel=1e-5)
    assert step.compute_s == pytest.approx(8 * 16_597_393_408 / 494.75e12)
    assert (step.comm_s, step.bound, step.seconds) == (0.0, "memory", step.memory_s)


def test_tensor_parallel_splits_the_bytes_and_adds_two_allreduces_per_layer() -> None:
    # One all-reduce of 8 tokens x 8,192 x 2 B = 131,072 B over 8 NVLink ranks (450 GB/s each way):
    # 2 x 7/8 x 131,072 / 450e9 + 10 us = 10.5097 us; 80 layers x 2 of them = 1.68156 ms
    one = allreduce_seconds(H100, 8, 131_072)
    assert one == pytest.approx(2 * 7 / 8 * 131_072 / 450e9 + 10e-6)
    step = decode_step(LLAMA70, H100, tp=8, batch=8, context=1024)
    assert step.comm_s == pytest.approx(160 * one)
    # weights 141,107,412,992 B / 8 + 8 x 1,024 x KV of one rank (2 x 80 x 1 x 128 x 2 = 40,960 B/token)
    assert step.memory_s == pytest.approx((141_107_412_992 / 8 + 8 * 1024 * 40_960) / 2.01e12)
    assert allreduce_seconds(H100, 1, 131_072) == 0.0


def test_prefill_is_flops_over_peak() -> None:
    # 2 x 8,030,261,248 x 1,000 + 2 x 32 layers x 1,000^2 x 4,096 = 16,322,666,496,000 FLOPs
    # / (989.5e12 x 0.5) = 32.9918 ms
    fill = prefill(LLAMA8, H100, tp=1, prompt=1000)
    assert fill.compute_s == pytest.approx(16_322_666_496_000 / 494.75e12)
    assert fill.bound == "compute" and fill.seconds == fill.compute_s


def test_serving_estimate_composes_steps_and_prefills() -> None:
    e = estimate(LLAMA8, H100, tp=1, batch=16, prompt=1000, completion=200)
    step = decode_step(LLAMA8, H100, 1, 16, 1100).seconds  # context: prompt + half the completion
    fill = prefill(LLAMA8, H100, 1, 1000).seconds
    cycle = 200 * step + 16 * fill
    assert e.tpot_s == pytest.approx(cycle / 200)
    assert e.ttft_s == pytest.approx(fill + step)
    assert e.tokens_per_s == pytest.approx(16 * 1200 / cycle)
    assert e.output_tokens_per_s == pytest.approx(16 * 200 / cycle)
    assert e.requests_per_s == pytest.approx(16 / cycle)


def test_mig_slice_gets_its_share_of_bandwidth_and_compute() -> None:
    sku = CAT.sku("Standard_NC24ads_A100_v4")
    mig = sku.mig_profile("1g.10gb")
    assert mig is not None
    hw = Hardware.of(sku, mig)
    assert hw.hbm_bytes_per_s == pytest.approx(1935e9 * 10 / 80)
    assert hw.peak_flops == pytest.approx(312e12 / 7)


def test_moe_reads_the_active_experts_of_each_token() -> None:
    moe = shape("gpt-oss-120b")  # 116,829,156,672 params, 5,132,849,472 active
    assert moe.weights_read(1) == pytest.approx(moe.weights_bytes * 5_132_849_472 / 116_829_156_672)
    assert moe.weights_read(64) == moe.weights_bytes  # 64 x 4.4 % > all of them
    assert LLAMA8.weights_read(1) == LLAMA8.weights_bytes


def test_best_batch_is_the_largest_meeting_the_targets() -> None:
    target = estimate(LLAMA8, H100, 1, 40, 1000, 200).tpot_s
    best = best_batch(LLAMA8, H100, 1, 256, 1000, 200, tpot_s=target)
    assert best is not None and best.batch == 40
    assert best_batch(LLAMA8, H100, 1, 256, 1000, 200, tpot_s=1e-6) is None
    assert best_batch(LLAMA8, H100, 1, 12, 1000, 200) is not None
    assert replicas_for(100, 40) == 3 and replicas_for(0, 4) == 0


# Public vLLM measurements: (what, source, model, SKU whose GPU ran it, tp, batch, prompt, completion,
# measured seconds for the whole batch). The estimate must be within FACTOR of each.
FACTOR = 1.5
BENCHMARKS = [
    (
        "vLLM performance benchmark latency_llama8B_tp1, median end-to-end latency 833.53 ms "
        "(input 32, output 128, batch 8)",
        "https://buildkite.com/vllm/performance-benchmark/builds/9515",
        LLAMA8,
        H200,
        1,
        8,
        32,
        128,
        0.83353,
    ),
    (
        "vLLM performance benchmark latency_llama70B_tp4 (Llama-3-70B, same architecture as 3.3), median "
        "2,077.56 ms (input 32, output 128, batch 8)",
        "https://buildkite.com/vllm/performance-benchmark/builds/9515",
        LLAMA70,
        H200,
        4,
        8,
        32,
        128,
        2.07756,
    ),
    (
        "Llama-3.1-8B-Instruct bf16, vLLM, one A100 40GB, concurrency 1, 1,024 in / 128 out: about 75 "
        "output tokens/s (128 tokens / 75 tok/s = 1.71 s)",
        "https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on",
        LLAMA8,
        A100_40,
        1,
        1,
        1024,
        128,
        128 / 75,
    ),
]


@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda b: b[0][:40])
def test_estimate_is_within_the_stated_factor_of_public_vllm_figures(bench: tuple[object, ...]) -> None:
    _, _, model, hw, tp, batch, prompt, completion, measured = bench
    assert isinstance(model, ModelShape) and isinstance(hw, Hardware) and isinstance(measured, float)
    assert isinstance(tp, int) and isinstance(batch, int) and isinstance(prompt, int)
    assert isinstance(completion, int)
    if batch == 1:  # a concurrency sweep reports decode speed: compare the decode steps only
        predicted = sum(decode_step(model, hw, tp, 1, prompt + i).seconds for i in range(completion))
    else:
        predicted = batch_latency_seconds(model, hw, tp, batch, prompt, completion)
    assert 1 / FACTOR <= predicted / measured <= FACTOR, (predicted, measured)
