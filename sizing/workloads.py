"""What each model's inference workload is made of, derived from its ``ModelPlan`` (pure, no Pulumi).

The model components (``components/vllm_model.py``, ``components/kaito_model.py``), the rules and the
plan read these functions, so a figure in the plan is the figure in the manifests. Assumptions that
are not facts about the model or the GPU are named constants with their reasoning beside them. The
container's arguments, environment and preStop command, and KAITO's inference config, are rendered from
these figures in ``renderers/vllm.py`` and ``renderers/kaito.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from config import versions
from config.schema import ModelConfig
from facts.cold_start import WeightsPath
from facts.platform import LABEL_OPERATOR_OPERANDS
from sizing import cold_start as cs
from sizing import drain
from sizing.deployments import ModelPlan
from sizing.node_selection import PoolScheduling

# --- images, ports, names ------------------------------------------------------------------------

# vLLM's OpenAI-compatible server, pinned by tag and digest (never :latest). The digest is the one
# public repositories pin for this tag (seen identically in several, e.g. "verified releases" lists);
# it could not be checked against Docker Hub from here: `docker buildx imagetools inspect
# vllm/vllm-openai:v0.11.0` shows it. A digest pin also satisfies Checkov CKV_K8S_43.
VLLM_VERSION = versions.image("vllm").version
VLLM_DIGEST = versions.image("vllm").digest
VLLM_IMAGE = versions.image("vllm").reference
VLLM_PORT = 8000  # vLLM serves the API, /health and /metrics here
KAITO_PORT = 5000  # KAITO's inference pods listen here (its own Service maps 80 -> 5000)
SERVICE_PORT = 80  # what callers use, for both runtimes

MODEL_LABEL = "aks-llm/model"  # on every pod of a vLLM model: Service, PDB, NetworkPolicy, scraping
RUNTIME_LABEL = "aks-llm/runtime"
# KAITO provisions its own GPU nodes and labels them with resource.labelSelector; these keys are
# KAITO's alone: no agent pool carries them (so KAITO never adopts a pool's nodes) and no vLLM
# workload selects them (so vLLM never lands on KAITO's nodes, which carry the same sku=gpu taint).
KAITO_POOL_LABEL = "aks-llm/kaito-pool"
KAITO_WORKLOAD_LABEL = "aks-llm/kaito-workload"
# What KAITO puts on the pods (kaito-project/kaito pkg/workspace/manifests, v0.12): every inference pod
# carries kaito.sh/workspace=<workspace>; an InferenceSet's pods also inferenceset.kaito.sh/created-by.
KAITO_WORKSPACE_POD_LABEL = "kaito.sh/workspace"
KAITO_INFERENCESET_POD_LABEL = "inferenceset.kaito.sh/created-by"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"  # StatefulSet pods; only index 0 serves (multi-node)
KAITO_WORKSPACE_SUFFIX = "-ws"  # a fixed KAITO model's Workspace is <model>-ws; <model> is our Service

# --- assumptions behind derived timings ---------------------------------------------------------------

COOLDOWN_FLOOR_SECONDS = 300  # KEDA's default cooldown: never shorter than that
# First start of a replica: weights downloaded from Hugging Face into the (empty) NFS cache at a
# sustained 40 MiB/s (a conservative figure: Azure-to-HF downloads are usually faster), then vLLM's
# engine start (weights to GPU, torch.compile, CUDA graph capture) at ENGINE_START_SECONDS, with 50 %
# margin. Restarts read the cache instead and start well within the budget.
DOWNLOAD_MIB_PER_SECOND = 40
ENGINE_START_SECONDS = 300
STARTUP_MARGIN = 1.5
PROBE_PERIOD_SECONDS = 10

# A node's CPU and memory are shared by the replicas its GPUs (or MIG slices) hold. Left for the
# kubelet, the OS and the GPU node's daemonsets (Cilium, CSI drivers, device plugin or GPU Operator,
# ama-metrics): 10 % of the node plus 1 vCPU, and 15 % of its memory plus 4 GiB (AKS reserves
# kube-reserved memory and a 100 Mi eviction threshold; the rest is the daemonsets' headroom).
NODE_CPU_RESERVED_FRACTION, NODE_CPU_RESERVED_MILLI = 0.10, 1000
NODE_MEMORY_RESERVED_FRACTION, NODE_MEMORY_RESERVED_MIB = 0.15, 4096
SHM_GIB_PER_GPU, SHM_GIB_MAX = 2, 16  # /dev/shm for NCCL and the tokenizer workers
CACHE_MIN_GIB = 100  # Azure Files premium (NFS) shares start at 100 GiB
CACHE_WEIGHTS_FACTOR = 2.0  # room for a second revision of the weights during an upgrade

KaitoKind = Literal["InferenceSet", "Workspace"]


# --- scheduling -------------------------------------------------------------------------------------


def workload_scheduling(plan: ModelPlan) -> PoolScheduling:
    """Node selector, tolerations and GPU resource name of a vLLM model's pods.

    The one place a model's placement comes from: agent pool or Karpenter NodePool (``ModelPlan.scheduling``).
    """
    return plan.scheduling()


def kaito_label_selector(plan: ModelPlan) -> dict[str, str]:
    """KAITO's ``resource.labelSelector``: labels of the nodes KAITO provisions for this model.

    KAITO's nodes come with the AKS-installed driver (and, in managed mode, the add-on's device
    plugin): ``nvidia.com/gpu.deploy.operands=false`` keeps a GPU Operator in the same cluster from
    installing its driver and operands there too (found by the plan's scheduling check).
    """
    return {
        KAITO_POOL_LABEL: plan.pool.name,
        KAITO_WORKLOAD_LABEL: plan.config.name,
        LABEL_OPERATOR_OPERANDS: "false",
    }


def kaito_instance_type(plan: ModelPlan) -> str:
    """The pool's VM size as KAITO spells it (``resource.instanceType``)."""
    return plan.sku.kaito_name or plan.sku.name


# --- replicas -----------------------------------------------------------------------------------------


def floor_replicas(model: ModelConfig) -> int:
    """Replicas outside business hours: 0 with ``scaleToZero``, else ``replicas.min``.

    A KAITO Workspace keeps its GPU node while it exists, so a KAITO model counts at least one replica
    unless ``replicas.min`` is 0 with ``scaleToZero`` (an InferenceSet that KEDA scales to zero).
    """
    if model.runtime == "kaito":
        return 0 if model.scale_to_zero and model.replicas.min == 0 else max(1, model.replicas.min)
    return 0 if model.scale_to_zero else model.replicas.min


def replica_floor(plan: ModelPlan) -> int:
    """Replicas when idle outside business hours: 0 with ``scaleToZero``, else ``replicas.min``.

    ``floor_replicas`` of its config (the cost estimate's too): what is billed is what KEDA's
    minReplicaCount keeps.
    """
    return floor_replicas(plan.config)


def kaito_kind(plan: ModelPlan) -> KaitoKind:
    """``Workspace`` for a fixed single replica (KAITO's stable API, nothing to scale), else the
    scalable ``InferenceSet`` that KEDA drives."""
    cfg = plan.config
    fixed = not cfg.scale_to_zero and cfg.schedule is None and replica_floor(plan) == plan.replicas_max == 1
    return "Workspace" if fixed else "InferenceSet"


def kaito_nodes_per_replica(plan: ModelPlan) -> int:
    """KAITO's own node estimate, else the whole nodes the GPUs of one replica need."""
    return plan.kaito_nodes


# --- timings ----------------------------------------------------------------------------------------


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


def longest_generation_seconds(plan: ModelPlan) -> int:
    """p95 completion tokens at the decode-speed floor: how long one generation may take."""
    return drain.longest_generation_seconds(plan.config)


def cooldown_seconds(plan: ModelPlan) -> int:
    """KEDA cooldown (last activity -> zero) and scale-down window: twice the longest generation, in
    30 s steps, at least KEDA's 300 s default, so no replica is removed mid-generation; and at least the
    low end of the model's cold start: a replica idle for less than it takes to bring back is kept (the
    break-even of removing it, ``sizing.cold_start``)."""
    return max(
        COOLDOWN_FLOOR_SECONDS,
        _round_up(2 * longest_generation_seconds(plan), 30),
        _round_up(cold_start(plan).low_seconds, 30),
    )


def drain_seconds(plan: ModelPlan) -> int:
    """terminationGracePeriodSeconds: the preStop drain (settle, running requests to 0, bounded by the
    longest generation) plus vLLM's exit on SIGTERM (``sizing.drain``)."""
    return drain.termination_grace_seconds(plan.config)


def startup_budget_seconds(plan: ModelPlan) -> int:
    """How long the startup probe waits: first download of the weights plus engine start, +50 %."""
    download = plan.sizing.weights_gib * 1024 / DOWNLOAD_MIB_PER_SECOND
    return _round_up((download + ENGINE_START_SECONDS) * STARTUP_MARGIN, 60)


def model_cache_gib(weights_gib: float) -> int:
    """The Azure Files share of a model's cache: room for two revisions, at least the 100 GiB minimum."""
    return max(CACHE_MIN_GIB, _round_up(weights_gib * CACHE_WEIGHTS_FACTOR, 10))


def weights_path(plan: ModelPlan) -> WeightsPath:
    """Where a new replica reads its weights: streamed from Blob where the model is seeded there and
    vLLM reads ``az://`` (``sizing.model_weights``), else vLLM from the model's Azure Files NFS share
    (filled by the first replica from the hub); KAITO's preset pods from the hub."""
    if plan.config.runtime == "kaito":
        return "hub"
    return "blob-stream" if plan.weights.streamed else "files-nfs"


def deallocated_pool(plan: ModelPlan) -> bool:
    """Whether the model's pool restarts stopped VMs (Scale-down Mode ``Deallocate``); NodePools never do."""
    return getattr(plan.pool, "scale_down_mode", "Delete") == "Deallocate"


def cold_start(plan: ModelPlan) -> cs.ColdStart:
    """The model's predicted cold start from zero nodes, with its parts (``sizing.cold_start``): the one
    the stack's plan made (``ModelPlan.predicted_cold_start``), or predicted here for a lone model plan."""
    if plan.predicted_cold_start is not None:
        return plan.predicted_cold_start
    return predict_cold_start(plan)


def predict_cold_start(plan: ModelPlan) -> cs.ColdStart:
    """Predict the model's cold start from zero nodes (``sizing.cold_start.predict``); the stack's plan
    calls it once per model."""
    weights = plan.sizing.weights_gib
    return cs.predict(
        sku_name=plan.sku.name,
        weights_gib=weights,
        path=weights_path(plan),
        share_gib=model_cache_gib(weights),
        deallocated=deallocated_pool(plan),
        # vLLM keeps its compile caches on the model's share (renderers.vllm: VLLM_CACHE_ROOT etc.)
        compile_cache=plan.config.runtime == "vllm",
    )


def seed_time(plan: ModelPlan) -> cs.SeedTime:
    """The model's seeding Job's predicted time (``sizing.cold_start.predict_seed``)."""
    weights = plan.sizing.weights_gib
    return cs.predict_seed(weights, model_cache_gib(weights))


def seed_wait_seconds(plan: ModelPlan) -> int:
    """How long a Blob-streaming pod's init container waits for the seed's marker before it fails."""
    return cs.seed_wait_seconds(seed_time(plan))


def progress_deadline_seconds(plan: ModelPlan) -> int:
    """The Deployment's ``progressDeadlineSeconds``: a GPU node from zero, the startup probe's budget and,
    for a model streamed from Blob, the longest its init container waits for the seed's marker (so a first
    `up` whose seed is slow is not reported as a failed rollout before the init container itself gives up)."""
    seed = seed_wait_seconds(plan) if plan.weights.streamed else 0
    return node_seconds(plan) + startup_budget_seconds(plan) + seed


def node_seconds(plan: ModelPlan) -> int:
    """The high end of a GPU node from zero for the model's pool (the Deployment's progress deadline
    adds it to the startup budget)."""
    return math.ceil(cold_start(plan).part("node").high_s)


def predicted_cold_start_seconds(plan: ModelPlan) -> int:
    """The longest wait of a first request to a model at zero replicas whose pool is at zero nodes:
    the high end of its predicted cold start (node, image, weights, server), in whole minutes. The KEDA
    HTTP add-on's interceptor must hold a request that long (``conditionWait``)."""
    return _round_up(cold_start(plan).high_seconds, 60)


def http_cold_start_wait_seconds(plan: ModelPlan, configured: int | None) -> int:
    """The HTTPScaledObject's ``conditionWait``: the stack's cap when set (the rules refuse a cap
    below the prediction), else the model's predicted cold start."""
    return configured if configured is not None else predicted_cold_start_seconds(plan)


# --- resources ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodResources:
    """Requests (= limits: Guaranteed QoS) of one vLLM replica and its volume sizes."""

    gpu_resource: str
    gpus: int  # tensor-parallel GPUs, or 1 MIG slice
    cpu_milli: int
    memory_gib: int
    shm_gib: int
    cache_gib: int

    def requests(self) -> dict[str, str]:
        return {
            "cpu": f"{self.cpu_milli}m",
            "memory": f"{self.memory_gib}Gi",
            self.gpu_resource: str(self.gpus),
        }


def pod_resources(plan: ModelPlan) -> PodResources:
    """A replica's share of its node: the node's allocatable CPU and memory times the share of the
    node's GPU resources (MIG slices, time-sliced shares or GPUs) the replica takes."""
    scheduling = workload_scheduling(plan)
    gpus = 1 if plan.mig is not None else plan.sizing.gpus_per_replica
    share = gpus / scheduling.gpus_per_node
    sku = plan.sku
    cpu = (sku.vcpus * 1000 * (1 - NODE_CPU_RESERVED_FRACTION) - NODE_CPU_RESERVED_MILLI) * share
    memory = (sku.memory_gib * 1024 * (1 - NODE_MEMORY_RESERVED_FRACTION) - NODE_MEMORY_RESERVED_MIB) * share
    cache = model_cache_gib(plan.sizing.weights_gib)
    return PodResources(
        gpu_resource=scheduling.gpu_resource_name,
        gpus=gpus,
        cpu_milli=int(cpu // 100 * 100),
        memory_gib=int(memory // 1024),
        shm_gib=min(SHM_GIB_MAX, SHM_GIB_PER_GPU * gpus),
        cache_gib=cache,
    )


# --- runtime arguments --------------------------------------------------------------------------------


def kaito_preset(plan: ModelPlan) -> str:
    """KAITO's preset name, or the Hugging Face id for a model without a preset (KAITO accepts both)."""
    return plan.kaito_preset or plan.hf_id


def served_model_name(plan: ModelPlan) -> str | None:
    """The ``model`` callers send: the stack's name for vLLM and InferenceSets (KAITO names an
    InferenceSet's model after it); a KAITO Workspace serves its preset's own name (GET /v1/models)."""
    if plan.config.runtime == "kaito" and kaito_kind(plan) == "Workspace":
        return None
    return plan.config.name


def service_url(name: str, namespace: str) -> str:
    """The in-cluster URL of a model's Service (port 80)."""
    return f"http://{name}.{namespace}.svc.cluster.local"
