"""KAITO models that need several nodes per replica (KAITO's estimator, pipeline parallel across the
nodes), and the quota of the nodes KAITO provisions itself, through the real program."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from config.catalog import load_catalog
from sizing.memory import ModelArch
from sizing.model_sizing import size_model
from tests.conftest import run_with
from tests.k8s_schemas import manifest_errors, requires_crds
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests

# pitfalls.md item 2 / kaito.md: llama-3.3-70b on Standard_NC24ads_A100_v4 (1 x A100 80GB) -> 3 nodes
LLAMA = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:hfToken:
    secure: v1:AAAAAAAAAAAAAAAAAAAAAAAA
  aks-llm:addons: {kaito: {mode: helm}}
  aks-llm:gpuPools:
    - {name: a100, vmSize: Standard_NC24ads_A100_v4, onDemand: {min: 1, max: 2}}
  aks-llm:models:
    - {name: llama70, model: llama-3.3-70b-instruct, runtime: RUNTIME, pool: a100,
       replicas: {min: 1, max: 2}, scaleToZero: false}
"""
A100_FAMILY = "standardNCADSA100v4Family"


def _objects(run: ProgramRun, kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in kubernetes_manifests(run.resources) if m["kind"] == kind}


@pytest.fixture(scope="module")
def kaito_run(tmp_path_factory: pytest.TempPathFactory) -> ProgramRun:
    run = run_with(tmp_path_factory.mktemp("llama"), LLAMA.replace("RUNTIME", "kaito"))
    assert run.exit_code == 0
    return run


def test_llama_70b_on_one_gpu_nodes_is_accepted_on_kaitos_three_nodes(kaito_run: ProgramRun) -> None:
    (row,) = kaito_run.outputs["sizing"]
    assert row["fits"] is True and row["reason"] is None
    assert (row["kaitoNodesPerReplica"], row["pipelineParallel"], row["gpusPerReplica"]) == (3, 3, 1)
    # tensor parallel stays within a node (1 GPU); the nodes are pipeline stages
    assert row["parallelism"] == "pp 3 (nodes) x tp 1 (GPUs per node)"
    # 131.42 GiB of weights over 3 GPUs: 43.81 GiB each; 79.32 GiB CUDA total x 0.9 = 71.388 - 43.81
    # - 2.3 = 25.28 GiB left for KV per GPU
    assert row["kvBudgetPerGpuGiB"] == 25.28 and row["maxNumSeqs"] >= 1
    assert any(
        "llama70 (KAITO): 3 nodes per replica, pipeline-parallel" in n for n in kaito_run.outputs["notes"]
    )


def test_kaito_config_map_claims_no_tensor_parallelism_beyond_a_node(kaito_run: ProgramRun) -> None:
    config_map = _objects(kaito_run, "ConfigMap")["llama70-inference-config"]
    vllm = yaml.safe_load(config_map["data"]["inference_config.yaml"])["vllm"]
    assert vllm["max-num-seqs"] >= 1
    assert vllm.get("tensor-parallel-size", 1) <= load_catalog().skus["Standard_NC24ads_A100_v4"].gpu_count


def test_quota_cost_and_node_limit_count_three_nodes_per_replica(kaito_run: ProgramRun) -> None:
    a100 = {r["family"]: r for r in kaito_run.outputs["quota"]}[A100_FAMILY]
    # the pool (2 + 1 surge) x 24 = 72, plus KAITO's 3 nodes x 2 replicas x 24 = 144
    assert a100["needVcpus"] == 72 + 144
    assert "kaito llama70: 6 x 24 vCPUs (3 nodes per replica x 2 replicas)" in a100["pools"]
    cost = kaito_run.outputs["cost"]
    (model,) = cost["models"]
    assert model["nodesPerReplica"] == 3
    kaito_row = next(r for r in cost["rows"] if r["kind"] == "kaito")
    assert (kaito_row["minNodes"], kaito_row["maxNodes"]) == (3, 6)
    assert _objects(kaito_run, "InferenceSet")["llama70"]["spec"]["nodeCountLimit"] == 6


def test_multi_node_replica_pods_reach_each_other_on_every_port(kaito_run: ProgramRun) -> None:
    spec = _objects(kaito_run, "NetworkPolicy")["llama70"]["spec"]
    pods = {"inferenceset.kaito.sh/created-by": "llama70"}
    assert spec["podSelector"] == {"matchLabels": pods}
    serving, peers = spec["ingress"]
    assert serving["ports"] == [{"port": 5000, "protocol": "TCP"}]
    # Ray and pipeline-parallel traffic between the replica's pods: all ports, from the model's pods only
    assert peers == {"from": [{"podSelector": {"matchLabels": pods}}]}


@requires_crds
def test_multi_node_manifests_validate(kaito_run: ProgramRun) -> None:
    for manifest in kubernetes_manifests(kaito_run.resources):
        assert not manifest_errors(manifest), (manifest["kind"], manifest["metadata"]["name"])


def test_single_node_kaito_model_admits_only_the_serving_port(tmp_path: Path) -> None:
    stack = LLAMA.replace("RUNTIME", "kaito").replace("llama-3.3-70b-instruct", "phi-4-mini-instruct")
    run = run_with(tmp_path, stack)
    assert run.exit_code == 0
    (rule,) = _objects(run, "NetworkPolicy")["llama70"]["spec"]["ingress"]
    assert rule["ports"] == [{"port": 5000, "protocol": "TCP"}]


def test_the_same_model_under_vllm_on_one_node_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(tmp_path, LLAMA.replace("RUNTIME", "vllm"))
    assert run.exit_code == 2 and run.resources == []
    assert (
        "aks-llm:models[0]: does not fit on pool a100 (Standard_NC24ads_A100_v4)" in capsys.readouterr().err
    )


def test_kaito_model_its_estimator_cannot_place_is_refused_with_its_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a 131,072-token context on one A10 (24 GB): KV of one sequence (40 GiB) exceeds the GPU, so
    # KAITO's estimator errors whatever the node count
    stack = (
        LLAMA.replace("RUNTIME", "kaito")
        .replace("Standard_NC24ads_A100_v4", "Standard_NV36ads_A10_v5")
        .replace("scaleToZero: false}", "scaleToZero: false, workload: {maxModelLen: 131072}}")
    )
    run = run_with(tmp_path, stack)
    err = capsys.readouterr().err
    assert run.exit_code == 2, err
    assert (
        "aks-llm:models[0]: KAITO cannot place it on pool a100 (Standard_NV36ads_A10_v5): KAITO: GPU" in err
    )
    assert "GiB" in err


def test_pipeline_parallel_sizing_splits_weights_and_layers() -> None:
    catalog = load_catalog()
    spec = catalog.model("llama-3.3-70b-instruct")
    sku = catalog.skus["Standard_NC48ads_A100_v4"]  # 2 GPUs per node
    r = size_model(
        ModelArch.from_spec(spec),
        sku,
        model_name=spec.id,
        weights_dtype="bf16",
        max_model_len=8192,
        pipeline_parallel=2,
    )
    # tp 2 within a node x pp 2 nodes: weights / 4 GPUs; 40 of 80 layers, 4 of 8 KV heads per GPU
    assert (r.fits, r.gpus_per_replica, r.pipeline_parallel, r.weights_per_gpu_gib) == (True, 2, 2, 32.85)
    assert r.kv_bytes_per_token_per_gpu == 2 * 40 * 4 * 128 * 2
    with pytest.raises(ValueError):
        size_model(
            ModelArch.from_spec(spec),
            sku,
            model_name=spec.id,
            weights_dtype="bf16",
            max_model_len=8192,
            pipeline_parallel=0,
        )


def test_quota_that_covers_the_pools_but_not_kaito_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = LLAMA.replace("RUNTIME", "kaito") + f"  aks-llm:quota: {{families: {{{A100_FAMILY}: 72}}}}\n"
    run = run_with(tmp_path, stack)
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert (
        f"aks-llm:quota.families.{A100_FAMILY}: the pools and the nodes KAITO provisions need 216 vCPUs"
        in err
    )
    assert "kaito llama70: 6 x 24 vCPUs (3 nodes per replica x 2 replicas)" in err
    assert "or replicas.max of KAITO model(s) llama70" in err
    ok = stack.replace(f"{A100_FAMILY}: 72", f"{A100_FAMILY}: 216")
    assert run_with(tmp_path, ok).exit_code == 0
