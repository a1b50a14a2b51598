"""Why KAITO's own node provisioning does not serve on AKS's managed Node Auto Provisioning (NAP).

The corrected reading (issue 18 item 3; ``../shared/facts/kaito.md`` carries the same correction). Each
statement was read, not run; nothing here can run a Karpenter controller:

- KAITO v0.12.0 with ``nodeProvisioner: karpenter`` does not create NodeClaims: it creates a Karpenter
  **NodePool per Workspace with ``spec.replicas``** set to the Workspace's target node count (static
  capacity).
- Karpenter honours a NodePool's ``replicas`` only with its ``StaticCapacity`` feature gate, which is
  alpha and off by default. Without it "no NodeClaim is created, and the Workspace stays Pending".
- AKS's managed NAP runs Karpenter in the control plane and exposes no way to set its feature gates;
  nothing in AKS's documentation shows the gate on. KAITO's own Azure guide installs a self-hosted
  Karpenter with the gate on instead.

Until a managed NAP cluster is shown to honour ``replicas``, the rules refuse ``nodeProvisioner:
karpenter`` (``rules.kaito.kaito_karpenter_needs_static_capacity``).
"""

from __future__ import annotations

KAITO_NODEPOOL_REPLICAS = (
    "kaito-project/kaito@v0.12.0 (0894eb2b) pkg/nodeprovision/karpenter/nodepool.go:148 "
    "(generateNodePool: Replicas: ws.Status.TargetNodeCount)"
)
KAITO_NEEDS_STATIC_CAPACITY = (
    'kaito-project/kaito@v0.12.0 website/docs/aws.md:53-60 ("KAITO requires the StaticCapacity feature '
    "gate ... Without it, Karpenter ignores replicas, no NodeClaim is created, and the Workspace stays "
    'Pending")'
)
STATIC_CAPACITY_ALPHA = (
    "Azure/karpenter-provider-azure@352646f5 (2026-08-21) charts/karpenter/values.yaml:224-226 "
    '("staticCapacity is ALPHA and is disabled by default"; absent at v1.7.2)'
)
SOURCES = (KAITO_NODEPOOL_REPLICAS, KAITO_NEEDS_STATIC_CAPACITY, STATIC_CAPACITY_ALPHA)

REASON = (
    "KAITO 0.12.0's karpenter provisioner creates a NodePool with spec.replicas for each Workspace, which "
    "Karpenter honours only with its alpha StaticCapacity feature gate (off by default); AKS's managed "
    "node auto-provisioning does not let you set that gate, so no node is created and the model stays "
    "Pending (facts/kaito_nap.py)"
)
