"""The node groups of a stack's plan, and the pod templates of Kubernetes objects (pure, no Pulumi).

Node groups: the system pool, every GPU agent pool (on-demand and spot), every NAP NodePool
capacity, and the nodes KAITO provisions per KAITO model, with the taints and labels the program
gives them (``sizing.node_selection``, ``sizing.agent_pools``, ``sizing.nap``) and allocatable resources
from ``sizing.placement.allocatable``.

AKS on managed-driver pools (checked for AKS 1.34-1.36): ``gpuProfile.driver: Install`` installs the
NVIDIA driver only; the device plugin and the DCGM exporter come from AKS only on the opt-in "fully
managed GPU node pools" (preview, Kubernetes 1.34 or later: MicrosoftDocs/azure-aks-docs
``articles/aks/aks-managed-gpu-nodes.md`` @02f77a4b, "Before you begin" and "Create an AKS-managed GPU
node pool": ``--enable-managed-gpu-experience``; the newer revision of the page spells it
``gpuProfile.nvidia.managementMode: Managed``, default ``Unmanaged`` = driver only). The program never
opts in, so its managed pools have the AKS driver only and need the program's device plugin.
``AKS_MANAGED_GPU_STACK`` models the opt-in for when a stack may choose it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from config.catalog import Catalog, GpuSku
from config.schema import StackConfig
from facts.platform import GPU_RESOURCE, LABEL_NAP_SKU, SYSTEM_POOL_SELECTOR, SYSTEM_POOL_TAINT
from sizing.agent_pools import AgentPoolSpec, agent_pool_specs
from sizing.deployments import ModelPlan, plan_models
from sizing.gpu_software import kaito_node_labels
from sizing.nap import NodePoolSpec, nodepool_specs
from sizing.node_selection import gpu_resource_name, gpus_per_node
from sizing.placement import NodeGroup, NodeTaint, Workload, allocatable, quantity
from sizing.workloads import kaito_instance_type, kaito_label_selector

SYSTEM_TAINT = NodeTaint(SYSTEM_POOL_TAINT.key, SYSTEM_POOL_TAINT.value, SYSTEM_POOL_TAINT.effect)
# Labels every AKS Linux node carries: the kubelet's well-known os/arch (amd64: every SKU in the
# catalog) and AKS's kubernetes.azure.com/cluster (the node resource group; its value never matters
# to a selector here, only that it exists).
NODE_LABELS = {
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.azure.com/cluster": "<node resource group>",
}
SYSTEM_LABELS = {**NODE_LABELS, **SYSTEM_POOL_SELECTOR}
AKS_DRIVER = "AKS GPU driver (gpuProfile.driver Install)"
AKS_MANAGED_GPU_STACK = {  # gpuProfile.nvidia.managementMode: Managed (aks-managed-gpu-nodes.md)
    "driver": AKS_DRIVER,
    "device-plugin": "AKS managed device plugin",
    "dcgm-exporter": "AKS managed DCGM exporter",
}
KAITO_ADDON_PLUGIN = "managed KAITO add-on's device plugin"


def _taints(specs: Iterable[str]) -> tuple[NodeTaint, ...]:
    out = []
    for text in specs:
        kv, _, effect = text.partition(":")
        key, _, value = kv.partition("=")
        out.append(NodeTaint(key, value, effect or "NoSchedule"))
    return tuple(out)


def _gpu_alloc(sku: GpuSku, resource: str, count: int) -> dict[str, int]:
    return allocatable(sku.vcpus, sku.memory_gib, {resource: count})


def node_groups(config: StackConfig, catalog: Catalog) -> list[NodeGroup]:
    """Every kind of node the stack can have, planning its pools and models (the tools' entry; the
    offline plan passes the program's own plan to ``planned_node_groups``)."""
    return planned_node_groups(
        config,
        catalog,
        agent_pool_specs(config, catalog),
        nodepool_specs(config, catalog),
        plan_models(config, catalog),
    )


def planned_node_groups(
    config: StackConfig,
    catalog: Catalog,
    agent_pools: Sequence[AgentPoolSpec],
    nodepools: Sequence[NodePoolSpec],
    plans: Sequence[ModelPlan],
) -> list[NodeGroup]:
    """Every kind of node the stack can have, from its planned agent pools, NodePools and models."""
    sys_pool = config.cluster.system_pool
    sys_sku = catalog.system_skus.get(sys_pool.vm_size)
    groups = [
        NodeGroup(
            name="system",
            kind="system",
            labels=SYSTEM_LABELS,
            taints=(SYSTEM_TAINT,),
            allocatable=allocatable(sys_sku.vcpus, sys_sku.memory_gib) if sys_sku else {},
            gpu=False,
        )
    ]
    base = {**NODE_LABELS, "kubernetes.azure.com/mode": "user"}
    for spec in agent_pools:
        groups.append(
            NodeGroup(
                name=spec.name,
                kind="agent-pool",
                labels={**base, **spec.labels, "kubernetes.azure.com/agentpool": spec.name},
                taints=_taints(spec.taints),
                allocatable=_gpu_alloc(
                    spec.sku, gpu_resource_name(spec.pool, spec.sku), gpus_per_node(spec.pool, spec.sku)
                ),
                gpu=True,
                host_functions={"driver": AKS_DRIVER} if spec.gpu_driver == "Install" else {},
                mig_capable=bool(spec.sku.mig_profiles),
            )
        )
    for np in nodepools:
        sku = np.sizing_sku
        groups.append(
            NodeGroup(
                name=f"nodepool/{np.name}",
                kind="nap",
                labels={
                    **base,
                    **np.labels,
                    "karpenter.sh/nodepool": np.name,
                    LABEL_NAP_SKU: sku.name,
                },
                taints=tuple(NodeTaint(t.key, t.value, t.effect) for t in np.taints),
                allocatable=_gpu_alloc(sku, GPU_RESOURCE, sku.gpu_count),
                gpu=True,
                host_functions={"driver": AKS_DRIVER} if np.pool.driver == "managed" else {},
                mig_capable=bool(sku.mig_profiles),
            )
        )
    kaito = config.addons.kaito
    byo = kaito.mode == "helm" and kaito.node_provisioner == "none"
    for plan in plans:
        if plan.config.runtime != "kaito" or byo:
            continue
        # KAITO provisions whole-GPU nodes of the pool's SKU with the AKS driver, tainted sku=gpu and
        # labelled with the Workspace's resource.labelSelector (components/kaito_model.py).
        host = {"driver": AKS_DRIVER}
        if kaito.mode == "managed":
            host["device-plugin"] = KAITO_ADDON_PLUGIN
        groups.append(
            NodeGroup(
                name=f"kaito/{plan.config.name}",
                kind="kaito",
                labels={
                    **base,
                    **kaito_label_selector(plan),
                    **kaito_node_labels(config),
                    "node.kubernetes.io/instance-type": kaito_instance_type(plan),
                },
                taints=(NodeTaint("sku", "gpu"),),
                allocatable=_gpu_alloc(plan.sku, GPU_RESOURCE, plan.sku.gpu_count),
                gpu=True,
                host_functions=host,
                mig_capable=bool(plan.sku.mig_profiles),
            )
        )
    return groups


# --- pod templates ---------------------------------------------------------------------------------

POD_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet", "CronJob"}
# A container's GPU function, from its name, image and command (first match wins).
_FUNCTION_PATTERNS = (
    ("gfd", re.compile(r"gpu-feature-discovery")),
    ("mig-manager", re.compile(r"mig-manager")),
    ("dcgm-exporter", re.compile(r"dcgm-exporter")),
    ("dcgm", re.compile(r"(^|[/ -])dcgm([: ]|$)")),
    ("nfd", re.compile(r"nfd-worker|node-feature-discovery.*worker|worker.*node-feature-discovery")),
    ("device-plugin", re.compile(r"device-plugin")),
    ("toolkit", re.compile(r"container-toolkit")),
    ("driver", re.compile(r"nvidia/driver|nvidia-driver")),
)


def _container_function(container: Mapping[str, Any]) -> str | None:
    text = " ".join(
        [str(container.get("name", "")), str(container.get("image", ""))]
        + [str(x) for x in (container.get("command") or []) + (container.get("args") or [])]
    )
    if "mps-control-daemon" in text:  # the device plugin chart's MPS daemon: same image, no plugin
        return None
    return next((fn for fn, rx in _FUNCTION_PATTERNS if rx.search(text)), None)


def _requests(pod: Mapping[str, Any]) -> dict[str, int]:
    def of(container: Mapping[str, Any]) -> dict[str, int]:
        res = container.get("resources") or {}
        req = {**(res.get("limits") or {}), **(res.get("requests") or {})}  # limits default requests
        return {k: quantity(v, cpu=k == "cpu") for k, v in req.items() if k != "ephemeral-storage"}

    total: dict[str, int] = {}
    for c in pod.get("containers") or []:
        for k, v in of(c).items():
            total[k] = total.get(k, 0) + v
    for c in pod.get("initContainers") or []:
        for k, v in of(c).items():
            total[k] = max(total.get(k, 0), v)
    for k, v in (pod.get("overhead") or {}).items():
        total[k] = total.get(k, 0) + quantity(v, cpu=k == "cpu")
    total["pods"] = 1
    return total


def pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    if kind not in POD_KINDS:
        return None
    template: Mapping[str, Any] = spec.get("template") or {}
    return template.get("spec") or {}


def workload_of(obj: Mapping[str, Any], source: str, config_path: str = "") -> Workload | None:
    """The pod template of a Deployment/DaemonSet/StatefulSet/Job/CronJob as a ``Workload``."""
    pod = pod_template(obj)
    if pod is None:
        return None
    affinity = ((pod.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = tuple(tuple(t.get("matchExpressions") or ()) for t in affinity.get("nodeSelectorTerms") or ())
    functions = {_container_function(c) for c in pod.get("containers") or []} - {None}
    meta = obj.get("metadata") or {}
    return Workload(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "default")),
        kind=str(obj["kind"]),
        source=source,
        node_selector={str(k): str(v) for k, v in (pod.get("nodeSelector") or {}).items()},
        tolerations=tuple(pod.get("tolerations") or ()),
        required_terms=terms,
        requests=_requests(pod),
        functions=frozenset(f for f in functions if f) if obj["kind"] == "DaemonSet" else frozenset(),
        config_path=config_path,
    )


def workloads_of(objects: Sequence[Mapping[str, Any]], source: str, config_path: str = "") -> list[Workload]:
    return [w for w in (workload_of(o, source, config_path) for o in objects) if w is not None]


def kaito_workloads(objects: Sequence[Mapping[str, Any]], catalog: Catalog) -> list[Workload]:
    """The inference pods KAITO creates for the program's Workspaces and InferenceSets.

    KAITO schedules them on the nodes its ``resource.labelSelector`` selects, tolerating its GPU
    taint ``sku=gpu``, each with the node's GPUs (kaito.md).
    """
    skus = {s.kaito_name or s.name: s for s in catalog.skus.values()}
    out = []
    for obj in objects:
        if obj.get("kind") not in {"Workspace", "InferenceSet"}:
            continue
        body = obj.get("resource") or (obj.get("spec") or {}).get("resource") or {}
        if obj.get("kind") == "InferenceSet":
            body = ((obj.get("spec") or {}).get("template") or {}).get("resource") or body
        holder = (
            body if "labelSelector" in body else obj.get("spec") or {}
        )  # InferenceSet: spec.labelSelector
        selector = (holder.get("labelSelector") or {}).get("matchLabels") or {}
        sku = skus.get(str(body.get("instanceType", "")))
        meta = obj.get("metadata") or {}
        out.append(
            Workload(
                name=str(meta.get("name", "")),
                namespace=str(meta.get("namespace", "default")),
                kind=f"KAITO {obj['kind']}",
                source="program (KAITO creates the pods)",
                node_selector={str(k): str(v) for k, v in selector.items()},
                tolerations=({"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},),
                required_terms=(),
                requests={GPU_RESOURCE: sku.gpu_count if sku else 1, "pods": 1},
            )
        )
    return out


def container_function(container: Mapping[str, Any]) -> str | None:
    """A container's GPU function (driver, device-plugin, ...): the live check of ``tools.verify``
    classifies the pods it finds on a GPU node with the same patterns as the plan's."""
    return _container_function(container)
