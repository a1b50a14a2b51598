"""The ``nodeProvisioning`` summary the plan prints: the NAP NodePools (``sizing.nap``) next to the GPU
nodes KAITO provisions itself for its models (``sizing.deployments``), pure, no Pulumi.

It joins the two modules here, above both, so that neither imports the other's types back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from config.schema import StackConfig
from sizing.deployments import ModelPlan
from sizing.nap import NodePoolSpec


@dataclass(frozen=True)
class KaitoNodes:
    """GPU nodes KAITO provisions itself for one KAITO model, at the model's maximum."""

    model: str
    sku: str
    nodes_per_replica: int | None  # None: KAITO's estimate is unknown
    replicas_max: int

    @property
    def max_nodes(self) -> int | None:
        return None if self.nodes_per_replica is None else self.nodes_per_replica * self.replicas_max


@dataclass(frozen=True)
class NapSummary:
    """Node provisioning as the plan prints it (output ``nodeProvisioning``)."""

    mode: str  # pools | nap
    keep_default_node_pools: bool | None  # NAP mode only
    node_pools: list[NodePoolSpec]
    kaito_nodes: list[KaitoNodes]
    notes: list[str]


def kaito_node_rows(plans: Iterable[ModelPlan]) -> list[KaitoNodes]:
    """GPU nodes KAITO provisions itself at each KAITO model's maximum (from the typed model plans).

    KAITO's NodeClaims carry ``karpenter.sh/do-not-disrupt`` and its own ``kaito`` nodepool label:
    no NodePool of this stack counts them against its limits or consolidates them.
    """
    return [
        KaitoNodes(
            model=plan.config.name,
            sku=plan.sku.name,
            nodes_per_replica=plan.sizing.kaito_nodes_per_replica,
            replicas_max=plan.replicas_max,
        )
        for plan in plans
        if plan.config.runtime == "kaito"
    ]


KAITO_NOTE = (
    "KAITO provisions the GPU nodes of KAITO models itself: its NodeClaims carry "
    "karpenter.sh/do-not-disrupt and its own `kaito` nodepool label, so these NodePools' limits and "
    "consolidation do not govern them. NodePool limits cap only the workloads this program "
    "schedules itself (vLLM)."
)


def nap_summary(
    config: StackConfig, nodepools: Sequence[NodePoolSpec], plans: Sequence[ModelPlan]
) -> NapSummary:
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
    return NapSummary(
        mode=nap.mode,
        keep_default_node_pools=nap.keep_default_node_pools if nap.mode == "nap" else None,
        node_pools=list(nodepools),
        kaito_nodes=kaito,
        notes=notes,
    )
