"""Each identity's Azure role actions against the Azure API calls its component makes (pure data).

``ROLES``: the actions of every role the program assigns, with the source they were read at.
``IDENTITIES``: who holds which roles and which calls each makes, with the upstream source of each call.
``uncovered`` answers which calls no held role allows (Azure's wildcard matching, case-insensitive,
``notActions`` subtracted); ``tests/test_role_actions.py`` requires none, and checks that the program
assigns exactly these roles to these identities.

The gpu-provisioner gets a custom role with exactly what gpu-provisioner v0.4.3 calls (issue 18 item 4),
not "Azure Kubernetes Service Contributor Role". Two readings of that built-in role disagree: the issue and
``../shared/facts/pitfalls.md`` 31 say it grants ``managedClusters/read``, ``managedClusters/write`` and
``Microsoft.Resources/deployments/*`` only (no agent pools); the built-in roles reference read here
(``AKS_CONTRIBUTOR_READ``) lists ``Microsoft.ContainerService/managedClusters/*``. The custom role does not
depend on which is current, and grants less than either (no cluster write, no credentials).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BUILT_IN_ROLES_CONTAINERS = (
    "MicrosoftDocs/azure-docs@0088bfa7 articles/role-based-access-control/built-in-roles/containers.md "
    "(ms.date 2025-06-30)"
)
RECALLED = (
    "Microsoft built-in roles reference (learn.microsoft.com); not re-read in this change, the role's "
    "GUID is checked in components/roles.py"
)
GPU_PROVISIONER = "Azure/gpu-provisioner@v0.4.3 (c09a56c0)"
AKS_DOCS = "MicrosoftDocs/azure-aks-docs@fb060abe articles/aks/"


@dataclass(frozen=True)
class RoleActions:
    """One role definition's permissions (control-plane actions and data actions)."""

    name: str
    actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Call:
    """One Azure operation a component performs, as the action Azure RBAC checks."""

    action: str
    data: bool  # a data action (checked against dataActions) rather than a control-plane action
    what: str
    source: str


@dataclass(frozen=True)
class IdentityGrants:
    """An identity the program creates or grants to, the roles it holds and the calls it makes."""

    identity: str  # the key in the stack outputs' ``identities`` (or "deployer" / "kubelet")
    roles: tuple[str, ...]
    calls: tuple[Call, ...]


GPU_PROVISIONER_ROLE = RoleActions(
    "aks-llm gpu-provisioner agent pools",
    actions=(
        "Microsoft.ContainerService/managedClusters/read",
        "Microsoft.ContainerService/managedClusters/agentPools/*",
    ),
    source="this program (components/kaito.py): a custom role, scoped to the one cluster",
)
AKS_CONTRIBUTOR_READ = RoleActions(
    "Azure Kubernetes Service Contributor Role",
    actions=(
        "Microsoft.Authorization/*/read",
        "Microsoft.ContainerService/locations/*",
        "Microsoft.ContainerService/managedClusters/*",
        "Microsoft.ContainerService/managedclustersnapshots/*",
        "Microsoft.ContainerService/snapshots/*",
        "Microsoft.Insights/alertRules/*",
        "Microsoft.Resources/deployments/*",
        "Microsoft.Resources/subscriptions/resourceGroups/read",
    ),
    source=BUILT_IN_ROLES_CONTAINERS + ", ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8 (no longer assigned)",
)
AKS_CONTRIBUTOR_ISSUE = RoleActions(
    "Azure Kubernetes Service Contributor Role (as issue 18 reads it)",
    actions=(
        "Microsoft.ContainerService/managedClusters/read",
        "Microsoft.ContainerService/managedClusters/write",
        "Microsoft.Resources/deployments/*",
    ),
    source="issue 18 item 4; ../shared/facts/pitfalls.md 31",
)

ROLES: dict[str, RoleActions] = {
    role.name: role
    for role in (
        GPU_PROVISIONER_ROLE,
        RoleActions(
            "Azure Kubernetes Service RBAC Cluster Admin",
            actions=(
                "Microsoft.Authorization/*/read",
                "Microsoft.Resources/subscriptions/operationresults/read",
                "Microsoft.Resources/subscriptions/read",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            ),
            data_actions=("Microsoft.ContainerService/managedClusters/*",),
            source=BUILT_IN_ROLES_CONTAINERS + ", b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
        ),
        RoleActions(
            "AcrPull",
            actions=("Microsoft.ContainerRegistry/registries/pull/read",),
            source=BUILT_IN_ROLES_CONTAINERS + ", 7f951dda-4ed3-4680-a7ca-43fe172d538d",
        ),
        RoleActions(
            "AcrPush",
            actions=(
                "Microsoft.ContainerRegistry/registries/pull/read",
                "Microsoft.ContainerRegistry/registries/push/write",
            ),
            source=BUILT_IN_ROLES_CONTAINERS + ", 8311e382-0749-4cb8-b61a-304f252e45ec",
        ),
        RoleActions(
            "Monitoring Data Reader",
            actions=("Microsoft.Monitor/accounts/read",),
            data_actions=("Microsoft.Monitor/accounts/data/metrics/read",),
            source=RECALLED,
        ),
        RoleActions(
            "Key Vault Secrets User",
            data_actions=(
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ),
            source=RECALLED,
        ),
        RoleActions(
            "Azure Service Bus Data Receiver",
            actions=(
                "Microsoft.ServiceBus/*/queues/read",
                "Microsoft.ServiceBus/*/topics/read",
                "Microsoft.ServiceBus/*/topics/subscriptions/read",
            ),
            data_actions=("Microsoft.ServiceBus/*/receive/action",),
            source=RECALLED,
        ),
        RoleActions(
            "Azure Service Bus Data Sender",
            actions=(
                "Microsoft.ServiceBus/*/queues/read",
                "Microsoft.ServiceBus/*/topics/read",
                "Microsoft.ServiceBus/*/topics/subscriptions/read",
            ),
            data_actions=("Microsoft.ServiceBus/*/send/action",),
            source=RECALLED,
        ),
        RoleActions(
            "Storage Blob Data Reader",
            actions=(
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ),
            data_actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",),
            source=RECALLED + " (2a2b9908-6ea1-4ae2-8e65-a410df84e7d1)",
        ),
        RoleActions(
            "Storage Blob Data Contributor",
            actions=(
                "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            ),
            data_actions=(
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
            ),
            source=RECALLED + " (ba92f5b4-2d11-453d-a403-e96b0029c9fe)",
        ),
        RoleActions(
            "Network Contributor",
            actions=(
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Network/*",
                "Microsoft.ResourceHealth/availabilityStatuses/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Support/*",
            ),
            source=RECALLED + "; 4d97b98b-1d4f-4787-a291-c67834d212e7",
        ),
        RoleActions(
            "Azure Service Bus Data Owner",
            actions=("Microsoft.ServiceBus/*",),
            data_actions=("Microsoft.ServiceBus/*",),
            source=RECALLED,
        ),
    )
}

_AGENT_POOLS = "Microsoft.ContainerService/managedClusters/agentPools"
_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
IDENTITIES: tuple[IdentityGrants, ...] = (
    IdentityGrants(
        "gpu-provisioner",
        (GPU_PROVISIONER_ROLE.name,),
        (
            Call(
                f"{_AGENT_POOLS}/write",
                False,
                "AgentPoolsClient.BeginCreateOrUpdate: a GPU agent pool per NodeClaim",
                f"{GPU_PROVISIONER} pkg/providers/instance/armutils.go:31 (createAgentPool), called from "
                "instance.go:103",
            ),
            Call(
                f"{_AGENT_POOLS}/read",
                False,
                "AgentPoolsClient.Get",
                f"{GPU_PROVISIONER} pkg/providers/instance/armutils.go:79 (getAgentPool), instance.go:158",
            ),
            Call(
                f"{_AGENT_POOLS}/read",
                False,
                "AgentPoolsClient.NewListPager",
                f"{GPU_PROVISIONER} pkg/providers/instance/armutils.go:92",
            ),
            Call(
                f"{_AGENT_POOLS}/delete",
                False,
                "AgentPoolsClient.BeginDelete",
                f"{GPU_PROVISIONER} pkg/providers/instance/armutils.go:60 (deleteAgentPool), instance.go:181",
            ),
        ),
    ),
    IdentityGrants(
        "deployer",
        ("Azure Kubernetes Service RBAC Cluster Admin", "AcrPush"),
        (
            Call(
                "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
                False,
                "the program's kubeconfig (listManagedClusterUserCredentials, components/cluster.py)",
                "this program",
            ),
            Call(
                "Microsoft.ContainerRegistry/registries/push/write",
                False,
                "the worker-image workflow pushes the queue worker's image (stacks with the async queue)",
                "this program (components/container_registry.py)",
            ),
            # The Kubernetes objects it creates: one data action per kind, added from the plan by the test.
        ),
    ),
    IdentityGrants(
        "cluster",  # the AKS cluster's system-assigned identity, on a VNet of the stack's own (issue 23)
        ("Network Contributor",),
        (
            Call(
                "Microsoft.Network/virtualNetworks/subnets/join/action",
                False,
                "nodes and internal load balancers join the stack's subnets",
                AKS_DOCS + "aks-service-permissions.md:72 (custom VNet, assigned after creation: line 66)",
            ),
            Call(
                "Microsoft.Network/virtualNetworks/subnets/read",
                False,
                "an internal load balancer's subnet is checked",
                AKS_DOCS + "aks-service-permissions.md:74; internal-lb.md:282-287",
            ),
            Call(
                "Microsoft.Network/routeTables/routes/write",
                False,
                "routes of the node subnet's route table (outboundType userDefinedRouting)",
                AKS_DOCS + "aks-service-permissions.md:73",
            ),
        ),
    ),
    IdentityGrants(
        "kubelet",
        ("AcrPull",),
        (
            Call(
                "Microsoft.ContainerRegistry/registries/pull/read",
                False,
                "the nodes pull the queue worker's image",
                "this program",
            ),
        ),
    ),
    IdentityGrants(
        "inference",
        ("Key Vault Secrets User", "Storage Blob Data Reader"),
        (
            Call(
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                True,
                "the Secrets Store CSI driver's Azure provider reads the HF token and the consumers' API "
                "keys (model-key-<consumer>)",
                RECALLED,
            ),
            Call(
                _BLOBS + "/read",
                True,
                "vLLM's Run:ai streamer reads the weights from az://<container>/<model>/<revision>",
                "docs.vllm.ai runai_model_streamer (DefaultAzureCredential); components/model_weights.py",
            ),
            Call(
                _BLOBS + "/read",
                True,
                "az storage blob exists: a Blob-streaming vLLM pod's init container waits for the revision's "
                "marker (renderers/model_weights.py wait_script)",
                "this program (components/model_weights.py wait_for_weights)",
            ),
        ),
    ),
    IdentityGrants(
        "gateway",
        ("Key Vault Secrets User",),
        (
            Call(
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                True,
                "the Secrets Store CSI driver's Azure provider reads the gateway's TLS certificate as a "
                "secret (objectType secret: the PEM key and chain; components/gateway.py)",
                RECALLED,
            ),
        ),
    ),
    IdentityGrants(
        "weights-seeder",
        ("Storage Blob Data Contributor",),
        (
            Call(
                _BLOBS + "/read",
                True,
                "az storage blob exists: the revision's marker (renderers/model_weights.py check_script)",
                "this program",
            ),
            Call(
                _BLOBS + "/write",
                True,
                "az storage blob upload-batch / upload --auth-mode login (upload_script)",
                "this program",
            ),
        ),
    ),
    IdentityGrants(
        "keda",
        ("Monitoring Data Reader", "Azure Service Bus Data Owner"),
        (
            Call(
                "Microsoft.Monitor/accounts/data/metrics/read",
                True,
                "KEDA's prometheus scaler queries the Azure Monitor workspace",
                RECALLED,
            ),
            Call(
                "Microsoft.ServiceBus/namespaces/queues/read",
                False,
                "KEDA's azure-servicebus scaler reads the queue's message count (needs the Manage claim, "
                "which only Data Owner carries: components/roles.py)",
                RECALLED,
            ),
        ),
    ),
    IdentityGrants(
        "queue-worker",
        ("Azure Service Bus Data Receiver", "Azure Service Bus Data Sender"),
        (
            Call(
                "Microsoft.ServiceBus/namespaces/messages/receive/action",
                True,
                "the worker receives and completes requests",
                RECALLED,
            ),
            Call(
                "Microsoft.ServiceBus/namespaces/messages/send/action",
                True,
                "the worker sends results to the reply queue",
                RECALLED,
            ),
        ),
    ),
)


def _matches(pattern: str, action: str) -> bool:
    """Azure RBAC's action match: ``*`` stands for any characters; case-insensitive."""
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.match(regex, action, re.IGNORECASE) is not None


def allows(role: RoleActions, call: Call) -> bool:
    """Whether ``role`` grants ``call`` (its actions or data actions, minus the matching exclusions)."""
    granted, excluded = (
        (role.data_actions, role.not_data_actions) if call.data else (role.actions, role.not_actions)
    )
    return any(_matches(p, call.action) for p in granted) and not any(
        _matches(p, call.action) for p in excluded
    )


def uncovered(grants: IdentityGrants, roles: dict[str, RoleActions] | None = None) -> list[Call]:
    """The calls of ``grants`` that none of its roles allows."""
    table = ROLES if roles is None else roles
    held = [table[name] for name in grants.roles]
    return [call for call in grants.calls if not any(allows(role, call) for role in held)]
