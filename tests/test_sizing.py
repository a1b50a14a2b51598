"""Sizing arithmetic pinned to hand-computed figures and to the model fact sheet (models.csv)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalog import GpuSku, ModelSpec, load_catalog
from sizing import (
    BYTES_PER_PARAM,
    ModelArch,
    SizingResult,
    default_max_model_len,
    kaito_nodes_per_replica,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    replicas_for_peak,
    serving_dtype,
    size_model,
    weight_bytes,
)
from sizing.kaito_estimator import KaitoEstimateError

CAT = load_catalog()
GIB = 2**30
X = "\N{MULTIPLICATION SIGN}"

# models.csv: hf_id -> (kv_bytes_per_token_16bit_all_layers, kv_bytes_per_token_16bit_full_layers,
#                      kv_sliding_layers_cap_bytes_per_seq)
CSV_KV = {
    "meta-llama/Llama-3.1-8B-Instruct": (131_072, 131_072, None),
    "meta-llama/Llama-3.3-70B-Instruct": (327_680, 327_680, None),
    "meta-llama/Llama-3.2-3B-Instruct": (114_688, 114_688, None),
    "mistralai/Mistral-7B-Instruct-v0.3": (131_072, 131_072, None),
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503": (163_840, 163_840, None),
    "Qwen/Qwen2.5-7B-Instruct": (57_344, 57_344, None),
    "Qwen/Qwen2.5-14B-Instruct": (196_608, 196_608, None),
    "Qwen/Qwen2.5-32B-Instruct": (262_144, 262_144, None),
    "Qwen/Qwen2.5-72B-Instruct": (327_680, 327_680, None),
    "microsoft/Phi-4-mini-instruct": (131_072, 131_072, None),
    "microsoft/Phi-3-mini-128k-instruct": (393_216, 393_216, None),
    "microsoft/phi-4": (204_800, 204_800, None),
    "tiiuae/falcon-7b-instruct": (8_192, 8_192, None),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": (57_344, 57_344, None),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": (262_144, 262_144, None),
    "google/gemma-3-27b-it": (507_904, 81_920, 436_207_616),
    "google/gemma-3-12b-it": (393_216, 65_536, 335_544_320),
    "openai/gpt-oss-20b": (49_152, 24_576, 3_145_728),
    "openai/gpt-oss-120b": (73_728, 36_864, 4_718_592),
}


def _size(model_id: str, sku_name: str, max_model_len: int, **kw: object) -> SizingResult:
    m = CAT.model(model_id)
    return size_model(
        ModelArch.from_spec(m),
        CAT.sku(sku_name),
        model_name=model_id,
        weights_dtype=m.weights_dtype,
        max_model_len=max_model_len,
        kaito_file_size_gib=m.kaito_file_size_gib,
        **kw,  # type: ignore[arg-type]
    )


def _by_hf(hf_id: str) -> ModelSpec:
    return next(m for m in CAT.models.values() if m.hf_id == hf_id)


# --- memory -------------------------------------------------------------------------------------


def test_bytes_per_param() -> None:
    assert BYTES_PER_PARAM["mxfp4"] == 0.53125
    assert weight_bytes(8_030_261_248, "bf16") == 16_060_522_496
    assert weight_bytes(1000, "mxfp4") == 532
    with pytest.raises(ValueError, match="did you mean bf16"):
        weight_bytes(1, "bf61")


def test_kv_per_token_matches_csv_for_every_model() -> None:
    # The fact sheet's models are all in the catalog; the others carry their own source (hf_config_source).
    assert set(CSV_KV) <= {m.hf_id for m in CAT.models.values()}
    assert all(m.hf_config_source for m in CAT.models.values() if m.hf_id not in CSV_KV)
    for hf_id, (all_layers, full_layers, _) in CSV_KV.items():
        m = _by_hf(hf_id)
        assert kv_bytes_per_token(m.layers, m.kv_heads, m.head_dim) == all_layers, hf_id
        assert kv_bytes_per_token(m.layers - m.sliding_layers, m.kv_heads, m.head_dim) == full_layers, hf_id


def test_pitfall_14_llama_8b_kv() -> None:
    # 128 KiB per token -> 128 MiB per 1K tokens; 32 requests x 4K context = 16 GiB (not 64 MB).
    arch = ModelArch.from_spec(CAT.model("llama-3.1-8b-instruct"))
    assert kv_bytes_per_token(32, 8, 128) == 131_072
    assert kv_bytes_per_token(28, 4, 128) == 57_344  # Qwen2.5-7B
    assert kv_bytes_per_sequence(arch, 1024) == 128 * 2**20
    assert 32 * kv_bytes_per_sequence(arch, 4096) == 16 * GIB


@pytest.mark.parametrize("hf_id", [h for h, v in CSV_KV.items() if v[2] is not None])
def test_sliding_cap_matches_csv(hf_id: str) -> None:
    # csv's cap = sliding layers x window x per-layer-per-token bytes: the constant KV of the sliding
    # layers once a sequence is longer than the window; full layers keep growing per token.
    _, full_per_token, cap = CSV_KV[hf_id]
    arch = ModelArch.from_spec(_by_hf(hf_id))
    assert arch.sliding_window is not None
    for seq_len in (arch.sliding_window, 8192, 131_072):
        assert kv_bytes_per_sequence(arch, seq_len) == full_per_token * seq_len + cap  # type: ignore[operator]
    short = arch.sliding_window // 2
    all_layers = kv_bytes_per_token(arch.layers, arch.kv_heads, arch.head_dim)
    assert kv_bytes_per_sequence(arch, short) == all_layers * short


def test_gemma_27b_long_context_figure() -> None:
    arch = ModelArch.from_spec(CAT.model("gemma-3-27b-instruct"))
    # 81,920 x 131,072 + 436,207,616 = 11,173,625,856 B (10.41 GiB) instead of 62 GiB with no cap
    assert kv_bytes_per_sequence(arch, 131_072) == 11_173_625_856


def test_kv_shard_per_gpu_replicates_heads() -> None:
    arch = ModelArch.from_spec(CAT.model("llama-3.3-70b-instruct"))  # 8 KV heads
    assert kv_bytes_per_sequence(arch, 1, tp=4) == 81_920  # 2 heads per GPU
    assert kv_bytes_per_sequence(arch, 1, tp=8) == kv_bytes_per_sequence(arch, 1, tp=16) == 40_960
    with pytest.raises(ValueError):
        ModelArch(
            parameters=1,
            layers=2,
            attention_heads=1,
            kv_heads=1,
            head_dim=1,
            context_length=1,
            sliding_layers=1,
        )


# --- KAITO estimator ----------------------------------------------------------------------------


def test_kaito_70b_example() -> None:
    # modelSize 131.42 x 1.02 = 134.05 GiB. NC24ads: avail 80 x 0.84 = 67.2; reserve 2.3 + 2048 x 327,680 B
    # = 2.925 GiB; per GPU (67.2 - 2.925) / 1.05 = 61.21 -> int(2.19) + 1 = 3 GPUs = 3 nodes.
    one = kaito_nodes_per_replica(131.42, 80, 1, 327_680)
    assert (one.min_gpus, one.nodes_per_replica) == (3, 3)
    assert one.fixed_reserve_gib == pytest.approx(2.925)
    # NC48ads: reserve 2.3 + 0.625 / 2 = 2.6125; (67.2 - 2.6125) / 1.05 = 61.51 -> 3 GPUs -> 2 nodes
    two = kaito_nodes_per_replica(131.42, 160, 2, 327_680)
    assert (two.min_gpus, two.nodes_per_replica) == (3, 2)
    assert _size("llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 2048).kaito_nodes_per_replica == 3
    assert _size("llama-3.3-70b-instruct", "Standard_NC48ads_A100_v4", 2048).kaito_nodes_per_replica == 2
    assert _size("llama-3.3-70b-instruct", "Standard_NC96ads_A100_v4", 2048).kaito_nodes_per_replica == 1


def test_kaito_rejects_tiny_gpu() -> None:
    with pytest.raises(KaitoEstimateError):
        kaito_nodes_per_replica(1.0, 2, 1, 131_072)


# --- size_model ---------------------------------------------------------------------------------


def test_llama_8b_on_nc24ads() -> None:
    # usable: the A100 80GB's CUDA total 79.32 GiB (gpu-memory.yaml, measured) x 0.9 = 71.388 GiB;
    # weights 16,060,522,496 B (14.96 GiB); overhead 2.3 GiB -> budget 54.13 GiB; one 8,192-token
    # sequence = 1 GiB -> 54 sequences (it was 49 when "80 GB" was read as 74.51 GiB)
    r = _size("llama-3.1-8b-instruct", "Standard_NC24ads_A100_v4", 8192)
    assert r.fits and r.reason is None
    assert (r.gpus_per_replica, r.dtype, r.weights_dtype) == (1, "bfloat16", "bf16")
    assert (r.device_memory_gib, r.weights_gib, r.kv_budget_per_gpu_gib) == (79.32, 14.96, 54.13)
    assert (r.max_concurrent_at_full_context, r.max_num_seqs, r.kaito_nodes_per_replica) == (54, 54, 1)


def test_llama_70b_needs_four_a100() -> None:
    r = _size("llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 8192)
    assert not r.fits and r.max_num_seqs == 0
    assert r.reason == (
        "weights 131.4 GiB + overhead 2.3 GiB + KV of one 8,192-token sequence 2.5 GiB > 71.4 GiB usable "
        f"on 1 {X} A100 80GB (79.32 GiB CUDA total {X} 0.90)"
    )
    # tp 2 now fits (it did not at 74.51 GiB): 71.388 GiB usable - 70,553,706,496 B (65.71 GiB) of
    # weights per GPU - 2.3 GiB = 3.38 GiB; KV shard 4 heads -> 163,840 B/token, 1.25 GiB per 8,192
    # tokens -> 2 sequences. NC96ads takes the smallest tp that holds one sequence: also 2.
    r = _size("llama-3.3-70b-instruct", "Standard_NC96ads_A100_v4", 8192)
    assert r.fits and r.gpus_per_replica == 2
    assert (r.weights_per_gpu_gib, r.kv_budget_per_gpu_gib) == (65.71, 3.38)
    assert (r.kv_bytes_per_token, r.kv_bytes_per_token_per_gpu) == (327_680, 163_840)
    assert (r.max_concurrent_at_full_context, r.max_num_seqs) == (2, 2)
    r2 = _size("llama-3.3-70b-instruct", "Standard_NC48ads_A100_v4", 8192)
    assert r2.fits and r2.gpus_per_replica == 2 and r2.kv_budget_per_gpu_gib == 3.38


def test_phi_4_mini_on_t4_uses_float16() -> None:
    # usable: T4 CUDA total 14.10 GiB (derived: nvidia-smi 15,360 MiB = 15.00 GiB - 0.9 GiB) x 0.9 =
    # 12.69 GiB; weights 7,672,043,520 B (7.145 GiB) as fp16; - 2.3 GiB -> 3.24 GiB;
    # 4,096 tokens x 131,072 B = 0.5 GiB -> 6 sequences
    r = _size("phi-4-mini-instruct", "Standard_NC4as_T4_v3", 4096)
    assert r.fits and (r.dtype, r.weights_dtype, r.gpus_per_replica) == ("float16", "fp16", 1)
    assert (r.kv_budget_per_gpu_gib, r.max_num_seqs, r.kaito_nodes_per_replica) == (3.24, 6, None)
    assert serving_dtype(CAT.sku("Standard_NC4as_T4_v3")) == "float16"
    assert serving_dtype(CAT.sku("Standard_NV36ads_A10_v5")) == "bfloat16"


def test_mig_slices() -> None:
    nc24 = CAT.sku("Standard_NC24ads_A100_v4")
    small = _size("llama-3.1-8b-instruct", nc24.name, 8192, mig_profile=nc24.mig_profile("1g.10gb"))
    # no public -lgip figure for the A100 80GB 1g.10gb: 10 decimal GB = 9.31 GiB - 0.9 GiB margin = 8.41
    assert not small.fits and small.mig_profile == "1g.10gb" and small.device_memory_gib == 8.41
    assert f"7.6 GiB usable on 1 {X} MIG 1g.10gb slice of A100 80GB (8.41 GiB, derived {X} 0.90)" in (
        small.reason or ""
    )
    # 3g.40gb: (37.25 - 0.9) = 36.35 GiB x 0.9 = 32.715 - 14.957 - 2.3 = 15.46 GiB -> 15 sequences of 8,192
    big = _size("llama-3.1-8b-instruct", nc24.name, 8192, mig_profile=nc24.mig_profile("3g.40gb"))
    assert big.fits and (big.gpus_per_replica, big.max_num_seqs, big.kaito_nodes_per_replica) == (1, 15, None)
    nd = CAT.sku("Standard_ND96asr_v4")
    with pytest.raises(ValueError, match=r"has no MIG profile 1g\.5gb"):
        _size("llama-3.1-8b-instruct", nc24.name, 8192, mig_profile=nd.mig_profile("1g.5gb"))


def test_llama_70b_bf16_fits_nc48ads_with_tp2_even_on_81251_mib_boards() -> None:
    """Issue 11 pin: Llama-3.3-70B bf16 on Standard_NC48ads_A100_v4 with vLLM tensor parallel 2 (public
    AKS guides recommend it) fits on the CUDA total vLLM sees (79.32 GiB), and still fits on boards
    whose nvidia-smi reports 81,251 MiB (driver 495, NVIDIA/mig-parted#31)."""
    r = _size("llama-3.3-70b-instruct", "Standard_NC48ads_A100_v4", 4096)
    assert r.fits and r.gpus_per_replica == 2 and r.device_memory_gib == 79.32
    # 81,251 MiB = 79.35 GiB as nvidia-smi prints it; minus the 0.9 GiB margin to a CUDA total = 78.45
    # GiB; x 0.9 = 70.60 - 65.71 (weights / 2) - 2.3 = 2.60 GiB >= 0.625 GiB of one 4,096-token sequence
    low = dataclasses.replace(
        CAT.sku("Standard_NC48ads_A100_v4"), cuda_total_gib=round(81_251 / 1024 - 0.9, 2)
    )
    m = CAT.model("llama-3.3-70b-instruct")
    r = size_model(ModelArch.from_spec(m), low, model_name=m.id, weights_dtype="bf16", max_model_len=4096)
    assert low.cuda_total_gib == 78.45
    assert r.fits and r.gpus_per_replica == 2 and r.kv_budget_per_gpu_gib == 2.6
    assert r.max_concurrent_at_full_context == 4


def test_falcon_71_heads_never_shards() -> None:
    # 4 x T4: tp 1 does not fit (12.9 GiB + 2.3 GiB > 12.7 GiB) and 71 heads rule out tp 2/4
    r = _size("falcon-7b-instruct", "Standard_NC64as_T4_v3", 2048)
    assert not r.fits and r.gpus_per_replica == 1
    for sku in CAT.skus.values():
        assert _size("falcon-7b-instruct", sku.name, 2048).gpus_per_replica == 1


def test_requested_max_num_seqs_and_context() -> None:
    ok = _size(
        "llama-3.1-8b-instruct", "Standard_NC24ads_A100_v4", 8192, typical_seq_len=2048, max_num_seqs=128
    )
    assert ok.fits and ok.max_num_seqs == 128  # room for 216 sequences of 2,048 tokens
    derived = _size("llama-3.1-8b-instruct", "Standard_NC24ads_A100_v4", 8192, typical_seq_len=2048)
    assert derived.max_num_seqs == 216  # 54.13 GiB / 0.25 GiB per 2,048-token sequence
    capped = _size("llama-3.1-8b-instruct", "Standard_NC24ads_A100_v4", 8192, typical_seq_len=512)
    assert capped.max_num_seqs == 256
    bad = _size("llama-3.1-8b-instruct", "Standard_NC24ads_A100_v4", 8192, max_num_seqs=64)
    assert not bad.fits and bad.max_num_seqs == 64 and "room for 54" in (bad.reason or "")
    # NC96ads: 100 sequences need tp 2 (tp 1 holds 54); tp 2 budget 71.388 - 7.479 - 2.3 GiB
    # = 61.61 GiB, 4 KV heads per GPU -> 0.5 GiB per 8,192-token sequence -> 123
    more = _size("llama-3.1-8b-instruct", "Standard_NC96ads_A100_v4", 8192, max_num_seqs=100)
    assert more.fits and more.gpus_per_replica == 2 and more.max_concurrent_at_full_context == 123
    long = _size("falcon-7b-instruct", "Standard_NC24ads_A100_v4", 4096)
    assert not long.fits and "exceeds the model's context length 2,048" in (long.reason or "")


def test_helpers() -> None:
    assert default_max_model_len(1000, 500, 131_072) == 3072
    assert default_max_model_len(1000, 24, 131_072) == 2048
    assert default_max_model_len(1, 0, 131_072) == 256
    assert default_max_model_len(3000, 1000, 2048) == 2048
    assert replicas_for_peak(100, 49) == 3
    assert replicas_for_peak(98, 49) == 2
    assert replicas_for_peak(0, 49) == 0
    with pytest.raises(ValueError):
        replicas_for_peak(10, 0)


# --- properties ---------------------------------------------------------------------------------

SLIDING = [ModelArch.from_spec(m) for m in CAT.models.values() if m.sliding_layers]
ALL_ARCHS = [ModelArch.from_spec(m) for m in CAT.models.values()]


SEQ = st.integers(0, 200_000)


@given(st.sampled_from(ALL_ARCHS), SEQ, SEQ, st.sampled_from([1, 2, 4, 8]))
def test_kv_per_sequence_monotone(arch: ModelArch, a: int, b: int, tp: int) -> None:
    lo, hi = sorted((a, b))
    assert kv_bytes_per_sequence(arch, lo, tp=tp) <= kv_bytes_per_sequence(arch, hi, tp=tp)
    no_cap = hi * kv_bytes_per_token(arch.layers, arch.kv_heads, arch.head_dim)
    assert kv_bytes_per_sequence(arch, hi, tp=tp) <= no_cap


@given(st.sampled_from(SLIDING), st.integers(1, 200_000))
def test_sliding_layers_capped(arch: ModelArch, extra: int) -> None:
    assert arch.sliding_window is not None
    w = arch.sliding_window
    growth = kv_bytes_per_sequence(arch, w + extra) - kv_bytes_per_sequence(arch, w)
    assert growth == extra * kv_bytes_per_token(arch.full_layers, arch.kv_heads, arch.head_dim)


def _with_memory(sku: GpuSku, gb: int) -> GpuSku:
    return dataclasses.replace(sku, cuda_total_gib=float(gb))


@settings(max_examples=200)
@given(
    st.sampled_from(list(CAT.models.values())),
    st.sampled_from([s for s in CAT.skus.values() if s.retired is None]),
    st.integers(4, 200),
    st.integers(0, 100),
    st.sampled_from([512, 2048, 8192, 32_768]),
)
def test_more_memory_never_breaks_a_fit(spec: ModelSpec, sku: GpuSku, gb: int, more: int, mml: int) -> None:
    arch = ModelArch.from_spec(spec)
    kw = {"model_name": spec.id, "weights_dtype": spec.weights_dtype, "max_model_len": mml}
    small = size_model(arch, _with_memory(sku, gb), **kw)  # type: ignore[arg-type]
    large = size_model(arch, _with_memory(sku, gb + more), **kw)  # type: ignore[arg-type]
    if small.fits:
        assert large.fits
        assert large.gpus_per_replica <= small.gpus_per_replica
        if large.gpus_per_replica == small.gpus_per_replica:  # fewer GPUs may mean fewer sequences
            assert large.max_num_seqs >= small.max_num_seqs
