"""What each KAITO release can do, as data: the one place that knows the difference between the
managed AKS add-on (KAITO 0.6.0) and the upstream chart the program pins (0.12.0).

Pure (no Pulumi): the rules, the sizing and the KAITO components all ask ``kaito_capabilities``.

Sources (kaito-project/kaito):
- v0.6.0 (tag commit 461f75cd): SKUs ``pkg/sku/azure_sku_handler.go`` lines 18-50; presets
  ``presets/workspace/models/supported_models.yaml`` and each preset's ``GetInferenceParameters``
  (``presets/workspace/models/<family>/model.go``: ``GPUCountRequirement``,
  ``TotalGPUMemoryRequirement``, ``PerGPUMemoryRequirement``); node count: the Workspace's own
  ``resource.count`` (default 1, ``api/v1beta1/workspace_types.go`` line 29), checked by
  ``api/v1beta1/workspace_validation.go`` lines 325-385 (count x GPUs >= GPUCountRequirement,
  per-GPU memory >= PerGPUMemoryRequirement, count x SKU GPU memory >= TotalGPUMemoryRequirement).
  There is no ``pkg/workspace/estimator`` and no InferenceSet CRD at v0.6.0; ``inference.preset.name``
  must be a registered preset (``workspace_validation.go`` lines 446-451: no Hugging Face ids), and
  ``presetOptions.modelAccessSecret`` is required for ``downloadAtRuntime`` presets and refused for
  the others (lines 471-476).
- v0.12.0: InferenceSet on by default (``enableInferenceSetController``, since v0.11.0), the node
  estimator ``pkg/workspace/estimator/nodesestimator/estimator.go`` (``sizing/kaito_estimator.py``),
  Ampere-or-newer SKUs only (the catalog's ``kaito_supported`` flags), any Hugging Face id as preset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from config import versions
from facts.aks_versions import addon_version

# The AKS AI toolchain operator add-on "currently supports KAITO version 0.6.0"
# (MicrosoftDocs/azure-aks-docs articles/aks/ai-toolchain-operator.md line 31, @fb060abe6): the
# release the add-on runs on every minor a cluster can be created on today (1.34-1.37; the AKS
# calendar, config/catalog/aks-versions.yaml, says which minors list it and which assume it).
MANAGED_KAITO_VERSION = "0.6.0"
# The chart release the program pins (versions.yaml). Its capabilities below were read at v0.12.0;
# tests/test_kaito_versions.py fails when the pin moves, so they are re-read with it.
CHART_KAITO_VERSION = versions.chart("kaito-workspace").version


def managed_kaito_version(kubernetes_version: str) -> str:
    """The KAITO release the managed add-on runs on a cluster of ``kubernetes_version``: the AKS
    calendar's ai-toolchain-operator version for that minor (config/catalog/aks-versions.yaml: 0.4.5 on
    1.33, 0.6.0 from 1.34, assumed 0.6.0 on 1.35-1.37 where the docs' table lists none); "unknown"
    when the calendar has no figure (refused by rules.kaito.kaito_release_known)."""
    entry = addon_version(kubernetes_version, "ai-toolchain-operator")
    return entry.version if entry is not None else "unknown"


@dataclass(frozen=True)
class PresetNeeds:
    """A preset's inference requirements at one KAITO release (GiB as KAITO counts them)."""

    gpu_count: int
    total_gpu_memory_gib: float
    per_gpu_memory_gib: float
    download_at_runtime: bool = False  # weights from Hugging Face at start: needs modelAccessSecret


@dataclass(frozen=True)
class SkuGpus:
    """KAITO's SKU table row: GPUs and their total memory (``GPUMemGB``, counted as GiB)."""

    gpu_count: int
    gpu_memory_gib: int


@dataclass(frozen=True)
class KaitoCapabilities:
    version: str
    inference_set: bool  # the scalable InferenceSet CRD exists (and is on)
    estimator: bool  # KAITO estimates the nodes per replica itself (else resource.count)
    skus: Mapping[str, SkuGpus] | None  # None: the catalog's kaito_supported flags (v0.12 table)
    presets: Mapping[str, PresetNeeds] | None  # None: any preset or Hugging Face id
    disable_benchmark_annotation: bool  # kaito.sh/disable-benchmark is read
    # Every replica's pods come from a StatefulSet (pod-index labels; since v0.10.0, kaito.md). 0.6.0
    # runs a one-node Workspace as a Deployment and only a multi-node one as a StatefulSet
    # (pkg/workspace/inference/preset_inferences.go:167-200 @v0.6.0).
    statefulset_pods: bool = True


_GI = re.compile(r"^(\d+(?:\.\d+)?)Gi$")

# pkg/sku/azure_sku_handler.go @v0.6.0 lines 18-50 (NVIDIA rows; AMD/M60 rows left out: no CUDA
# 8.0/7.x path in this program's catalog).
_SKUS_0_6_0 = {
    "Standard_NC6s_v3": SkuGpus(1, 16),
    "Standard_NC12s_v3": SkuGpus(2, 32),
    "Standard_NC24s_v3": SkuGpus(4, 64),
    "Standard_NC24rs_v3": SkuGpus(4, 64),
    "Standard_NC4as_T4_v3": SkuGpus(1, 16),
    "Standard_NC8as_T4_v3": SkuGpus(1, 16),
    "Standard_NC16as_T4_v3": SkuGpus(1, 16),
    "Standard_NC64as_T4_v3": SkuGpus(4, 64),
    "Standard_NV36ads_A10_v5": SkuGpus(1, 24),
    "Standard_NV72ads_A10_v5": SkuGpus(2, 48),
    "Standard_NC24ads_A100_v4": SkuGpus(1, 80),
    "Standard_NC48ads_A100_v4": SkuGpus(2, 160),
    "Standard_NC96ads_A100_v4": SkuGpus(4, 320),
    "Standard_ND96asr_A100_v4": SkuGpus(8, 320),
    "Standard_ND96amsr_A100_v4": SkuGpus(8, 640),
    "Standard_NC40ads_H100_v5": SkuGpus(1, 94),
    "Standard_NC80adis_H100_v5": SkuGpus(2, 188),
    "Standard_ND96isr_H100_v5": SkuGpus(8, 640),
    "Standard_NCC40ads_H100_v5": SkuGpus(1, 94),
    "Standard_ND96isr_H200_v5": SkuGpus(8, 1128),
}


def _needs(count: str, total: str, per_gpu: str, download: bool = False) -> PresetNeeds:
    def gib(text: str) -> float:
        match = _GI.match(text)
        assert match, text
        return float(match.group(1))

    return PresetNeeds(int(count), gib(total), gib(per_gpu), download)


# Inference parameters of the text-generation presets in supported_models.yaml @v0.6.0 (all but
# base and phi-3-medium-128k-instruct; there is no gemma-3, gpt-oss or qwen2.5-instruct preset at
# v0.6.0). downloadAtRuntime: the llama and deepseek-r1/v3 entries of supported_models.yaml.
_PRESETS_0_6_0 = {
    "llama-3.1-8b-instruct": _needs("1", "22Gi", "0Gi", download=True),  # llama3/model.go 66-68
    "llama-3.3-70b-instruct": _needs("4", "320Gi", "80Gi", download=True),  # llama3/model.go 110-112
    "deepseek-r1-0528": _needs("1", "960Gi", "0Gi", download=True),  # deepseek/model.go 177-179
    "deepseek-v3-0324": _needs("1", "960Gi", "0Gi", download=True),  # deepseek/model.go 216-218
    "deepseek-r1-distill-llama-8b": _needs("1", "16.5Gi", "0Gi"),  # deepseek/model.go 103-105
    "deepseek-r1-distill-qwen-14b": _needs("1", "25.7Gi", "0Gi"),  # deepseek/model.go 140-142
    "falcon-7b": _needs("1", "14Gi", "0Gi"),  # falcon/model.go 74-76
    "falcon-7b-instruct": _needs("1", "14Gi", "0Gi"),  # falcon/model.go 133-135
    "falcon-40b": _needs("2", "90Gi", "0Gi"),  # falcon/model.go 177-179
    "falcon-40b-instruct": _needs("2", "90Gi", "0Gi"),  # falcon/model.go 228-230
    "mistral-7b": _needs("1", "14Gi", "0Gi"),  # mistral/model.go 65-67
    "mistral-7b-instruct": _needs("1", "16Gi", "0Gi"),  # mistral/model.go 118-120
    "phi-2": _needs("1", "12Gi", "0Gi"),  # phi2/model.go 56-58
    "phi-3-mini-4k-instruct": _needs("1", "9Gi", "0Gi"),  # phi3/model.go 77-79
    "phi-3-mini-128k-instruct": _needs("1", "9Gi", "0Gi"),  # phi3/model.go 126-128
    "phi-3.5-mini-instruct": _needs("1", "8Gi", "0Gi"),  # phi3/model.go 173-175
    "phi-3-medium-4k-instruct": _needs("1", "28Gi", "0Gi"),  # phi3/model.go 222-224
    "phi-4": _needs("1", "40Gi", "0Gi"),  # phi4/model.go 65-67
    "phi-4-mini-instruct": _needs("1", "8Gi", "0Gi"),  # phi4/model.go 114-116
    "qwen2.5-coder-7b-instruct": _needs("1", "24Gi", "0Gi"),  # qwen/model.go 64-66
    "qwen2.5-coder-32b-instruct": _needs("1", "70Gi", "0Gi"),  # qwen/model.go 117-119
}

_RELEASES = {
    "0.6.0": KaitoCapabilities(
        version="0.6.0",
        inference_set=False,
        estimator=False,
        skus=_SKUS_0_6_0,
        presets=_PRESETS_0_6_0,
        disable_benchmark_annotation=False,
        statefulset_pods=False,
    ),
    CHART_KAITO_VERSION: KaitoCapabilities(
        version=CHART_KAITO_VERSION,
        inference_set=True,
        estimator=True,
        skus=None,
        presets=None,
        disable_benchmark_annotation=True,
    ),
}

KNOWN_KAITO_VERSIONS = tuple(_RELEASES)

# The vLLM each KAITO release's preset image runs (KAITO pins it; the program's own vLLM pin does not
# apply to KAITO's pods): kaito-project/kaito presets/workspace/dependencies/requirements.txt, line 4 at
# v0.12.0 (commit 0894eb2b: vllm==0.25.1, torch==2.11.0) and at v0.6.0 (commit 461f75cd: vllm==0.9.0,
# torch==2.7.0). What the program assumes of KAITO's server (port 5000 behind Service port 80, the
# inference_config.yaml keys, the vllm:num_requests_* gauges it scales on) is read at these releases,
# not run by the contract tier, which runs the program's own pin only.
KAITO_VLLM = {MANAGED_KAITO_VERSION: "0.9.0", CHART_KAITO_VERSION: "0.25.1"}


class UnknownKaitoVersion(KeyError):
    """A KAITO release this program has no capabilities for."""


def kaito_capabilities(version: str) -> KaitoCapabilities:
    """The capabilities of KAITO ``version`` (0.6.0, or the pinned chart's); UnknownKaitoVersion otherwise."""
    try:
        return _RELEASES[version.removeprefix("v")]
    except KeyError:
        raise UnknownKaitoVersion(version) from None


def kaito_version_of(mode: str, chart_version: str, kubernetes_version: str) -> str:
    """The KAITO release a stack runs: the chart's in helm mode, the add-on's on the cluster's minor
    in managed mode."""
    return chart_version if mode == "helm" else managed_kaito_version(kubernetes_version)


def preset_nodes(caps: KaitoCapabilities, preset: str, instance_type: str) -> tuple[int | None, str | None]:
    """``resource.count`` a release without an estimator needs for ``preset`` on ``instance_type``:
    the fewest nodes that pass its validation (workspace_validation.go @v0.6.0 lines 325-385), or
    None with the reason when no count can (unknown SKU or preset, per-GPU memory too small)."""
    if caps.skus is None or caps.presets is None:
        raise ValueError(f"KAITO {caps.version} estimates nodes itself")
    sku = caps.skus.get(instance_type)
    if sku is None:
        return None, f"KAITO {caps.version} does not accept instance type {instance_type}"
    needs = caps.presets.get(preset)
    if needs is None:
        return None, f"KAITO {caps.version} has no preset {preset}"
    per_gpu = sku.gpu_memory_gib // sku.gpu_count  # integer GiB, as the Go code divides
    if per_gpu < needs.per_gpu_memory_gib:
        return None, (
            f"preset {preset} needs {needs.per_gpu_memory_gib:g} GiB per GPU at KAITO {caps.version}; "
            f"{instance_type} has {per_gpu} GiB per GPU"
        )
    nodes = max(
        1,
        math.ceil(needs.gpu_count / sku.gpu_count),
        math.ceil(needs.total_gpu_memory_gib / sku.gpu_memory_gib),
    )
    return nodes, None
