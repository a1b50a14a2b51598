"""Plan sections of Node Auto Provisioning: the Karpenter NodePools and the GPU nodes KAITO owns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.outputs import KaitoNodeRow, StackOutputs
from tools.tables import column_table

_NODEPOOL_COLUMNS = [
    ("nodePool", "NodePool"),
    ("capacity", "capacity"),
    ("weight", "weight"),
    ("limitsText", "limits"),
    ("sizingSku", "sizing SKU"),
    ("maxNodes", "max nodes"),
    ("skusText", "allowed SKUs"),
    ("gpuMode", "gpu.mode"),
    ("imageFamily", "image"),
    ("consolidationPolicy", "consolidation"),
    ("consolidateAfter", "after"),
    ("expireAfter", "expire"),
]

_KAITO_COLUMNS = [
    ("model", "model"),
    ("sku", "instance type"),
    ("nodesPerReplica", "nodes/replica"),
    ("replicasMax", "replicas max"),
    ("maxNodes", "GPU nodes at max"),
]


def nap_sections(doc: dict[str, Any]) -> list[str]:
    """The NodePool table (NAP mode) and KAITO's own GPU nodes (whenever there are KAITO models)."""
    outputs: StackOutputs = doc["outputs"]
    nap = outputs.get("nodeProvisioning")
    if not nap:
        return []
    out: list[str] = []
    if nap.get("mode") == "nap":
        out.append(render_nodepools(nap.get("nodePools") or [], nap.get("notes") or []))
    if nap.get("kaitoNodes"):
        out.append(
            render_kaito_nodes(nap["kaitoNodes"], nap.get("kaitoMaxNodes", 0), nap.get("mode") == "nap")
        )
    return out


def render_nodepools(rows: Sequence[dict[str, Any]], notes: Sequence[str]) -> str:
    head = "Karpenter NodePools (Node Auto Provisioning; models are sized and pinned on the sizing SKU):"
    if not rows:
        body = "  none configured: no GPU capacity"
    else:
        shown = [
            {
                **r,
                "limitsText": ", ".join(f"{k}={v}" for k, v in r["limits"].items()),
                "skusText": ", ".join(r["skus"]),
            }
            for r in rows
        ]
        body = column_table(shown, _NODEPOOL_COLUMNS)
    return "\n".join([head, body, *(f"  - {n}" for n in notes)])


def render_kaito_nodes(rows: Sequence[KaitoNodeRow], total: int, nap: bool) -> str:
    """KAITO's own GPU nodes, counted apart from every pool and NodePool."""
    where = "the NodePools' limits" if nap else "the GPU pools' min/max"
    head = (
        f"GPU nodes KAITO provisions itself (not governed by {where}): up to {total} at the models' "
        "maximum replicas"
    )
    return "\n".join([head, column_table([dict(r) for r in rows], _KAITO_COLUMNS)])
