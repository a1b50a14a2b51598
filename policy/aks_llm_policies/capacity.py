"""Node capacity as declared: AKS agent pools (standalone ``AgentPool`` resources and the cluster's
``agentPoolProfiles``) and Karpenter ``NodePool``s (Node Auto Provisioning), with the labels, taints
and capacity types their nodes get.

The label and taint names and the GPU resource come from ``platform_facts.json``, generated from the
program's ``facts/platform.py`` (``python -m tools.policy_facts``; a test fails when it is stale): the
pack does not import the program, so it can run from its own virtualenv.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .values import JSON, UNKNOWN, dig, items, mapping, number, text

AGENT_POOL = "azure-native:containerservice:AgentPool"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"

FACTS_FILE = Path(__file__).with_name("platform_facts.json")
FACTS: dict[str, Any] = json.loads(FACTS_FILE.read_text(encoding="utf-8"))
LABEL_ACCELERATOR: str = FACTS["labels"]["accelerator"]
LABEL_POOL: str = FACTS["labels"]["pool"]
LABEL_CAPACITY: str = FACTS["labels"]["capacity"]
LABEL_PURPOSE: str = FACTS["labels"]["purpose"]
KARPENTER_CAPACITY = "karpenter.sh/capacity-type"
KARPENTER_NODEPOOL = "karpenter.sh/nodepool"
NAP_SKU: str = FACTS["labels"]["napSku"]
NAP_GPU_COUNT = "karpenter.azure.com/sku-gpu-count"
NAP_GPU_NAME = "karpenter.azure.com/sku-gpu-name"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
GPU_LIMIT: str = FACTS["gpuResource"]
# Node labels a pod may select on that no declaration fixes (zones, host names): a selector on them
# neither proves nor disproves that it lands on a given pool.
UNDECLARED_LABELS = frozenset(
    {
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "kubernetes.io/hostname",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
    }
)

ON_DEMAND = "on-demand"
SPOT = "spot"

# Azure N-series with GPUs: NC, ND, NV (and NG); not NP (FPGA).
_GPU_VM_SIZE = re.compile(r"^standard_n[cdvg]", re.IGNORECASE)


def is_gpu_vm_size(vm_size: str | None) -> bool:
    return bool(vm_size) and bool(_GPU_VM_SIZE.match(vm_size or ""))


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"

    @staticmethod
    def parse(raw: Any) -> Taint | None:
        """An AKS ``key=value:Effect`` string or a Kubernetes taint object."""
        if isinstance(raw, str):
            match = re.match(r"^([^=:]+)(?:=([^:]*))?:(\w+)$", raw.strip())
            return Taint(match[1], match[2] or "", match[3]) if match else None
        if isinstance(raw, dict) and isinstance(raw.get("key"), str):
            return Taint(raw["key"], text(raw.get("value")) or "", text(raw.get("effect")) or "")
        return None


def _taint(name: str) -> Taint:
    taint = Taint.parse(FACTS["taints"][name])
    assert taint is not None, f"platform_facts.json: taint {name} is not key=value:Effect"
    return taint


GPU_TAINT = _taint("gpu")  # also what KAITO's GPU nodes carry
SPOT_TAINT = _taint("spot")  # AKS adds it on spot


@dataclass
class NodeGroup:
    """Nodes of one agent pool or NodePool: what they are labelled, tainted and priced as."""

    kind: str  # "agent pool" | "NodePool"
    name: str
    urn: str
    gpu: bool
    labels: dict[str, str] = field(default_factory=dict)
    # Labels with several possible values (a NodePool requirement ``In [a, b]``).
    label_options: dict[str, set[str]] = field(default_factory=dict)
    taints: list[Taint] = field(default_factory=list)
    taints_known: bool = True
    capacity_types: frozenset[str] = frozenset({ON_DEMAND})
    min_nodes: float | None = None  # None: not a floor it declares (NodePools) or unknown
    autoscaling: bool | None = None
    weight: float | None = None  # NodePools: Karpenter tries higher weights first
    consolidate_after: str | None = None  # NodePools
    vm_sizes: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The logical pool: ``aks-llm/gpu-pool`` (shared by its on-demand and spot parts), else the name."""
        return self.labels.get(LABEL_POOL, self.name)

    @property
    def purpose(self) -> str | None:
        return self.labels.get(LABEL_PURPOSE)

    @property
    def spot_only(self) -> bool:
        return self.capacity_types == frozenset({SPOT})

    @property
    def title(self) -> str:
        sizes = f" ({', '.join(self.vm_sizes)})" if self.vm_sizes else ""
        return f"{self.kind} {self.name}{sizes}"

    def values_of(self, key: str) -> set[str] | None:
        """The values label ``key`` can have on these nodes; None when the key is not declared."""
        if key in self.labels:
            return {self.labels[key]}
        return self.label_options.get(key)


def _str_map(value: Any) -> dict[str, str]:
    return {k: v for k, v in mapping(value).items() if isinstance(v, str)}


def _taints(raw: Any) -> tuple[list[Taint], bool]:
    if raw is UNKNOWN:
        return [], False
    found = [Taint.parse(t) for t in items(raw)]
    return [t for t in found if t is not None], all(t is not None for t in found)


def agent_pool_group(name: str, props: JSON, urn: str, kind: str = "agent pool") -> NodeGroup:
    """An AKS agent pool (``AgentPool`` inputs, or one entry of ``agentPoolProfiles``)."""
    vm_size = text(props.get("vmSize"))
    labels = _str_map(props.get("nodeLabels"))
    gpu = (
        is_gpu_vm_size(vm_size)
        or props.get("gpuProfile") is not None
        or props.get("gpuInstanceProfile") is not None
        or labels.get(LABEL_ACCELERATOR) == "nvidia"
    )
    spot = text(props.get("scaleSetPriority")) == "Spot"
    taints, known = _taints(props.get("nodeTaints"))
    implied = {
        "agentpool": name,
        "kubernetes.azure.com/agentpool": name,
        "kubernetes.io/os": (text(props.get("osType")) or "Linux").lower(),
        "kubernetes.azure.com/mode": (text(props.get("mode")) or "User").lower(),
    }
    if vm_size:
        implied[INSTANCE_TYPE] = vm_size
    if spot:
        implied[SPOT_TAINT.key] = SPOT_TAINT.value  # AKS labels spot nodes as it taints them
    autoscaling = props.get("enableAutoScaling")
    if autoscaling is UNKNOWN:
        floor = None
    else:
        floor = number(props.get("minCount")) if autoscaling is True else number(props.get("count"))
    return NodeGroup(
        kind=kind,
        name=name,
        urn=urn,
        gpu=gpu,
        labels={**implied, **labels},
        taints=taints,
        taints_known=known,
        capacity_types=frozenset({SPOT if spot else ON_DEMAND}),
        min_nodes=floor,
        autoscaling=autoscaling if isinstance(autoscaling, bool) else None,
        vm_sizes=(vm_size,) if vm_size else (),
    )


def cluster_groups(props: JSON, urn: str) -> list[NodeGroup]:
    """The agent pools declared inline on a ``ManagedCluster`` (at least the system pool)."""
    out = []
    for i, profile in enumerate(items(props.get("agentPoolProfiles"))):
        if isinstance(profile, dict):
            name = text(profile.get("name")) or f"agentPoolProfiles[{i}]"
            out.append(agent_pool_group(name, profile, urn, kind="cluster agent pool"))
    return out


def _requirements(spec_template: JSON) -> dict[str, tuple[str, set[str]]]:
    out: dict[str, tuple[str, set[str]]] = {}
    for req in items(dig(spec_template, "spec", "requirements")):
        key, op = text(dig(req, "key")), text(dig(req, "operator"))
        if key and op:
            out[key] = (op, {v for v in items(dig(req, "values")) if isinstance(v, str)})
    return out


def nodepool_group(name: str, props: JSON, urn: str) -> NodeGroup:
    """A Karpenter ``NodePool`` (custom resource inputs: ``spec.template``, ``spec.limits``...)."""
    template = mapping(dig(props, "spec", "template"))
    meta_name = text(dig(props, "metadata", "name")) or name
    labels = _str_map(dig(template, "metadata", "labels"))
    reqs = _requirements(template)
    options: dict[str, set[str]] = {}
    for key, (op, values) in reqs.items():
        if op == "In" and values:
            if len(values) == 1:
                labels.setdefault(key, next(iter(values)))
            else:
                options[key] = values
    skus = reqs.get(NAP_SKU, ("", set()))
    if skus[0] == "In":
        options.setdefault(INSTANCE_TYPE, set(skus[1]))
    capacity = reqs.get(KARPENTER_CAPACITY)
    if capacity is None:
        types = frozenset({ON_DEMAND})  # Karpenter's default when a NodePool says nothing
    elif capacity[0] == "In":
        types = frozenset(capacity[1] & {ON_DEMAND, SPOT}) or frozenset({ON_DEMAND})
    elif capacity[0] == "NotIn":
        types = frozenset({ON_DEMAND, SPOT} - capacity[1])
    else:
        types = frozenset({ON_DEMAND, SPOT})
    gpu_count = reqs.get(NAP_GPU_COUNT)
    gpu = (
        (skus[0] == "In" and any(is_gpu_vm_size(s) for s in skus[1]))
        or GPU_LIMIT in mapping(dig(props, "spec", "limits"))
        or (gpu_count is not None and gpu_count[0] in ("Gt", "In", "Exists"))
        or NAP_GPU_NAME in reqs
        or labels.get(LABEL_ACCELERATOR) == "nvidia"
    )
    taints, known = _taints(dig(template, "spec", "taints"))
    return NodeGroup(
        kind="NodePool",
        name=meta_name,
        urn=urn,
        gpu=gpu,
        labels={KARPENTER_NODEPOOL: meta_name, **labels},
        label_options=options,
        taints=taints,
        taints_known=known,
        capacity_types=types,
        weight=number(dig(props, "spec", "weight")),
        consolidate_after=text(dig(props, "spec", "disruption", "consolidateAfter")),
        vm_sizes=tuple(sorted(skus[1])) if skus[0] == "In" else (),
    )


def groups_of(resource_type: str, name: str, props: JSON, urn: str) -> list[NodeGroup]:
    """The node groups one resource declares (none for other types)."""
    if resource_type == AGENT_POOL:
        # Inputs name the pool agentPoolName; the outputs stack policies see call it name.
        pool_name = text(props.get("agentPoolName")) or text(props.get("name")) or name
        return [agent_pool_group(pool_name, props, urn)]
    if resource_type == MANAGED_CLUSTER:
        return cluster_groups(props, urn)
    if resource_type == NODEPOOL:
        return [nodepool_group(name, props, urn)]
    return []


def node_groups(resources: Iterable[tuple[str, str, JSON, str]]) -> list[NodeGroup]:
    """Every node group of a stack, from ``(type, name, plain props, urn)`` tuples."""
    return [g for r in resources for g in groups_of(*r)]
