"""The roofline's GPU figures (config/catalog/gpu-performance.yaml) load, validate, match the datasheets."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import catalog as catalog_module
from config.catalog import load_catalog

# SKU: (board, HBM GB/s, dense bf16/fp16 TFLOP/s, interconnect, its GB/s), from the NVIDIA datasheets
EXPECTED = {
    "Standard_NC4as_T4_v3": ("T4", 320, 65, "none", 32),
    "Standard_NC8as_T4_v3": ("T4", 320, 65, "none", 32),
    "Standard_NC16as_T4_v3": ("T4", 320, 65, "none", 32),
    "Standard_NC64as_T4_v3": ("T4", 320, 65, "pcie", 32),
    "Standard_NC6s_v3": ("V100 PCIe", 900, 112, "none", 32),
    "Standard_NV36ads_A10_v5": ("A10", 600, 125, "none", 64),
    "Standard_NV72ads_A10_v5": ("A10", 600, 125, "pcie", 64),
    "Standard_NC24ads_A100_v4": ("A100 80GB PCIe", 1935, 312, "none", 64),
    "Standard_NC48ads_A100_v4": ("A100 80GB PCIe", 1935, 312, "pcie", 64),
    "Standard_NC96ads_A100_v4": ("A100 80GB PCIe", 1935, 312, "pcie", 64),
    "Standard_ND96asr_v4": ("A100 40GB SXM", 1555, 312, "nvlink", 600),
    "Standard_ND96amsr_A100_v4": ("A100 80GB SXM", 2039, 312, "nvlink", 600),
    "Standard_NC40ads_H100_v5": ("H100 NVL", 3900, 835.5, "none", 128),
    "Standard_NC80adis_H100_v5": ("H100 NVL", 3900, 835.5, "nvlink", 600),
    "Standard_ND96isr_H100_v5": ("H100 SXM", 3350, 989.5, "nvlink", 900),
    "Standard_ND96isr_H200_v5": ("H200 SXM", 4800, 989.5, "nvlink", 900),
}


def test_every_sku_has_its_datasheet_figures() -> None:
    skus = load_catalog().skus
    assert set(skus) == set(EXPECTED)
    for name, (board, hbm, tflops, link, gbps) in EXPECTED.items():
        p = skus[name].performance
        assert p is not None
        assert (p.board, p.hbm_gb_per_s, p.dense_16bit_tflops, p.interconnect, p.interconnect_gb_per_s) == (
            board,
            hbm,
            tflops,
            link,
            gbps,
        ), name
        assert "http" in p.source or "datasheet" in p.source
        assert p.interconnect_source


_T4_LINE = next(
    line + "\n"
    for line in (catalog_module.CATALOG_DIR / "gpu-performance.yaml").read_text().splitlines()
    if line.startswith("  Standard_NC4as_T4_v3:")
)


@pytest.fixture
def perf_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for f in catalog_module.CATALOG_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.setattr(catalog_module, "CATALOG_DIR", tmp_path)
    load_catalog.cache_clear()
    yield tmp_path / "gpu-performance.yaml"
    load_catalog.cache_clear()


@pytest.mark.parametrize(
    "old, new, match",
    [
        (
            "Standard_NC4as_T4_v3: {gpu: T4, interconnect: none",
            "Standard_NC4as_T4_v3: {gpu: T4, interconnect: pcie",
            "skus.Standard_NC4as_T4_v3: interconnect 'pcie' with 1 GPU",
        ),
        ("Standard_NC4as_T4_v3: {gpu: T4,", "Standard_NC4as_T4_v3: {gpu: A10,", "board 'A10' is not a 'T4'"),
        ("    hbm_gb_per_s: 320\n", "    hbm_gb_per_s: 0\n", "gpus.T4: hbm_gb_per_s and dense"),
        (_T4_LINE, "", "no entry for Standard_NC4as_T4_v3"),
    ],
)
def test_bad_figures_fail_naming_file_and_entry(perf_file: Path, old: str, new: str, match: str) -> None:
    text = perf_file.read_text()
    assert old in text
    perf_file.write_text(text.replace(old, new, 1))
    with pytest.raises(
        ValueError, match="gpu-performance.yaml: .*" + match.replace("(", r"\(").replace(".", r"\.")
    ):
        load_catalog()
