"""Derived serving figures through the real program: the sizing rows the plan prints and the figures
the manifests carry (vLLM args, KAITO's inference_config.yaml), computed by hand below.

Arithmetic used throughout (sizing.model_sizing): device memory is Microsoft's decimal GB;
usable = device x gpu-memory-utilization (0.90); KV budget per GPU = usable - weights / TP - 2.3 GiB
(runtime overhead, 2,469,606,195.2 B); KV bytes per token = 2 (K, V) x layers x KV heads x head dim
x 2 bytes; max-model-len = 2 x (p95 prompt + completion) rounded up to 256, capped at the context;
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
  aks-llm:gpuPools:
    - {name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 0, max: 2}}
    - {name: a100x4, vmSize: Standard_NC96ads_A100_v4, onDemand: {min: 0, max: 1}}
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
    args = container["args"]
    return dict(zip(args[::2], args[1::2], strict=True))


def test_phi4_mini_on_a_t4_dev() -> None:
    row = rows(planned("dev")[1])["phi4mini"]
    # weights: 3,836,021,760 params x 2 B (fp16: the T4 has no bf16) = 7,672,043,520 B = 7.15 GiB
    # budget: 16e9 x 0.90 - 7,672,043,520 - 2,469,606,195.2 = 4,258,350,284.8 B = 3.97 GiB
    # KV/token: 2 x 32 x 8 x 128 x 2 = 131,072 B; max-model-len 2 x (1024 + 512) = 3,072
    # max-num-seqs: floor(4,258,350,284.8 / (1,536 x 131,072)) = floor(21.2) = 21
    # at full context: floor(4,258,350,284.8 / (3,072 x 131,072)) = 10; replicas: ceil(8 / 21) = 1
    assert (row["dtype"], row["weightsDtype"], row["gpusPerReplica"]) == ("float16", "fp16", 1)
    assert row["weightsGiB"] == 7.15 and row["kvBudgetPerGpuGiB"] == 3.97
    assert (row["kvBytesPerToken"], row["maxModelLen"], row["maxNumSeqs"]) == (131_072, 3072, 21)
    assert (row["maxConcurrentAtFullContext"], row["replicasMin"], row["replicasMax"]) == (10, 0, 1)
    flags = vllm_flags(planned("dev")[1], "phi4mini")
    assert flags["--dtype"] == "float16" and flags["--max-model-len"] == "3072"
    assert flags["--max-num-seqs"] == "21" and flags["--tensor-parallel-size"] == "1"
    assert flags["--gpu-memory-utilization"] == "0.90" and flags["--model"] == "microsoft/Phi-4-mini-instruct"


def test_qwen_7b_on_a_mig_slice_prod() -> None:
    row = rows(planned("prod")[1])["qwen7b"]
    # weights: 7,615,616,512 x 2 B (bf16) = 15,231,233,024 B = 14.19 GiB, on one 3g.40gb slice (40e9 B)
    # budget: 40e9 x 0.90 - 15,231,233,024 - 2,469,606,195.2 = 18,299,160,780.8 B = 17.04 GiB
    # KV/token: 2 x 28 x 4 x 128 x 2 = 57,344 B; max-model-len 2 x (1536 + 512) = 4,096
    # max-num-seqs: floor(18,299,160,780.8 / (2,048 x 57,344)) = floor(155.8) = 155
    # replicas: ceil(384 / 155) = 3 (prod's business hours pre-warm 2 of them)
    assert (row["migProfile"], row["dtype"], row["weightsGiB"]) == ("3g.40gb", "bfloat16", 14.19)
    assert (row["kvBudgetPerGpuGiB"], row["kvBytesPerToken"], row["maxModelLen"]) == (17.04, 57_344, 4096)
    assert (row["maxNumSeqs"], row["replicasMin"], row["replicasMax"]) == (155, 1, 3)
    flags = vllm_flags(planned("prod")[1], "qwen7b")
    assert flags["--max-num-seqs"] == "155" and flags["--dtype"] == "bfloat16"


def test_phi4_on_a_whole_a100_with_kaitos_node_estimate_prod() -> None:
    run = planned("prod")[1]
    row = rows(run)["phi4"]
    # weights: 14,659,507,200 x 2 B = 29,319,014,400 B = 27.31 GiB on one 80 GB A100 (KAITO: whole GPUs)
    # budget: 80e9 x 0.90 - 29,319,014,400 - 2,469,606,195.2 = 40,211,379,404.8 B = 37.45 GiB
    # KV/token: 2 x 40 x 10 x 128 x 2 = 204,800 B; max-model-len 2 x (2048 + 1024) = 6,144
    # max-num-seqs: floor(40,211,379,404.8 / (3,072 x 204,800)) = floor(63.9) = 63; full context: 31
    # KAITO's estimator: 27.31 GiB x 1.02 = 27.86 GiB; (80 x 0.84 - 2.3 - 6,144 x 204,800 B) / 1.05
    # = (67.2 - 2.3 - 1.17) / 1.05 = 60.69 GiB per GPU; int(27.86 / 60.69) + 1 = 1 GPU: 1 node
    assert (row["weightsGiB"], row["kvBudgetPerGpuGiB"], row["maxModelLen"]) == (27.31, 37.45, 6144)
    assert (row["maxNumSeqs"], row["maxConcurrentAtFullContext"], row["kaitoNodesPerReplica"]) == (63, 31, 1)
    assert (row["replicasMin"], row["replicasMax"]) == (1, 3)
    config = yaml.safe_load(
        manifests(run, "ConfigMap")["phi4-inference-config"]["data"]["inference_config.yaml"]
    )
    assert config == {
        "vllm": {
            "gpu-memory-utilization": 0.9,
            "max-model-len": 6144,
            "max-num-seqs": 63,
            "dtype": "bfloat16",
        }
    }


def test_phi3_mini_128k_on_an_a10_full_attention_kv_dominates() -> None:
    run = figures_run()
    assert run.exit_code == 0
    row = rows(run)["phi3"]
    # weights: 3,821,079,552 x 2 B = 7,642,159,104 B = 7.12 GiB on one A10 (24 GB)
    # budget: 24e9 x 0.90 - 7,642,159,104 - 2,469,606,195.2 = 11,488,234,700.8 B = 10.70 GiB
    # KV/token: 2 x 32 layers x 32 KV heads (no GQA) x 96 x 2 = 393,216 B
    # max-model-len: 2 x (3000 + 1000) = 8,000 -> 8,192; max-num-seqs: floor(11,488,234,700.8 /
    # (4,000 x 393,216)) = floor(7.3) = 7; full context: floor(.../(8,192 x 393,216)) = 3
    # replicas: ceil(20 / 7) = 3
    assert (row["sku"], row["dtype"], row["weightsGiB"], row["kvBudgetPerGpuGiB"]) == (
        "Standard_NV36ads_A10_v5",
        "bfloat16",
        7.12,
        10.70,
    )
    assert (row["kvBytesPerToken"], row["maxModelLen"], row["maxNumSeqs"]) == (393_216, 8192, 7)
    assert (row["maxConcurrentAtFullContext"], row["replicasMax"]) == (3, 3)
    assert vllm_flags(run, "phi3")["--max-num-seqs"] == "7"


def test_llama_70b_takes_four_gpus_and_the_batch_cap() -> None:
    row = rows(figures_run())["llama70"]
    # weights: 70,553,706,496 x 2 B = 141,107,412,992 B = 131.42 GiB: not on 1 or 2 80 GB A100s;
    # TP 4 (divides 64 heads): 80e9 x 0.90 - 141,107,412,992 / 4 - 2,469,606,195.2
    # = 34,253,540,556.8 B = 31.90 GiB per GPU; KV/token per GPU: 2 x 80 x (8 / 4) x 128 x 2 = 81,920 B
    # max-num-seqs: floor(34,253,540,556.8 / (1,536 x 81,920)) = 272 -> capped at 256; full context
    # (3,072 tokens): 136; replicas: ceil(8 / 256) = 1
    assert (row["gpusPerReplica"], row["weightsGiB"], row["kvBudgetPerGpuGiB"]) == (4, 131.42, 31.90)
    assert (row["maxNumSeqs"], row["maxConcurrentAtFullContext"], row["replicasMax"]) == (256, 136, 1)
    flags = vllm_flags(figures_run(), "llama70")
    assert flags["--tensor-parallel-size"] == "4" and flags["--max-num-seqs"] == "256"
    (container,) = manifests(figures_run(), "Deployment")["llama70"]["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "4"


def test_custom_architecture_on_kaito() -> None:
    run = figures_run()
    row = rows(run)["small"]
    # weights: 3,212,749,824 x 2 B = 6,425,499,648 B = 5.98 GiB on one A10
    # budget: 21.6e9 - 6,425,499,648 - 2,469,606,195.2 = 12,704,894,156.8 B = 11.83 GiB
    # KV/token: 2 x 28 x 8 x 128 x 2 = 114,688 B; max-model-len: 2 x 3,000 = 6,000 -> 6,144
    # max-num-seqs: floor(12,704,894,156.8 / (3,000 x 114,688)) = floor(36.9) = 36; full context: 18
    # no KAITO preset file size for a custom model: no KAITO node estimate
    assert (row["model"], row["runtime"], row["weightsGiB"], row["kvBudgetPerGpuGiB"]) == (
        "acme/small-3b",
        "kaito",
        5.98,
        11.83,
    )
    assert (row["maxModelLen"], row["maxNumSeqs"], row["maxConcurrentAtFullContext"]) == (6144, 36, 18)
    assert row["kaitoNodesPerReplica"] is None
    # KAITO takes a Hugging Face id as preset name; a fixed single replica is a Workspace
    workspace = manifests(run, "Workspace")["small-ws"]
    assert workspace["inference"]["preset"] == {"name": "acme/small-3b"}
    config = yaml.safe_load(
        manifests(run, "ConfigMap")["small-inference-config"]["data"]["inference_config.yaml"]
    )
    assert config["vllm"]["max-num-seqs"] == 36 and config["vllm"]["max-model-len"] == 6144


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
