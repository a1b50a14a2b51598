"""Sizing as the program applies it: rows in the outputs, refusals before any resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import planned, run_with

BASE = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools:
    - {name: gpu, vmSize: VMSIZE, purpose: batch, onDemand: {min: 0, max: 2}}  # 1 replica + 1 rollout surge
  aks-llm:models:
    - {name: m, model: MODEL, runtime: vllm, pool: gpu, replicas: {min: 1}, scaleToZero: false}
"""


def test_dev_sizing_row_is_derived_from_the_architecture() -> None:
    (row,) = planned("dev")[1].outputs["sizing"]
    assert row["model"] == "phi-4-mini-instruct" and row["sku"] == "Standard_NC4as_T4_v3"
    assert row["dtype"] == "float16"  # T4 has no bf16
    assert row["kvBytesPerToken"] == 131072  # 2 x 32 layers x 8 KV heads x 128 x 2 bytes
    assert row["maxModelLen"] == 3072  # 2 x (1024 + 512) rounded up to 256
    assert row["fits"] is True and row["gpusPerReplica"] == 1


def test_prod_vllm_model_is_sized_on_its_mig_slice() -> None:
    rows = {r["name"]: r for r in planned("prod")[1].outputs["sizing"]}
    assert rows["qwen7b"]["migProfile"] == "3g.40gb"
    # no public -lgip figure for the A100 80GB 3g.40gb slice: 40e9 B (37.25 GiB) - 0.9 GiB margin
    assert rows["qwen7b"]["deviceMemoryGiB"] == pytest.approx(40e9 / 2**30 - 0.9, abs=0.01)
    assert rows["qwen7b"]["deviceMemoryBasis"] == "derived"
    assert rows["phi4"]["migProfile"] is None and rows["phi4"]["kaitoNodesPerReplica"] == 1


def test_model_that_cannot_fit_is_refused_with_numbers_and_alternatives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(
        tmp_path, BASE.replace("VMSIZE", "Standard_NC4as_T4_v3").replace("MODEL", "llama-3.3-70b-instruct")
    )
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert "aks-llm:models[0]: does not fit on pool gpu (Standard_NC4as_T4_v3)" in err
    assert "GiB" in err and "Standard_NC96ads_A100_v4" in err


def test_model_that_fits_is_accepted(tmp_path: Path) -> None:
    run = run_with(
        tmp_path, BASE.replace("VMSIZE", "Standard_NC24ads_A100_v4").replace("MODEL", "qwen2.5-7b-instruct")
    )
    assert run.exit_code == 0
    (row,) = run.outputs["sizing"]
    assert row["fits"] and row["dtype"] == "bfloat16"
