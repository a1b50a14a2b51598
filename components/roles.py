"""Azure built-in roles the program assigns, by their fixed GUIDs (names can change, GUIDs do not).

Each GUID was checked against Microsoft's built-in roles reference
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles) and its use in public
Bicep/Terraform code; the permission notes come from the role definitions there.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pulumi

from facts.role_actions import GPU_PROVISIONER_ROLE


@dataclass(frozen=True)
class BuiltInRole:
    """A built-in Azure role: display name and role definition GUID."""

    name: str
    guid: str


# Read metrics from an Azure Monitor workspace (Prometheus queries): what KEDA's Prometheus scaler needs.
MONITORING_DATA_READER = BuiltInRole("Monitoring Data Reader", "b0d8363b-8ddd-447d-831f-62ca05bff136")
# Read secret contents (data plane only) of an RBAC-mode Key Vault.
KEY_VAULT_SECRETS_USER = BuiltInRole("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6")
# Receive (and complete) messages: what the batch workers need on their queue.
SERVICE_BUS_DATA_RECEIVER = BuiltInRole(
    "Azure Service Bus Data Receiver", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
)
# Send messages: what the batch workers need on the reply queue (and nothing else).
SERVICE_BUS_DATA_SENDER = BuiltInRole("Azure Service Bus Data Sender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39")
# Pull images from one registry: what the cluster's kubelet identity needs for the worker's image.
ACR_PULL = BuiltInRole("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d")
# Push (and pull) images to one registry: what the worker-image workflow's identity needs.
ACR_PUSH = BuiltInRole("AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec")
# Full data-plane rights on the scope. KEDA's Service Bus scaler reads the queue's message count
# through the management (runtime properties) API, which needs the "Manage" right: Data Receiver is
# not enough (KEDA's own workload-identity sample assigns Data Owner; kedacore/keda#806, #7822).
# Scoped to the one queue, not the namespace.
SERVICE_BUS_DATA_OWNER = BuiltInRole("Azure Service Bus Data Owner", "090c5cfd-751d-490a-894a-3ce6f1109419")
# Join subnets, manage load balancers and route tables in one VNet: what an AKS cluster's identity needs
# on a custom VNet (AKS docs system-assigned-managed-identity.md lines 109-120,
# MicrosoftDocs/azure-aks-docs @ fb060abe: assigned to the system-assigned identity after creation).
NETWORK_CONTRIBUTOR = BuiltInRole("Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7")
# The self-hosted gpu-provisioner no longer gets "Azure Kubernetes Service Contributor Role": whether
# that role's actions include managedClusters/agentPools/* is read two ways (facts/role_actions.py), and
# either way it grants more than the agent-pool calls gpu-provisioner v0.4.3 makes. It gets a custom
# role with exactly those calls instead (facts.role_actions.GPU_PROVISIONER_ROLE, components/kaito.py).

# Full Kubernetes RBAC inside one cluster (Azure RBAC for Kubernetes): what the identity running
# `pulumi up` needs to create the program's Kubernetes objects once local accounts are disabled.
AKS_RBAC_CLUSTER_ADMIN = BuiltInRole(
    "Azure Kubernetes Service RBAC Cluster Admin", "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
)

# Read blobs (and list them) in the scope: what vLLM's streamer needs on the model weights' container.
STORAGE_BLOB_DATA_READER = BuiltInRole("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
# Read and write blobs in the scope: what the weights-seeding Job needs on the same container.
STORAGE_BLOB_DATA_CONTRIBUTOR = BuiltInRole(
    "Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
)

_NAMESPACE = uuid.UUID("6f1c0f5e-2b1a-4c55-9a53-7a6b1c0e4d21")  # this project's uuid5 namespace


def custom_role_guid(scope: str, role_name: str) -> str:
    """A deterministic role definition name (a GUID) for a custom role defined at ``scope``."""
    return str(uuid.uuid5(_NAMESPACE, f"custom-role|{scope.lower()}|{role_name}"))


def role_definition_id(subscription_id: pulumi.Input[str], role: BuiltInRole) -> pulumi.Output[str]:
    """The subscription-scoped resource id of a built-in role definition."""
    return pulumi.Output.from_input(subscription_id).apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role.guid}"
    )


_BROAD_SCOPE = re.compile(r"^/(subscriptions/[^/]+(/resourceGroups/[^/]+)?|providers/[^/]+.*)?/?$", re.I)


def assignment_name(scope: str, role: BuiltInRole, principal_name: str) -> str:
    """A deterministic role assignment name (a GUID): same scope, role and principal, same name.

    Refuses a subscription, resource group or management group scope: roles go on single resources.
    """
    if _BROAD_SCOPE.match(scope):
        raise ValueError(f"{role.name} for {principal_name}: scope {scope!r} is not a single resource")
    return str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{role.guid}|{principal_name}"))


# The gpu-provisioner's custom role (facts.role_actions.GPU_PROVISIONER_ROLE): this record only names its
# assignments (a fixed GUID); the role definition itself is created per stack (components/kaito.py).
GPU_PROVISIONER_AGENT_POOLS = BuiltInRole(
    GPU_PROVISIONER_ROLE.name, custom_role_guid("", GPU_PROVISIONER_ROLE.name)
)
