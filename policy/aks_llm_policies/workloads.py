"""Pods as declared: the pod templates of Kubernetes workloads (Deployments, StatefulSets, Jobs,
KEDA ScaledJobs, KAITO Workspaces and InferenceSets...), their containers, GPU requests, tolerations
and node selection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .capacity import FACTS, UNDECLARED_LABELS, NodeGroup, Taint
from .values import JSON, dig, items, mapping, number, text

KAITO_WORKSPACE = "kubernetes:kaito.sh/v1beta1:Workspace"
KAITO_INFERENCE_SET = "kubernetes:kaito.sh/v1beta1:InferenceSet"

# Where each workload type keeps its pod template's spec (and the template's metadata beside it).
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": (),
    "kubernetes:core/v1:PodTemplate": ("template",),
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
    "kubernetes:core/v1:ReplicationController": ("spec", "template"),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
    "kubernetes:keda.sh/v1alpha1:ScaledJob": ("spec", "jobTargetRef", "template"),
    KAITO_WORKSPACE: ("inference", "template"),
    KAITO_INFERENCE_SET: ("spec", "template", "inference", "template"),
}
CONTAINER_LISTS = ("initContainers", "containers")
GPU_RESOURCE: str = FACTS["gpuResource"]
MIG_PREFIX: str = FACTS["migResourcePrefix"]


@dataclass(frozen=True)
class PodTemplate:
    """One pod template of a resource."""

    owner: str  # e.g. "Deployment inference/qwen7b"
    urn: str
    spec: JSON
    labels: dict[str, str] = field(default_factory=dict)

    def containers(self) -> Iterator[tuple[str, JSON]]:
        """``(display name, container)`` for init and app containers."""
        for key in CONTAINER_LISTS:
            for i, c in enumerate(items(self.spec.get(key))):
                if isinstance(c, dict):
                    name = text(c.get("name")) or f"{key}[{i}]"
                    yield (f"init container {name}" if key == "initContainers" else f"container {name}", c)

    def gpu_requests(self) -> dict[str, float]:
        """GPU resources (whole GPUs or MIG slices) the pod asks for, summed over its app containers."""
        out: dict[str, float] = {}
        for _, c in self.containers():
            resources = mapping(c.get("resources"))
            asked = {**mapping(resources.get("requests")), **mapping(resources.get("limits"))}
            for name, qty in asked.items():
                amount = number(qty)
                if is_gpu_resource(name) and amount:
                    out[name] = out.get(name, 0.0) + amount
        return out

    @property
    def tolerations(self) -> list[JSON]:
        return [t for t in items(self.spec.get("tolerations")) if isinstance(t, dict)]


def is_gpu_resource(name: str) -> bool:
    return name == GPU_RESOURCE or name.startswith(MIG_PREFIX)


def kind_of(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def object_name(resource_type: str, name: str, props: JSON) -> str:
    """``Kind namespace/name`` of a Kubernetes object (the Pulumi name when metadata has none)."""
    meta = mapping(props.get("metadata"))
    obj = text(meta.get("name")) or name
    ns = text(meta.get("namespace"))
    return f"{kind_of(resource_type)} {ns + '/' if ns else ''}{obj}"


def pod_templates(resource_type: str, name: str, urn: str, props: JSON) -> list[PodTemplate]:
    """The pod template a workload declares (none for other types, or a KAITO preset without one)."""
    path = POD_TEMPLATE_PATHS.get(resource_type)
    if path is None:
        return []
    template = dig(props, *path) if path else props
    if not isinstance(template, dict):
        return []
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return []
    labels = {k: v for k, v in mapping(dig(template, "metadata", "labels")).items() if isinstance(v, str)}
    return [PodTemplate(object_name(resource_type, name, props), urn, spec, labels)]


def tolerates(tolerations: list[JSON], taint: Taint) -> bool:
    """Whether any toleration matches ``taint`` (Kubernetes' rules: empty key with Exists matches all)."""
    for t in tolerations:
        effect = text(t.get("effect")) or ""
        if effect and effect != taint.effect:
            continue
        key = text(t.get("key")) or ""
        operator = text(t.get("operator")) or "Equal"
        if operator == "Exists" and (not key or key == taint.key):
            return True
        if operator == "Equal" and key == taint.key and (text(t.get("value")) or "") == taint.value:
            return True
    return False


def blocking_taints(group: NodeGroup) -> list[Taint]:
    """Taints that keep pods off a group's nodes (PreferNoSchedule only discourages)."""
    return [t for t in group.taints if t.effect in ("NoSchedule", "NoExecute")]


def _expression_matches(expr: JSON, group: NodeGroup) -> bool | None:
    """A node selector requirement against a group; None when the group cannot tell (undeclared label)."""
    key, op = text(expr.get("key")), text(expr.get("operator"))
    if key is None or op is None:
        return None
    wanted = {v for v in items(expr.get("values")) if isinstance(v, str)}
    have = group.values_of(key)
    if have is None:
        if key in UNDECLARED_LABELS:
            return None
        return op in ("NotIn", "DoesNotExist")
    if op == "In":
        return bool(have & wanted)
    if op == "NotIn":
        return not have <= wanted
    if op == "Exists":
        return True
    if op == "DoesNotExist":
        return False
    return None  # Gt / Lt on labels we do not model numerically


def node_selection(spec: JSON) -> tuple[dict[str, str], list[list[JSON]]]:
    """``nodeSelector`` and the required node affinity's terms (ORed; expressions ANDed)."""
    selector = {k: v for k, v in mapping(spec.get("nodeSelector")).items() if isinstance(v, str)}
    terms = items(
        dig(
            spec,
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        )
    )
    parsed = [
        [e for e in items(mapping(term).get("matchExpressions")) if isinstance(e, dict)] for term in terms
    ]
    return selector, [t for t in parsed if t]


def selects(spec: JSON, group: NodeGroup) -> bool:
    """Whether a pod spec's required node selection admits ``group``'s nodes.

    Labels no declaration fixes (zone, host name) count as admitting, so only declared labels decide.
    """
    selector, terms = node_selection(spec)
    for key, value in selector.items():
        have = group.values_of(key)
        if have is None:
            if key in UNDECLARED_LABELS:
                continue
            return False
        if value not in have:
            return False
    if not terms:
        return True
    return any(all(_expression_matches(e, group) is not False for e in term) for term in terms)


def untolerated(pod: PodTemplate, group: NodeGroup) -> list[Taint]:
    """The group's scheduling taints the pod does not tolerate."""
    return [t for t in blocking_taints(group) if not tolerates(pod.tolerations, t)]


def schedulable_groups(pod: PodTemplate, groups: list[NodeGroup]) -> list[NodeGroup]:
    """The GPU groups a pod may land on: its node selection admits them and it tolerates their taints.

    Needs a node selection: a pod without one is not pinned to anything (see the targeting policy).
    """
    if not has_node_selection(pod.spec):
        return []
    return [
        g
        for g in groups
        if g.gpu and selects(pod.spec, g) and (not g.taints_known or not untolerated(pod, g))
    ]


def has_node_selection(spec: JSON) -> bool:
    selector, terms = node_selection(spec)
    return bool(selector or terms)


def describe_selection(spec: JSON) -> str:
    selector, terms = node_selection(spec)
    parts = [f"{k}={v}" for k, v in sorted(selector.items())]
    if terms:
        parts.append(f"{len(terms)} required node affinity term(s)")
    return ", ".join(parts) if parts else "no nodeSelector or required node affinity"


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every ``(path, key, value)`` under ``value`` (dict keys and list indexes), depth first."""
    if isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            yield sub, k, v
            yield from walk(v, sub)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            sub = f"{path}[{i}]"
            yield sub, i, v
            yield from walk(v, sub)
