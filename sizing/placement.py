"""Where every pod of a stack can run (pure, no Pulumi, no Helm): node groups with their taints,
labels and allocatable resources, workloads with their tolerations, selectors, required node
affinity and requests, and the checks over both.

Allocatable follows AKS's node resource reservations (MicrosoftDocs/azure-aks-docs
``articles/aks/node-resource-reservations.md`` @11fb7fb8): kube-reserved CPU by core count (the
table at lines 26-28), kube-reserved memory the lesser of 20 MB x max pods + 50 MB and 25 % of the
VM's memory (line 37, AKS 1.29 and later) plus the kubelet's ``memory.available < 100 Mi`` hard
eviction threshold (line 36). Max pods: 250, AKS's default for Azure CNI Overlay (the program sets
no maxPods).

Kubernetes semantics evaluated: taints with effect NoSchedule/NoExecute against tolerations
(PreferNoSchedule is only a preference); ``nodeSelector``; ``requiredDuringScheduling`` node
affinity (terms ORed, expressions ANDed; In, NotIn, Exists, DoesNotExist, Gt, Lt); requests
(max of the largest init container and the sum of the containers, plus pod overhead if any) against
what is allocatable once the DaemonSets that land on the node are counted. Not evaluated: preferred
affinity, pod (anti-)affinity, topology spread, admission webhooks that mutate pods, priority
preemption, and node labels set at run time by anything the plan does not model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

GroupKind = Literal["system", "agent-pool", "nap", "kaito"]

KIB, MIB, GIB = 1024, 1024**2, 1024**3
MB = 1000**2  # the doc's "MB" in the memory formula; read as decimal (the smaller reservation)
AKS_MAX_PODS = 250
EVICTION_HARD = 100 * MIB
# node-resource-reservations.md lines 26-28: kube-reserved CPU (millicores) by host cores.
KUBE_RESERVED_CPU = ((1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (32, 420), (64, 740))

# GPU functions two components must never both provide on one node.
GPU_FUNCTIONS = ("driver", "toolkit", "device-plugin", "mig-manager", "dcgm", "dcgm-exporter", "nfd", "gfd")


def kube_reserved_cpu_millis(cores: int) -> int:
    """Linear between the table's points (it grows by 10 m per core from 8 cores on), beyond 64 too."""
    points = KUBE_RESERVED_CPU
    if cores <= points[0][0]:
        return points[0][1]
    for (c0, m0), (c1, m1) in pairwise(points):
        if cores <= c1:
            return m0 + (m1 - m0) * (cores - c0) // (c1 - c0)
    c0, m0 = points[-1]
    return m0 + 10 * (cores - c0)


def kube_reserved_memory(memory_bytes: int, max_pods: int = AKS_MAX_PODS) -> int:
    return min(20 * MB * max_pods + 50 * MB, memory_bytes // 4)


def allocatable(vcpus: int, memory_gib: int, extended: Mapping[str, int] | None = None) -> dict[str, int]:
    """What a node of this size offers pods: CPU in millicores, memory in bytes, extended resources."""
    memory = memory_gib * GIB
    return {
        "cpu": vcpus * 1000 - kube_reserved_cpu_millis(vcpus),
        "memory": memory - kube_reserved_memory(memory) - EVICTION_HARD,
        "pods": AKS_MAX_PODS,
        **dict(extended or {}),
    }


# --- quantities --------------------------------------------------------------------------------

_SUFFIX = {
    "Ki": KIB, "Mi": MIB, "Gi": GIB, "Ti": 1024**4,
    "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "m": 0.001,
}  # fmt: skip
_QTY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")


def quantity(value: Any, *, cpu: bool = False) -> int:
    """A Kubernetes quantity as an int: millicores for CPU, else units (bytes, devices)."""
    text = str(value).strip()
    m = _QTY.match(text)
    if not m or m.group(2) not in {*_SUFFIX, ""}:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number = float(m.group(1)) * _SUFFIX.get(m.group(2), 1)
    return round(number * 1000) if cpu else int(number + 0.999999)


# --- node groups and workloads -----------------------------------------------------------------


@dataclass(frozen=True)
class NodeTaint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class NodeGroup:
    """Nodes that share taints, labels and size: a pool (or a NodePool's capacity, or KAITO's nodes)."""

    name: str
    kind: GroupKind
    labels: Mapping[str, str]
    taints: tuple[NodeTaint, ...]
    allocatable: Mapping[str, int]
    gpu: bool
    # GPU functions the node has without any pod: AKS's driver (gpuProfile.driver Install), or
    # AKS's managed GPU stack (driver, device plugin, DCGM exporter).
    host_functions: Mapping[str, str] = field(default_factory=dict)
    mig_capable: bool = False


@dataclass(frozen=True)
class Workload:
    """One pod template: a chart's, the program's own, or a GPU Operator operand."""

    name: str
    namespace: str
    kind: str  # Deployment, DaemonSet, StatefulSet, Job, CronJob, KAITO, operand
    source: str  # chart release, "program", or "gpu-operator (ClusterPolicy)"
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, Any], ...]
    required_terms: tuple[tuple[Mapping[str, Any], ...], ...]  # ORed terms of ANDed expressions
    requests: Mapping[str, int]
    functions: frozenset[str] = frozenset()
    config_path: str = ""

    @property
    def daemonset(self) -> bool:
        return self.kind in {"DaemonSet", "operand"}

    @property
    def gpu_request(self) -> dict[str, int]:
        return {k: v for k, v in self.requests.items() if k.startswith("nvidia.com/") and v > 0}

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def tolerates(toleration: Mapping[str, Any], taint: NodeTaint) -> bool:
    """Kubernetes' ToleratesTaint (k8s.io/api core/v1 toleration.go)."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.effect:
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if not key:
        return operator == "Exists"
    if key != taint.key:
        return False
    if operator == "Exists":
        return True
    return str(toleration.get("value") or "") == taint.value


def untolerated(workload: Workload, group: NodeGroup) -> list[NodeTaint]:
    return [
        t
        for t in group.taints
        if t.effect in {"NoSchedule", "NoExecute"} and not any(tolerates(x, t) for x in workload.tolerations)
    ]


def _expression(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = (
        expr.get("key", ""),
        expr.get("operator", ""),
        [str(v) for v in expr.get("values") or []],
    )
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in {"Gt", "Lt"} and present and values:
        try:
            a, b = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def selector_mismatch(workload: Workload, labels: Mapping[str, str]) -> str | None:
    """Why the node's labels fail the pod's nodeSelector or required node affinity, or None."""
    for key, value in workload.node_selector.items():
        if labels.get(key) != str(value):
            return f"nodeSelector {key}={value} (node has {labels.get(key, 'no such label')})"
    if workload.required_terms and not any(
        all(_expression(e, labels) for e in term) for term in workload.required_terms
    ):
        return "required node affinity " + " or ".join(
            " and ".join(f"{e.get('key')} {e.get('operator')} {e.get('values') or ''}".strip() for e in t)
            for t in workload.required_terms
        )
    return None


def admits(workload: Workload, group: NodeGroup) -> str | None:
    """Why taints, selectors or affinity keep the pod off the group (resources aside), or None."""
    taints = untolerated(workload, group)
    if taints:
        return "does not tolerate " + ", ".join(str(t) for t in taints)
    return selector_mismatch(workload, group.labels)


def shortfall(requests: Mapping[str, int], available: Mapping[str, int]) -> str | None:
    for name, amount in sorted(requests.items()):
        if amount > available.get(name, 0):
            return f"requests {name} {amount} > {max(available.get(name, 0), 0)} free"
    return None


# --- operator operands: the node labels the GPU Operator sets, the DaemonSets it creates ----------

# NVIDIA/gpu-operator v26.7.0 controllers/state_manager.go lines 99-109 (gpuStateLabels, container
# workloads) and 486-490 (mig-manager only on MIG-capable GPUs); every label is removed when the node
# says nvidia.com/gpu.deploy.operands=false (lines 457-463). Nodes are GPU nodes by NFD's PCI label
# (lines 170-174, hasGPULabels). Each operand's DaemonSet selects its label (assets/state-driver/
# 0500_daemonset.yaml line 28, state-container-toolkit line 20, state-device-plugin line 20,
# gpu-feature-discovery line 21, state-dcgm-exporter/0800_daemonset.yaml line 20, state-dcgm/
# 0400_dcgm.yml line 20, state-mig-manager/0600_daemonset.yaml line 18, state-node-status-exporter/
# 0700_daemonset.yaml line 20, state-operator-validation line 21) and takes the ClusterPolicy's
# daemonsets.tolerations (controllers/object_controls.go lines 826-828).
NFD_GPU_LABEL = "feature.node.kubernetes.io/pci-10de.present"
OPERANDS_LABEL = "nvidia.com/gpu.deploy.operands"
OPERANDS: tuple[tuple[str, str, str, str | None, bool], ...] = (
    # (ClusterPolicy section, DaemonSet name, deploy label suffix, GPU function, enabled by default)
    ("driver", "nvidia-driver-daemonset", "driver", "driver", True),
    ("toolkit", "nvidia-container-toolkit-daemonset", "container-toolkit", "toolkit", True),
    ("devicePlugin", "nvidia-device-plugin-daemonset", "device-plugin", "device-plugin", True),
    ("gfd", "gpu-feature-discovery", "gpu-feature-discovery", "gfd", True),
    ("dcgmExporter", "nvidia-dcgm-exporter", "dcgm-exporter", "dcgm-exporter", True),
    ("dcgm", "nvidia-dcgm", "dcgm", "dcgm", False),
    ("migManager", "nvidia-mig-manager", "mig-manager", "mig-manager", True),
    ("nodeStatusExporter", "nvidia-node-status-exporter", "node-status-exporter", None, False),
    ("validator", "nvidia-operator-validator", "operator-validator", None, True),
)
_ALWAYS_LABELLED = {"mig-manager": False}  # the rest of gpuStateLabels is set on every GPU node


def operator_node_labels(group: NodeGroup, nfd_labels_it: bool) -> dict[str, str]:
    """The ``nvidia.com/gpu.deploy.*`` labels the operator would add to the group's nodes."""
    if not (group.gpu and nfd_labels_it) or group.labels.get(OPERANDS_LABEL) == "false":
        return {}
    labels = {
        f"nvidia.com/gpu.deploy.{suffix}": "true"
        for _, _, suffix, _, _ in OPERANDS
        if _ALWAYS_LABELLED.get(suffix, True)
    }
    if group.mig_capable:
        labels["nvidia.com/gpu.deploy.mig-manager"] = "true"
    return {**labels, NFD_GPU_LABEL: "true"}


def operand_workloads(cluster_policy: Mapping[str, Any], namespace: str, config_path: str) -> list[Workload]:
    """The DaemonSets the operator creates at run time from a rendered ClusterPolicy."""
    spec = cluster_policy.get("spec") or {}
    tolerations = tuple((spec.get("daemonsets") or {}).get("tolerations") or ())
    out = []
    for section, name, suffix, function, default in OPERANDS:
        enabled = (spec.get(section) or {}).get("enabled", default)
        if not enabled:
            continue
        out.append(
            Workload(
                name=name,
                namespace=namespace,
                kind="operand",
                source="gpu-operator (ClusterPolicy)",
                node_selector={f"nvidia.com/gpu.deploy.{suffix}": "true"},
                tolerations=tolerations,
                required_terms=(),
                requests={},
                functions=frozenset({function}) if function else frozenset(),
                config_path=config_path,
            )
        )
    return out


# --- the check ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    workload: Workload
    groups: tuple[str, ...]  # where it can run
    reasons: Mapping[str, str]  # why not, per other group


@dataclass(frozen=True)
class Finding:
    """One refusal: the workload (or node group) it names, and why."""

    workload: Workload | None
    group: str
    message: str


@dataclass(frozen=True)
class SchedulingResult:
    placements: tuple[Placement, ...]
    findings: tuple[Finding, ...]
    groups: tuple[NodeGroup, ...]


def _with_operator_labels(groups: Sequence[NodeGroup], workloads: Sequence[Workload]) -> list[NodeGroup]:
    """Groups as the GPU Operator leaves them: NFD labels GPU nodes where an NFD worker runs, then
    the operator labels those with the operands' deploy labels."""
    if not any(w.kind == "operand" for w in workloads):
        return list(groups)
    nfd = [w for w in workloads if w.daemonset and "nfd" in w.functions]
    out = []
    for g in groups:
        labelled = any(admits(w, g) is None for w in nfd)
        extra = operator_node_labels(g, labelled)
        out.append(NodeGroup(**{**g.__dict__, "labels": {**g.labels, **extra}}) if extra else g)
    return out


def check_placement(groups: Sequence[NodeGroup], workloads: Sequence[Workload]) -> SchedulingResult:
    """Where each workload can run, and every refusal."""
    groups = _with_operator_labels(groups, workloads)
    findings: list[Finding] = []
    admitted: dict[str, list[NodeGroup]] = {}
    reasons: dict[str, dict[str, str]] = {}
    for w in workloads:
        admitted[w.label], reasons[w.label] = [], {}
        for g in groups:
            why = admits(w, g)
            if why is None:
                admitted[w.label].append(g)
            else:
                reasons[w.label][g.name] = why
    # DaemonSets take their share of every node they land on first.
    free: dict[str, dict[str, int]] = {g.name: dict(g.allocatable) for g in groups}
    for w in workloads:
        if not w.daemonset:
            continue
        for g in admitted[w.label]:
            for name, amount in w.requests.items():
                free[g.name][name] = free[g.name].get(name, 0) - amount
    placements = []
    for w in workloads:
        fits = []
        for g in admitted[w.label]:
            room = dict(g.allocatable) if w.daemonset else free[g.name]
            short = shortfall(w.requests, room)
            if short is None:
                fits.append(g.name)
            else:
                reasons[w.label][g.name] = short
        placements.append(Placement(w, tuple(fits), reasons[w.label]))
        findings.extend(_workload_findings(w, admitted[w.label], fits, reasons[w.label]))
    findings.extend(_duplicate_functions(groups, workloads, admitted))
    return SchedulingResult(tuple(placements), tuple(findings), tuple(groups))


def _workload_findings(
    w: Workload, admitted: Sequence[NodeGroup], fits: Sequence[str], reasons: Mapping[str, str]
) -> Iterable[Finding]:
    if not w.daemonset and not fits:
        why = "; ".join(f"{g}: {r}" for g, r in sorted(reasons.items())) or "no node groups"
        yield Finding(w, "", f"{w.label} ({w.source}) can run on no node group: {why}")
    for g in admitted:
        if w.gpu_request and g.kind == "system":
            yield Finding(w, g.name, f"GPU pod {w.label} ({w.source}) could land on the system pool {g.name}")
        if not w.gpu_request and not w.daemonset and g.gpu:
            yield Finding(
                w,
                g.name,
                f"CPU pod {w.label} ({w.source}) could land on GPU node group {g.name} "
                f"(it tolerates {', '.join(str(t) for t in g.taints)})",
            )


def _duplicate_functions(
    groups: Sequence[NodeGroup], workloads: Sequence[Workload], admitted: Mapping[str, Sequence[NodeGroup]]
) -> Iterable[Finding]:
    for g in groups:
        for function in GPU_FUNCTIONS:
            providers = [who for fn, who in g.host_functions.items() if fn == function]
            owners = [
                w for w in workloads if w.daemonset and function in w.functions and g in admitted[w.label]
            ]
            providers += [f"{w.label} ({w.source})" for w in owners]
            if len(providers) > 1:
                yield Finding(
                    owners[-1] if owners else None,
                    g.name,
                    f"two components manage the GPU {function} on node group {g.name}: "
                    + " and ".join(providers),
                )
        if g.gpu and g.kind != "system":
            has_plugin = "device-plugin" in g.host_functions or any(
                w.daemonset and "device-plugin" in w.functions and g in admitted[w.label] for w in workloads
            )
            has_driver = "driver" in g.host_functions or any(
                w.daemonset and "driver" in w.functions and g in admitted[w.label] for w in workloads
            )
            if not has_driver:
                yield Finding(None, g.name, f"GPU node group {g.name} gets no NVIDIA driver")
            if not has_plugin:
                yield Finding(
                    None,
                    g.name,
                    f"GPU node group {g.name} gets no device plugin: its GPUs are never advertised",
                )
