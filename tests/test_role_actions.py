"""Every identity's roles grant the Azure calls its component makes (facts/role_actions.py), and the
program assigns exactly those roles: the gpu-provisioner a custom role with agent pools only."""

from __future__ import annotations

from collections import defaultdict

import pytest

from components.roles import (
    ACR_PULL,
    ACR_PUSH,
    AKS_RBAC_CLUSTER_ADMIN,
    GPU_PROVISIONER_AGENT_POOLS,
    KEY_VAULT_SECRETS_USER,
    MONITORING_DATA_READER,
    NETWORK_CONTRIBUTOR,
    SERVICE_BUS_DATA_OWNER,
    SERVICE_BUS_DATA_RECEIVER,
    SERVICE_BUS_DATA_SENDER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
)
from facts.role_actions import (
    AKS_CONTRIBUTOR_ISSUE,
    AKS_CONTRIBUTOR_READ,
    GPU_PROVISIONER_ROLE,
    IDENTITIES,
    ROLES,
    Call,
    IdentityGrants,
    RoleActions,
    allows,
    uncovered,
)
from tests.conftest import by_type, planned
from tools.mocks import MOCK_CLUSTER_PRINCIPAL_ID, MOCK_KUBELET_OBJECT_ID, ProgramRun

DEPLOYER = "00000000-0000-0000-0000-00000000000b"  # the mocked getClientConfig objectId
RA = "azure-native:authorization:RoleAssignment"
RD = "azure-native:authorization:RoleDefinition"
BUILT_IN = {
    role.guid: role.name
    for role in (
        ACR_PULL,
        ACR_PUSH,
        AKS_RBAC_CLUSTER_ADMIN,
        KEY_VAULT_SECRETS_USER,
        MONITORING_DATA_READER,
        SERVICE_BUS_DATA_OWNER,
        SERVICE_BUS_DATA_RECEIVER,
        SERVICE_BUS_DATA_SENDER,
        STORAGE_BLOB_DATA_CONTRIBUTOR,
        STORAGE_BLOB_DATA_READER,
        NETWORK_CONTRIBUTOR,
    )
}
BY_IDENTITY = {g.identity: g for g in IDENTITIES}


def _plural(kind: str) -> str:
    lower = kind.lower()
    return lower[:-1] + "ies" if lower.endswith("y") else lower + "es" if lower.endswith("s") else lower + "s"


def kubernetes_writes(run: ProgramRun) -> list[Call]:
    """The data action Azure RBAC for Kubernetes checks for each kind of object the deployer creates."""
    actions = set()
    for r in run.resources:
        if not r.custom or not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:helm.sh"):
            continue
        api, kind = r.type.split(":")[1:]
        group = api.rsplit("/", 1)[0] if "/" in api else ""
        path = f"{group}/{_plural(kind.removesuffix('Patch'))}" if group != "core" else _plural(kind)
        actions.add(f"Microsoft.ContainerService/managedClusters/{path.strip('/')}/write")
    return [Call(a, True, "a Kubernetes object of the plan", "this program") for a in sorted(actions)]


def assigned_roles(stack: str) -> dict[str, set[str]]:
    """identity -> names of the roles the program assigns it in ``stack``'s plan."""
    run = planned(stack)[1]
    custom = {d.inputs["roleDefinitionId"] for d in by_type(run, RD)}
    out: dict[str, set[str]] = defaultdict(set)
    for r in by_type(run, RA):
        guid = r.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        name = GPU_PROVISIONER_ROLE.name if guid in custom else BUILT_IN[guid]
        principal = r.inputs["principalId"]
        who = (
            "deployer"
            if principal == DEPLOYER
            else "kubelet"
            if principal == MOCK_KUBELET_OBJECT_ID
            else "cluster"
            if principal == MOCK_CLUSTER_PRINCIPAL_ID
            else principal.removeprefix(f"principal-id-of-id-llm-{stack}-")
        )
        out[who].add(name)
    return out


@pytest.mark.parametrize("grants", IDENTITIES, ids=lambda g: g.identity)
def test_every_call_of_every_identity_is_granted(grants: IdentityGrants) -> None:
    assert grants.calls and all(c.source for c in grants.calls)
    assert all(ROLES[name].source for name in grants.roles)
    assert uncovered(grants) == []


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_the_deployer_may_create_every_kubernetes_object_of_the_plan(stack: str) -> None:
    deployer = BY_IDENTITY["deployer"]
    writes = kubernetes_writes(planned(stack)[1])
    assert len(writes) > 10
    assert uncovered(IdentityGrants("deployer", deployer.roles, (*deployer.calls, *writes))) == []


def test_the_program_assigns_exactly_the_roles_of_the_table() -> None:
    union: dict[str, set[str]] = defaultdict(set)
    for stack in ("dev", "prod", "nap"):
        for who, names in assigned_roles(stack).items():
            assert names <= set(BY_IDENTITY[who].roles), (stack, who, names)
            union[who] |= names
    assert {who: set(g.roles) for who, g in BY_IDENTITY.items()} == dict(union)


def test_the_gpu_provisioner_role_is_exactly_what_it_calls_on_one_cluster() -> None:
    run = planned("prod")[1]
    (definition,) = by_type(run, RD)
    inputs = definition.inputs
    assert inputs["permissions"] == [{"actions": list(GPU_PROVISIONER_ROLE.actions)}]
    assert inputs["roleType"] == "CustomRole"
    group = inputs["scope"]
    assert group.endswith("/resourceGroups/rg-llm-prod-swedencentral") and inputs["assignableScopes"] == [
        group
    ]
    (assignment,) = [
        r for r in by_type(run, RA) if r.inputs["roleDefinitionId"].endswith(inputs["roleDefinitionId"])
    ]
    assert assignment.inputs["scope"].endswith("/ManagedCluster/aks-llm-prod")  # the cluster, not the group
    assert assignment.options["dependencies"]  # waits for the definition
    assert definition.urn in assignment.options["dependencies"]
    assert GPU_PROVISIONER_AGENT_POOLS.name == GPU_PROVISIONER_ROLE.name
    # nothing the provisioner does not call: no cluster write, no credentials, no other resource type
    assert not allows(
        GPU_PROVISIONER_ROLE, Call("Microsoft.ContainerService/managedClusters/write", False, "", "")
    )
    creds = "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"
    assert not allows(GPU_PROVISIONER_ROLE, Call(creds, False, "", ""))


def test_the_custom_role_name_is_the_stacks_own_in_the_tenant() -> None:
    """Custom role names are unique in the Microsoft Entra tenant, not per subscription (Azure answers
    "RoleDefinitionWithSameNameExists: A custom role with the same name already exists in this
    directory"): the same stack deployed in two subscriptions of one tenant must not share one."""
    (definition,) = by_type(planned("prod")[1], RD)
    subscription = definition.inputs["scope"].split("/")[2]
    assert definition.inputs["roleName"] == (
        f"{GPU_PROVISIONER_ROLE.name} (rg-llm-prod-swedencentral, subscription {subscription})"
    )


def test_the_check_fails_for_a_role_without_agent_pools() -> None:
    """The issue's reading of "Azure Kubernetes Service Contributor Role" misses every agent pool call;
    the reference read here grants them (managedClusters/*): the custom role holds under both."""
    provisioner = BY_IDENTITY["gpu-provisioner"]
    for reading, missing in ((AKS_CONTRIBUTOR_ISSUE, len(provisioner.calls)), (AKS_CONTRIBUTOR_READ, 0)):
        grants = IdentityGrants("gpu-provisioner", (reading.name,), provisioner.calls)
        assert len(uncovered(grants, {reading.name: reading})) == missing


def test_azure_wildcards_and_exclusions() -> None:
    role = RoleActions(
        "r",
        actions=("Microsoft.ServiceBus/*/queues/read",),
        data_actions=("Microsoft.ContainerService/managedClusters/*",),
        not_data_actions=("Microsoft.ContainerService/managedClusters/namespaces/write",),
    )
    assert allows(role, Call("microsoft.servicebus/namespaces/queues/read", False, "", ""))
    assert not allows(role, Call("Microsoft.ServiceBus/namespaces/queues/write", False, "", ""))
    assert not allows(role, Call("Microsoft.ServiceBus/namespaces/queues/read", True, "", ""))  # not data
    assert allows(
        role, Call("Microsoft.ContainerService/managedClusters/apps/deployments/write", True, "", "")
    )
    assert not allows(role, Call("Microsoft.ContainerService/managedClusters/namespaces/write", True, "", ""))


def test_the_first_up_page_lists_every_identity_and_role() -> None:
    from tests.conftest import ROOT

    page = (ROOT / "docs" / "first-up.md").read_text()
    for grants in IDENTITIES:
        assert f"| {grants.identity} |" in page
        for name in grants.roles:
            assert name in page, name
