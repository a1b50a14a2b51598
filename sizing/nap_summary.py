"""The ``nodeProvisioning`` summary the plan prints: the NAP NodePools (``sizing.nap``) next to the GPU
nodes KAITO provisions itself for its models (``sizing.deployments``), pure, no Pulumi.

It joins the two modules here, above both, so that neither imports the other's types back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from config.catalog import Catalog
from config.schema import StackConfig
from sizing.deployments import ModelPlan
from sizing.nap import nodepool_specs


def kaito_node_rows(plans: Iterable[ModelPlan]) -> list[dict[str, Any]]:
    """GPU nodes KAITO provisions itself at each KAITO model's maximum (from the typed model plans).

    KAITO's NodeClaims carry ``karpenter.sh/do-not-disrupt`` and its own ``kaito`` nodepool label:
    no NodePool of this stack counts them against its limits or consolidates them.
    """
    out = []
    for plan in plans:
        if plan.config.runtime != "kaito":
            continue
        per_replica = plan.sizing.kaito_nodes_per_replica
        replicas = plan.replicas_max
        out.append(
            {
                "model": plan.config.name,
                "sku": plan.sku.name,
                "nodesPerReplica": per_replica,
                "replicasMax": replicas,
                "maxNodes": None if per_replica is None else per_replica * replicas,
            }
        )
    return out


KAITO_NOTE = (
    "KAITO provisions the GPU nodes of KAITO models itself: its NodeClaims carry "
    "karpenter.sh/do-not-disrupt and its own `kaito` nodepool label, so these NodePools' limits and "
    "consolidation do not govern them. NodePool limits cap only the workloads this program "
    "schedules itself (vLLM)."
)


def nap_summary(config: StackConfig, catalog: Catalog, plans: Sequence[ModelPlan]) -> dict[str, Any]:
    """The ``nodeProvisioning`` output: mode, NodePools, KAITO's own nodes and what governs what."""
    nap = config.node_provisioning
    kaito = kaito_node_rows(plans)
    notes: list[str] = []
    if nap.mode == "nap":
        notes.append(
            "Node Auto Provisioning: AKS runs Karpenter (nodeProvisioningProfile.mode Auto); GPU nodes "
            "come from these NodePools only, each capped by its limits (the cost guard)"
        )
        notes.append(
            "AKS's default NodePools are kept: they provision general-purpose CPU nodes without limits"
            if nap.keep_default_node_pools
            else (
                "AKS's default NodePools are off (defaultNodePools None): only these NodePools (and "
                "KAITO, for KAITO models) add nodes"
            )
        )
        if kaito:
            notes.append(KAITO_NOTE)
    return {
        "mode": nap.mode,
        "keepDefaultNodePools": nap.keep_default_node_pools if nap.mode == "nap" else None,
        "nodePools": [spec.row() for spec in nodepool_specs(config, catalog)],
        "kaitoNodes": kaito,
        "kaitoMaxNodes": sum(r["maxNodes"] or 0 for r in kaito),
        "notes": notes,
    }
