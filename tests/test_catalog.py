"""The catalog data files load, validate, and hold the sourced figures."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from config import catalog as catalog_module
from config.catalog import Catalog, closest_names, load_catalog

# name: (vcpus, RAM GiB, GPUs, GPU model, GB per GPU, quota family, KAITO total GiB or None)
EXPECTED_SKUS = {
    "Standard_NC4as_T4_v3": (4, 28, 1, "T4", 16, "standardNCASv3_T4Family", None),
    "Standard_NC8as_T4_v3": (8, 56, 1, "T4", 16, "standardNCASv3_T4Family", None),
    "Standard_NC16as_T4_v3": (16, 110, 1, "T4", 16, "standardNCASv3_T4Family", None),
    "Standard_NC64as_T4_v3": (64, 440, 4, "T4", 16, "standardNCASv3_T4Family", None),
    "Standard_NC6s_v3": (6, 112, 1, "V100", 16, "standardNCSv3Family", None),
    "Standard_NV36ads_A10_v5": (36, 440, 1, "A10", 24, "standardNVADSA10v5Family", 24),
    "Standard_NV72ads_A10_v5": (72, 880, 2, "A10", 24, "standardNVADSA10v5Family", 48),
    "Standard_NC24ads_A100_v4": (24, 220, 1, "A100 80GB", 80, "standardNCADSA100v4Family", 80),
    "Standard_NC48ads_A100_v4": (48, 440, 2, "A100 80GB", 80, "standardNCADSA100v4Family", 160),
    "Standard_NC96ads_A100_v4": (96, 880, 4, "A100 80GB", 80, "standardNCADSA100v4Family", 320),
    "Standard_ND96asr_v4": (96, 900, 8, "A100 40GB", 40, "standardNDASv4_A100Family", 320),
    "Standard_ND96amsr_A100_v4": (96, 1900, 8, "A100 80GB", 80, "standardNDAMSv4_A100Family", 640),
    "Standard_NC40ads_H100_v5": (40, 320, 1, "H100 NVL", 94, "standardNCadsH100v5Family", 94),
    "Standard_NC80adis_H100_v5": (80, 640, 2, "H100 NVL", 94, "standardNCadsH100v5Family", 188),
    "Standard_ND96isr_H100_v5": (96, 1900, 8, "H100", 80, "standardNDSH100v5Family", 640),
    "Standard_ND96isr_H200_v5": (96, 1850, 8, "H200", 141, "standardNDISRH200V5Family", 1128),
}

# kaito.md preset file sizes (GiB) for models that are also in models.csv
KAITO_FILE_SIZES = {
    "phi-4-mini-instruct": 7.15,
    "phi-4": 27.31,
    "phi-3-mini-128k-instruct": 7.12,
    "mistral-7b-instruct": 13.50,
    "llama-3.1-8b-instruct": 14.96,
    "llama-3.3-70b-instruct": 131.42,
    "falcon-7b-instruct": 13.44,
    "gemma-3-27b-instruct": 51.10,
    "gpt-oss-20b": 25.63,
    "gpt-oss-120b": 121.54,
}

PRICES = {
    "Standard_NC4as_T4_v3": (0.526, None),
    "Standard_NC8as_T4_v3": (0.752, None),
    "Standard_NC16as_T4_v3": (1.204, None),
    "Standard_NC64as_T4_v3": (4.352, None),
    "Standard_NV36ads_A10_v5": (2.01, None),
    "Standard_NC24ads_A100_v4": (3.673, 0.7345),
    "Standard_NC48ads_A100_v4": (7.346, None),
    "Standard_NC96ads_A100_v4": (14.692, None),
    "Standard_NC40ads_H100_v5": (6.98, None),
    "Standard_ND96isr_H100_v5": (98.32, None),
    "Standard_D4ds_v5": (0.185, None),
    # general-purpose system pool sizes: 0.185 x vCPUs / 4 (derived, prices.yaml)
    "Standard_D2ds_v5": (0.0925, None),
    "Standard_D8ds_v5": (0.37, None),
    "Standard_D16ds_v5": (0.74, None),
    "Standard_D32ds_v5": (1.48, None),
}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def test_loads_fast_and_is_cached(cat: Catalog) -> None:
    load_catalog.cache_clear()
    start = time.perf_counter()
    fresh = load_catalog()
    assert time.perf_counter() - start < 0.5
    assert load_catalog() is fresh


def test_every_sku_with_its_figures(cat: Catalog) -> None:
    assert set(cat.skus) == set(EXPECTED_SKUS)
    for name, (vcpus, ram, gpus, model, gb, quota, kaito_gib) in EXPECTED_SKUS.items():
        sku = cat.sku(name)
        assert (sku.vcpus, sku.memory_gib, sku.gpu_count, sku.gpu_model, sku.gpu_memory_gb) == (
            vcpus,
            ram,
            gpus,
            model,
            gb,
        ), name
        assert sku.quota_family == quota
        assert sku.kaito_gpu_memory_gib == kaito_gib
        assert sku.kaito_supported is (kaito_gib is not None)
        assert sku.bf16 is (float(sku.compute_capability) >= 8.0)
        assert sku.source.strip()


def test_sku_special_cases(cat: Catalog) -> None:
    assert cat.sku("Standard_NC6s_v3").retired == "2025-09-30"
    assert [s.name for s in cat.skus.values() if s.retired] == ["Standard_NC6s_v3"]
    t4 = cat.sku("Standard_NC4as_T4_v3")
    assert (t4.compute_capability, t4.bf16, t4.mig_profiles, t4.kaito_supported) == ("7.5", False, (), False)
    assert cat.sku("Standard_NV36ads_A10_v5").compute_capability == "8.6"
    nd = cat.sku("Standard_ND96asr_v4")
    assert nd.kaito_name == "Standard_ND96asr_A100_v4" and "ND96asr_A100_v4" in nd.source
    nc24 = cat.sku("Standard_NC24ads_A100_v4")
    assert (nc24.nvme, nc24.local_disk_gib, nc24.nvme_gib) == (True, 64, 960)


def test_mig_profiles(cat: Catalog) -> None:
    nc24 = cat.sku("Standard_NC24ads_A100_v4")
    assert [(p.name, p.instances_per_gpu, p.aks_gpu_instance_profile) for p in nc24.mig_profiles] == [
        ("1g.10gb", 7, "MIG1g"),
        ("1g.20gb", 4, None),
        ("2g.20gb", 3, "MIG2g"),
        ("3g.40gb", 2, "MIG3g"),
        ("4g.40gb", 1, "MIG4g"),
        ("7g.80gb", 1, "MIG7g"),
    ]
    p = nc24.mig_profile("3g.40gb")
    assert p is not None and (p.compute_slices, p.memory_gb) == (3, 40)
    assert nc24.mig_profile("1g.5gb") is None
    # Same profile table on A100 80GB and H100 80GB, but each GPU's own slice memory (gpu-memory.yaml):
    # H100 1g.10gb has a public -lgip figure (9.75 GiB - 0.9 GiB margin = 8.85); the A100's does not,
    # so it is its nominal 10 decimal GB (9.31 GiB) - 0.9 = 8.41 GiB.
    h100 = cat.sku("Standard_ND96isr_H100_v5")
    assert [p.name for p in h100.mig_profiles] == [p.name for p in nc24.mig_profiles]
    assert (h100.mig_profiles[0].memory_gib, nc24.mig_profiles[0].memory_gib) == (8.85, 8.41)
    assert "-lgip" in h100.mig_profiles[0].memory_source and "no public" in nc24.mig_profiles[0].memory_source
    assert [p.name for p in cat.sku("Standard_ND96asr_v4").mig_profiles] == [
        "1g.5gb",
        "2g.10gb",
        "3g.20gb",
        "4g.20gb",
        "7g.40gb",
    ]
    nvl = cat.sku("Standard_NC40ads_H100_v5")
    assert [p.name for p in nvl.mig_profiles] == [
        "1g.12gb",
        "1g.24gb",
        "2g.24gb",
        "3g.47gb",
        "4g.47gb",
        "7g.94gb",
    ]
    assert nvl.mig_profile("1g.24gb").aks_gpu_instance_profile is None  # type: ignore[union-attr]
    for name in ("Standard_NV36ads_A10_v5", "Standard_NC6s_v3", "Standard_ND96isr_H200_v5"):
        assert cat.sku(name).mig_profiles == ()


def test_system_sku(cat: Catalog) -> None:
    d4 = cat.system_skus["Standard_D4ds_v5"]
    assert (d4.vcpus, d4.memory_gib, d4.quota_family) == (4, 16, "standardDDSv5Family")


def test_models(cat: Catalog) -> None:
    assert len(cat.models) == 25
    assert {
        "qwen2.5-7b-instruct",
        "llama-3.2-3b-instruct",
        "gemma-3-12b-it",
        "mistral-small-3.1-24b-instruct-2503",
        "deepseek-r1-distill-qwen-32b",
    } <= set(cat.models)
    for mid, size in KAITO_FILE_SIZES.items():
        m = cat.model(mid)
        assert (m.kaito_preset, m.kaito_file_size_gib) == (mid, size)
    gated = {m.hf_id.split("/")[0] for m in cat.models.values() if m.gated}
    assert gated == {"meta-llama", "mistralai", "google"}
    assert all("gated" in m.source for m in cat.models.values() if m.gated)
    assert {m.id: m.weights_dtype for m in cat.models.values() if m.weights_dtype != "bf16"} == {
        "gpt-oss-20b": "mxfp4",
        "gpt-oss-120b": "mxfp4",
        "qwen2.5-7b-instruct-awq": "awq",
        "qwen2.5-7b-instruct-gptq-int4": "gptq",
    }
    assert cat.model("gpt-oss-120b").weights_dtype == "mxfp4"
    assert cat.model("phi-4-mini-instruct").sliding_window is None
    g = cat.model("gemma-3-27b-instruct")
    assert (g.sliding_window, g.sliding_layers, g.layers, g.kv_heads, g.head_dim) == (1024, 52, 62, 16, 128)
    assert (cat.model("gpt-oss-20b").sliding_layers, cat.model("gpt-oss-20b").sliding_window) == (12, 128)
    falcon = cat.model("falcon-7b-instruct")
    assert (falcon.attention_heads, falcon.kv_heads, falcon.context_length) == (71, 1, 2048)


def test_prices(cat: Catalog) -> None:
    p = cat.prices
    assert (p.currency, p.region, p.as_of, p.verified) == ("USD", "eastus", "2026-08-21", False)
    assert "unverified" in p.source and "prices.azure.com" in p.source
    assert "0.37" in p.system_pool_note
    assert {k: (e.on_demand_per_hour, e.spot_per_hour) for k, e in p.entries.items()} == PRICES
    assert "0.37 / 2" in p.entries["Standard_D4ds_v5"].source


def test_unknown_names_suggest(cat: Catalog) -> None:
    assert closest_names("standard_nc24ads_a100_v3", cat.skus)[0] == "Standard_NC24ads_A100_v4"
    assert closest_names("LLAMA-3.1-8B", cat.models)[0] == "llama-3.1-8b-instruct"
    assert closest_names("zzz", ["abc"]) == []
    with pytest.raises(KeyError, match="did you mean Standard_NC40ads_H100_v5"):
        cat.sku("Standard_NC40ads_H100_v4")
    with pytest.raises(KeyError, match="unknown model"):
        cat.model("no-such-model")


@pytest.fixture
def broken_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for f in catalog_module.CATALOG_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.setattr(catalog_module, "CATALOG_DIR", tmp_path)
    load_catalog.cache_clear()
    yield tmp_path
    load_catalog.cache_clear()


def _edit(path: Path, change: str) -> None:
    data = yaml.safe_load(path.read_text())
    entry = data["gpu_skus" if "skus" in path.name else "models"]
    first = next(iter(entry.values()))
    if change == "extra":
        first["vcpu"] = 4
    else:
        del first["source"]
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    "change, match", [("extra", r"unknown keys \['vcpu'\]"), ("missing", "missing keys")]
)
def test_typo_in_data_fails_fast(broken_dir: Path, change: str, match: str) -> None:
    _edit(broken_dir / "skus.yaml", change)
    with pytest.raises(ValueError, match=rf"skus\.yaml: gpu_skus\.Standard_NC4as_T4_v3: {match}"):
        load_catalog()


def test_bad_model_type_and_unknown_price_sku(broken_dir: Path) -> None:
    models = broken_dir / "models.yaml"
    models.write_text(models.read_text().replace("layers: 32", "layers: '32'", 1))
    where = r"models\.yaml: models\.llama-3\.1-8b-instruct"
    with pytest.raises(ValueError, match=rf"{where}: 'layers' must be int"):
        load_catalog()
    shutil.copy(Path(__file__).resolve().parents[1] / "config/catalog/models.yaml", models)
    prices = broken_dir / "prices.yaml"
    prices.write_text(prices.read_text().replace("Standard_NC8as_T4_v3:", "Standard_NC8as_T4_v9:"))
    with pytest.raises(ValueError, match=r"prices\.yaml: entries\.Standard_NC8as_T4_v9: unknown SKU"):
        load_catalog()


def test_hf_config_json_is_the_figures_plus_the_held_keys(cat: Catalog) -> None:
    from config.catalog import hf_config_json

    doc = hf_config_json(cat.model("qwen2.5-7b-instruct-awq"))
    figures = (doc["num_hidden_layers"], doc["num_key_value_heads"], doc["max_position_embeddings"])
    assert figures == (28, 4, 32768)
    assert doc["quantization_config"]["quant_method"] == "awq" and doc["torch_dtype"] == "float16"
    assert hf_config_json(cat.model("llama-3.1-8b-instruct"))["torch_dtype"] == "bfloat16"
    assert hf_config_json(cat.model("gemma-3-27b-instruct")) == {}  # not describable: no hf_config
    described = [m for m in cat.models.values() if m.hf_config]
    assert all(m.hf_config_source and "architectures" in m.hf_config for m in described)


def qwen3_parameters(layers: int, hidden: int, heads: int, intermediate: int, tied: bool) -> int:
    """Qwen3's parameter count from its config.json figures: q/o (heads x 128 wide), k/v (8 x 128),
    q/k norms, the gated MLP, two RMS norms per layer, the final norm, embeddings (and lm_head)."""
    attention = 2 * hidden * heads * 128 + 2 * hidden * 8 * 128 + 2 * 128
    per_layer = attention + 3 * hidden * intermediate + 2 * hidden
    embeddings = 151_936 * hidden * (1 if tied else 2)
    return layers * per_layer + hidden + embeddings


def test_qwen3_parameter_counts_follow_from_their_figures(cat: Catalog) -> None:
    cards = {"qwen3-4b": 4.0, "qwen3-8b": 8.2, "qwen3-14b": 14.8, "qwen3-32b": 32.8}  # the model cards
    for mid, billions in cards.items():
        m = cat.model(mid)
        assert m.intermediate_size and m.hidden_size and m.tie_word_embeddings is not None
        figures = (m.layers, m.hidden_size, m.attention_heads, m.intermediate_size, m.tie_word_embeddings)
        assert m.parameters == qwen3_parameters(*figures), mid
        assert round(m.parameters / 1e9, 1) == billions, mid
