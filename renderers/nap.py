"""Node Auto Provisioning's Karpenter objects: the AKSNodeClass and NodePool manifests of the plan's
specs (``sizing/nap.py``), as the API server receives them (pure, no Pulumi).

``components/node_provisioning.py`` declares exactly these objects; which SKUs, capacity types,
weights, limits, labels, taints and grace periods they carry is decided by the specs.
"""

from __future__ import annotations

from typing import Any

from facts.platform import LABEL_NAP_SKU, Taint
from facts.tags import k8s_labels
from sizing import drain
from sizing.nap import NodeClassSpec, NodePoolSpec, consolidation_policy, limits_manifest

NODEPOOL_API_VERSION = "karpenter.sh/v1"
NODECLASS_GROUP = "karpenter.azure.com"
NODECLASS_API_VERSION = f"{NODECLASS_GROUP}/v1beta1"
NODECLASS_KIND = "AKSNodeClass"
LABEL_CAPACITY_TYPE = "karpenter.sh/capacity-type"  # values on-demand | spot, like ours
LABEL_ARCH = "kubernetes.io/arch"
LABEL_OS = "kubernetes.io/os"
ARCHITECTURE = "amd64"  # every catalog GPU SKU is x64


def _taint(t: Taint) -> dict[str, str]:
    return {"key": t.key, "value": t.value, "effect": t.effect}


def nodeclass_manifest(spec: NodeClassSpec, tags: dict[str, str]) -> dict[str, Any]:
    """The AKSNodeClass object of one logical NodePool, tagged with the stack's tags."""
    return {
        "apiVersion": NODECLASS_API_VERSION,
        "kind": NODECLASS_KIND,
        "metadata": {"name": spec.name, "labels": k8s_labels(spec.name, "gpu-capacity")},
        "spec": {
            "imageFamily": spec.pool.image_family,
            "osDiskSizeGB": spec.pool.os_disk_size_gb,
            "gpu": {"mode": spec.gpu_mode},
            "tags": dict(tags),
        },
    }


def _requirements(spec: NodePoolSpec) -> list[dict[str, Any]]:
    return [
        {"key": LABEL_NAP_SKU, "operator": "In", "values": [s.name for s in spec.skus]},
        {"key": LABEL_CAPACITY_TYPE, "operator": "In", "values": [spec.capacity]},
        {"key": LABEL_ARCH, "operator": "In", "values": [ARCHITECTURE]},
        {"key": LABEL_OS, "operator": "In", "values": ["linux"]},
    ]


def _disruption(spec: NodePoolSpec) -> dict[str, Any]:
    d = spec.pool.disruption
    budgets = [b.model_dump(by_alias=True, exclude_none=True) for b in d.budgets]
    return {
        "consolidationPolicy": consolidation_policy(spec.pool),
        "consolidateAfter": d.consolidate_after,
        "budgets": budgets,
    }


def nodepool_manifest(spec: NodePoolSpec) -> dict[str, Any]:
    """The NodePool object as the API server receives it."""
    return {
        "apiVersion": NODEPOOL_API_VERSION,
        "kind": "NodePool",
        "metadata": {"name": spec.name, "labels": k8s_labels(spec.name, "gpu-capacity")},
        "spec": {
            "weight": spec.weight,
            "limits": limits_manifest(spec.limits),
            "disruption": _disruption(spec),
            "template": {
                "metadata": {"labels": spec.labels},
                "spec": {
                    "nodeClassRef": {
                        "group": NODECLASS_GROUP,
                        "kind": NODECLASS_KIND,
                        "name": spec.pool.name,
                    },
                    "requirements": _requirements(spec),
                    "taints": [_taint(t) for t in spec.taints],
                    "expireAfter": spec.pool.disruption.expire_after,
                    "terminationGracePeriod": drain.karpenter_duration(spec.termination_grace_seconds),
                },
            },
        },
    }
