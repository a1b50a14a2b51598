"""Derived serving figures through the real program: the sizing rows the plan prints and the figures
the manifests carry (vLLM args, KAITO's inference_config.yaml), computed by hand below.

Arithmetic used throughout (sizing.model_sizing): device memory is the CUDA total vLLM sees, per GPU or
MIG slice (config/catalog/gpu-memory.yaml: A100 80GB 79.32 GiB measured; T4 14.10 GiB and A10 21.59 GiB
derived as nvidia-smi's total - 0.9 GiB; A100 80GB MIG 3g.40gb 37.25 GiB nominal - 0.9 = 36.35 GiB);
usable = device x gpu-memory-utilization (0.90); KV budget per GPU = usable - weights / TP - 2.3 GiB
(runtime overhead, sizing.model_sizing.RUNTIME_OVERHEAD_GIB); KV bytes per token = 2 (K, V) x layers
x KV heads x head dim x 2 bytes; max-model-len = 2 x (p95 prompt + completion) rounded up to 256,
capped at the context;
max-num-seqs = floor(KV budget / KV of one (p95 prompt + completion)-token sequence), capped at 256;
replicas max = ceil(peak concurrent requests / max-num-seqs).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, planned
from tests.k8s_schemas import iter_docs, manifest_errors, requires_crds
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests, run_stack

GIB = 2**30

# Three more catalog models on two more SKUs, and a custom architecture on KAITO.
FIGURES = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:hfToken:
    secure: v1:AAAAAAAAAAAAAAAAAAAAAAAA
  aks-llm:addons: {kaito: {mode: helm}}
  # Pool maxima hold each model's maximum plus one replica of rollout surge (sizing.slots): phi3 4 + 1
  # A10s, llama70 (1 + 1) x 4 GPUs.
  aks-llm:gpuPools:
    - {name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 0, max: 5}}
    - {name: a100x4, vmSize: Standard_NC96ads_A100_v4, onDemand: {min: 0, max: 2}}
  aks-llm:models:
    - name: phi3
      model: phi-3-mini-128k-instruct
      pool: a10
      workload: {p95PromptTokens: 3000, p95CompletionTokens: 1000, peakConcurrentRequests: 20}
      schedule: {timezone: Europe/Berlin, start: "08:00", end: "18:00", minReplicas: 1}
    - name: llama70
      model: llama-3.3-70b-instruct
      pool: a100x4
      schedule: {start: "22:00", end: "06:00", days: "1-5", minReplicas: 1}
    - name: small
      runtime: kaito
      pool: a10
      custom: {hfId: acme/small-3b, parameters: 3212749824, layers: 28, attentionHeads: 24, kvHeads: 8,
               headDim: 128, contextLength: 131072}
      workload: {p95PromptTokens: 2000, p95CompletionTokens: 1000, peakConcurrentRequests: 40}
      replicas: {min: 1, max: 1}
      scaleToZero: false
"""


@cache
def figures_run() -> ProgramRun:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.figures.yaml"
        path.write_text(FIGURES)
        return run_stack(ROOT, "figures", path)[1]


def rows(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run.outputs["sizing"]}


def manifests(run: ProgramRun, kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in kubernetes_manifests(run.resources) if m["kind"] == kind}


def vllm_flags(run: ProgramRun, name: str) -> dict[str, str]:
    (container,) = manifests(run, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
    model, *args = container["args"]
    return {"model": model, **dict(zip(args[::2], args[1::2], strict=True))}


def test_phi4_mini_on_a_t4_dev() -> None:
    row = rows(planned("dev")[1])["phi4mini"]
    # weights: 3,836,021,760 params x 2 B (fp16: the T4 has no bf16) = 7,672,043,520 B = 7.145 GiB
    # budget: 14.10 GiB x 0.90 = 12.69 - 7.145 - 2.3 = 3.245 GiB (3.24)
    # KV/token: 2 x 32 x 8 x 128 x 2 = 131,072 B; max-model-len 2 x (1024 + 512) = 3,072
    # max-num-seqs: floor(3.245 GiB / (1,536 x 131,072 B = 0.1875 GiB)) = floor(17.3) = 17
    # at full context: floor(3.245 / 0.375) = 8; replicas: ceil(8 / 17) = 1
    assert (row["dtype"], row["weightsDtype"], row["gpusPerReplica"]) == ("float16", "fp16", 1)
    assert row["weightsGiB"] == 7.15 and row["kvBudgetPerGpuGiB"] == 3.24
    assert (row["kvBytesPerToken"], row["maxModelLen"], row["maxNumSeqs"]) == (131_072, 3072, 17)
    # one replica kept: nothing wakes it from zero before the queue worker exists (rules/models.py)
    assert (row["maxConcurrentAtFullContext"], row["replicasMin"], row["replicasMax"]) == (8, 1, 1)
    flags = vllm_flags(planned("dev")[1], "phi4mini")
    assert flags["--dtype"] == "float16" and flags["--max-model-len"] == "3072"
    assert flags["--max-num-seqs"] == "17" and flags["--tensor-parallel-size"] == "1"
    # the dev stack seeds phi-4-mini into Blob: the pinned vLLM streams it from there
    assert flags["--gpu-memory-utilization"] == "0.90"
    assert flags["model"] == "az://model-weights/phi4mini/c0fb9e74abda11b496b7907a9c6c9009a7a0488f"


def test_qwen_7b_on_a_mig_slice_prod() -> None:
    row = rows(planned("prod")[1])["qwen7b"]
    # weights: 7,615,616,512 x 2 B (bf16) = 15,231,233,024 B = 14.185 GiB, on one 3g.40gb slice
    # (36.35 GiB: no public -lgip figure for the A100 80GB slice, so 40e9 B = 37.25 GiB - 0.9 GiB)
    # budget: 36.35 x 0.90 = 32.715 - 14.185 - 2.3 = 16.23 GiB
    # KV/token: 2 x 28 x 4 x 128 x 2 = 57,344 B; max-model-len 2 x (1536 + 512) = 4,096
    # max-num-seqs: floor(16.23 GiB / (2,048 x 57,344 B = 0.109 GiB)) = floor(148.4) = 148
    # replicas: ceil(384 / 148) = 3 (prod's business hours pre-warm 2 of them)
    assert (row["migProfile"], row["dtype"], row["weightsGiB"]) == ("3g.40gb", "bfloat16", 14.19)
    assert (row["kvBudgetPerGpuGiB"], row["kvBytesPerToken"], row["maxModelLen"]) == (16.23, 57_344, 4096)
    assert (row["maxNumSeqs"], row["replicasMin"], row["replicasMax"]) == (148, 1, 3)
    flags = vllm_flags(planned("prod")[1], "qwen7b")
    assert flags["--max-num-seqs"] == "148" and flags["--dtype"] == "bfloat16"


def test_phi4_on_a_whole_a100_with_kaitos_node_estimate_prod() -> None:
    run = planned("prod")[1]
    row = rows(run)["phi4"]
    # weights: 14,659,507,200 x 2 B = 29,319,014,400 B = 27.305 GiB on one A100 80GB (KAITO: whole GPUs)
    # budget: 79.32 GiB x 0.90 = 71.388 - 27.305 - 2.3 = 41.78 GiB
    # KV/token: 2 x 40 x 10 x 128 x 2 = 204,800 B; max-model-len 2 x (2048 + 1024) = 6,144
    # max-num-seqs: floor(41.78 GiB / (3,072 x 204,800 B = 0.586 GiB)) = floor(71.3) = 71; full context:
    # floor(41.78 / 1.172) = 35. KAITO's own estimator keeps KAITO's 80Gi per GPU (its SKU table):
    # KAITO's estimator: 27.31 GiB x 1.02 = 27.86 GiB; (80 x 0.84 - 2.3 - 6,144 x 204,800 B) / 1.05
    # = (67.2 - 2.3 - 1.17) / 1.05 = 60.69 GiB per GPU; int(27.86 / 60.69) + 1 = 1 GPU: 1 node
    assert (row["weightsGiB"], row["kvBudgetPerGpuGiB"], row["maxModelLen"]) == (27.31, 41.78, 6144)
    assert (row["maxNumSeqs"], row["maxConcurrentAtFullContext"], row["kaitoNodesPerReplica"]) == (71, 35, 1)
    assert (row["replicasMin"], row["replicasMax"]) == (1, 3)
    config = yaml.safe_load(
        manifests(run, "ConfigMap")["phi4-inference-config"]["data"]["inference_config.yaml"]
    )
    assert config == {
        "vllm": {
            "gpu-memory-utilization": 0.9,
            "max-model-len": 6144,
            "max-num-seqs": 71,
            "dtype": "bfloat16",
        }
    }


def test_phi3_mini_128k_on_an_a10_full_attention_kv_dominates() -> None:
    run = figures_run()
    assert run.exit_code == 0
    row = rows(run)["phi3"]
    # weights: 3,821,079,552 x 2 B = 7,642,159,104 B = 7.117 GiB on one A10 (21.59 GiB CUDA total)
    # budget: 21.59 x 0.90 = 19.431 - 7.117 - 2.3 = 10.01 GiB
    # KV/token: 2 x 32 layers x 32 KV heads (no GQA) x 96 x 2 = 393,216 B
    # max-model-len: 2 x (3000 + 1000) = 8,000 -> 8,192; max-num-seqs: floor(10.01 GiB /
    # (4,000 x 393,216 B = 1.465 GiB)) = floor(6.8) = 6; full context: floor(10.01 / 3.0) = 3
    # replicas: ceil(20 / 6) = 4
    assert (row["sku"], row["dtype"], row["weightsGiB"], row["kvBudgetPerGpuGiB"]) == (
        "Standard_NV36ads_A10_v5",
        "bfloat16",
        7.12,
        10.01,
    )
    assert (row["kvBytesPerToken"], row["maxModelLen"], row["maxNumSeqs"]) == (393_216, 8192, 6)
    assert (row["maxConcurrentAtFullContext"], row["replicasMax"]) == (3, 4)
    assert vllm_flags(run, "phi3")["--max-num-seqs"] == "6"


def test_llama_70b_takes_two_of_the_four_gpus() -> None:
    row = rows(figures_run())["llama70"]
    # weights: 70,553,706,496 x 2 B = 141,107,412,992 B = 131.42 GiB: not on 1 A100 80GB;
    # TP 2 (the smallest that holds a sequence): 79.32 x 0.90 = 71.388 - 65.71 - 2.3 = 3.38 GiB per
    # GPU (with "80 GB" read as 74.51 GiB it was negative and TP 4 was needed);
    # KV/token per GPU: 2 x 80 x (8 / 2) x 128 x 2 = 163,840 B
    # max-num-seqs: floor(3.38 GiB / (1,536 x 163,840 B = 0.234 GiB)) = 14; full context (3,072
    # tokens): 7; replicas: ceil(8 / 14) = 1
    assert (row["gpusPerReplica"], row["weightsGiB"], row["kvBudgetPerGpuGiB"]) == (2, 131.42, 3.38)
    assert (row["maxNumSeqs"], row["maxConcurrentAtFullContext"], row["replicasMax"]) == (14, 7, 1)
    flags = vllm_flags(figures_run(), "llama70")
    assert flags["--tensor-parallel-size"] == "2" and flags["--max-num-seqs"] == "14"
    (container,) = manifests(figures_run(), "Deployment")["llama70"]["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_custom_architecture_on_kaito() -> None:
    run = figures_run()
    row = rows(run)["small"]
    # weights: 3,212,749,824 x 2 B = 6,425,499,648 B = 5.984 GiB on one A10 (21.59 GiB)
    # budget: 19.431 - 5.984 - 2.3 = 11.15 GiB
    # KV/token: 2 x 28 x 8 x 128 x 2 = 114,688 B; max-model-len: 2 x 3,000 = 6,000 -> 6,144
    # max-num-seqs: floor(11.15 GiB / (3,000 x 114,688 B = 0.320 GiB)) = floor(34.8) = 34; full
    # context: floor(11.15 / 0.656) = 16
    # no KAITO preset file size for a custom model: no KAITO node estimate
    assert (row["model"], row["runtime"], row["weightsGiB"], row["kvBudgetPerGpuGiB"]) == (
        "acme/small-3b",
        "kaito",
        5.98,
        11.15,
    )
    assert (row["maxModelLen"], row["maxNumSeqs"], row["maxConcurrentAtFullContext"]) == (6144, 34, 16)
    assert row["kaitoNodesPerReplica"] is None
    # KAITO takes a Hugging Face id as preset name; a fixed single replica is a Workspace
    workspace = manifests(run, "Workspace")["small-ws"]
    assert workspace["inference"]["preset"] == {"name": "acme/small-3b"}
    config = yaml.safe_load(
        manifests(run, "ConfigMap")["small-inference-config"]["data"]["inference_config.yaml"]
    )
    assert config["vllm"]["max-num-seqs"] == 34 and config["vllm"]["max-model-len"] == 6144


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_sizing_row_is_what_the_manifests_carry(stack: str) -> None:
    run = planned(stack)[1]
    for row in run.outputs["sizing"]:
        name = row["name"]
        if row["runtime"] == "vllm":
            flags = vllm_flags(run, name)
            assert int(flags["--max-model-len"]) == row["maxModelLen"]
            assert int(flags["--max-num-seqs"]) == row["maxNumSeqs"]
            assert int(flags["--tensor-parallel-size"]) == row["gpusPerReplica"]
            assert flags["--dtype"] == row["dtype"]
        scaled = manifests(run, "ScaledObject")[name]["spec"]
        assert scaled["maxReplicaCount"] == row["replicasMax"]
        assert scaled["minReplicaCount"] == row["replicasMin"]


@requires_crds
def test_every_manifest_of_the_figures_stack_validates() -> None:
    docs = kubernetes_manifests(figures_run().resources)
    failures = {name: errs for name, doc in iter_docs(docs) if (errs := manifest_errors(doc))}
    assert not failures, failures
