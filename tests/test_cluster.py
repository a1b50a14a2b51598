"""The AKS cluster component, through the real program under mocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import by_type, one, planned, run_with
from tools.mocks import ProgramRun

MC = "azure-native:containerservice:ManagedCluster"


def cluster_inputs(run: ProgramRun) -> dict[str, Any]:
    return one(run, MC).inputs


def test_secure_defaults_on_every_stack(stack_run: tuple[str, ProgramRun]) -> None:
    _stack, run = stack_run
    mc = cluster_inputs(run)
    assert mc["oidcIssuerProfile"] == {"enabled": True}
    assert mc["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert mc["disableLocalAccounts"] is True
    assert mc["enableRBAC"] is True
    assert mc["aadProfile"]["managed"] is True and mc["aadProfile"]["enableAzureRBAC"] is True
    net = mc["networkProfile"]
    assert (
        net["networkPlugin"],
        net["networkPluginMode"],
        net["networkDataplane"],
        net["networkPolicy"],
    ) == (
        "azure",
        "overlay",
        "cilium",
        "cilium",
    )
    assert mc["addonProfiles"]["omsagent"]["enabled"] is True
    workspace = one(run, "azure-native:operationalinsights:Workspace").inputs["workspaceName"]
    assert mc["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"].endswith(
        "/" + workspace
    )
    assert mc["autoUpgradeProfile"]["upgradeChannel"] in {"stable", "patch", "rapid", "node-image", "none"}
    assert mc["autoUpgradeProfile"]["nodeOSUpgradeChannel"] == "NodeImage"
    api = mc["apiServerAccessProfile"]
    assert api["enablePrivateCluster"] or api.get("authorizedIPRanges"), "API server open to the internet"


def test_system_pool_is_tainted_and_zoned() -> None:
    for stack, zones in (("dev", ["1"]), ("prod", ["1", "2", "3"])):
        pools = cluster_inputs(planned(stack)[1])["agentPoolProfiles"]
        system = next(p for p in pools if p["mode"] == "System")
        assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
        assert system["availabilityZones"] == zones
        assert system["enableAutoScaling"] is False


def test_prod_is_standard_tier_with_defender_and_dev_relaxes_cost() -> None:
    prod = cluster_inputs(planned("prod")[1])
    dev = cluster_inputs(planned("dev")[1])
    assert prod["sku"] == {"name": "Base", "tier": "Standard"}
    assert prod["securityProfile"]["defender"]["securityMonitoring"] == {"enabled": True}
    assert dev["sku"]["tier"] == "Free"
    assert "defender" not in dev["securityProfile"]


def test_maintenance_windows_for_both_channels(stack_run: tuple[str, ProgramRun]) -> None:
    _, run = stack_run
    configs = {
        r.inputs["configName"]: r.inputs
        for r in by_type(run, "azure-native:containerservice:MaintenanceConfiguration")
    }
    assert set(configs) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    for window in configs.values():
        mw = window["maintenanceWindow"]
        assert mw["durationHours"] >= 4
        assert mw["schedule"]["weekly"]["intervalWeeks"] == 1


def test_every_azure_resource_is_tagged(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    taggable = [
        r for r in run.resources if r.type.startswith("azure-native:") and "tags" in _tag_capable(r.type)
    ]
    assert taggable
    for r in taggable:
        tags = r.inputs.get("tags", {})
        assert tags.get("stack") == stack and tags.get("managed-by") == "pulumi", (
            f"{r.type} {r.name} untagged"
        )


def _tag_capable(type_: str) -> set[str]:
    """Azure resource types that carry tags (child configs such as maintenance windows do not)."""
    untaggable = {
        "azure-native:containerservice:MaintenanceConfiguration",
        "azure-native:authorization:RoleAssignment",
        "azure-native:authorization:RoleDefinition",  # RoleDefinitionArgs has no tags
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:containerservice:AgentPool",
        "azure-native:keyvault:Secret",
        "azure-native:servicebus:Queue",
        "azure-native:insights:DataCollectionRuleAssociation",
        "azure-native:consumption:Budget",  # BudgetArgs has no tags
        "azure-native:monitor:DataCollectionRuleAssociation",  # an extension resource: no tags
        "azure-native:storage:BlobContainer",  # BlobContainerArgs has no tags (the account carries them)
        "azure-native:network:PrivateDnsZoneGroup",  # a private endpoint's child: no tags in its Args
    }
    return set() if type_ in untaggable else {"tags"}


def test_kubernetes_provider_uses_secret_user_kubeconfig(stack_run: tuple[str, ProgramRun]) -> None:
    _, run = stack_run
    provider = one(run, "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"


def test_names_are_deterministic_and_within_azure_limits() -> None:
    first = [(r.urn, r.inputs) for r in planned("prod")[1].resources]
    from tests.conftest import ROOT
    from tools.plan import run_stack

    again = [(r.urn, r.inputs) for r in run_stack(ROOT, "prod")[1].resources]
    assert first == again
    mc = cluster_inputs(planned("prod")[1])
    assert len(mc["resourceName"]) <= 63 and len(mc["dnsPrefix"]) <= 54


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_outputs_name_the_cluster(stack: str) -> None:
    outputs = planned(stack)[1].outputs
    assert outputs["clusterName"] == f"aks-llm-{stack}"
    assert outputs["oidcIssuerUrl"].startswith("https://")


def test_system_pool_surges_by_its_configured_max_surge(tmp_path: Path) -> None:
    """The system pool's upgradeSettings.maxSurge is the stack's (schema default 33%), never a constant."""
    for stack in ("dev", "prod"):
        pools = cluster_inputs(planned(stack)[1])["agentPoolProfiles"]
        system = next(p for p in pools if p["mode"] == "System")
        assert system["upgradeSettings"] == {"maxSurge": "33%"}
    run = run_with(
        tmp_path,
        "config:\n  aks-llm:location: swedencentral\n"
        "  aks-llm:cluster: {apiServer: {privateCluster: true}, systemPool: {count: 2, maxSurge: 50%}}\n"
        "  aks-llm:gpuPools:\n"
        "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, purpose: batch, onDemand: {max: 1}}\n",
    )
    assert run.exit_code == 0
    system = next(p for p in cluster_inputs(run)["agentPoolProfiles"] if p["mode"] == "System")
    assert system["upgradeSettings"] == {"maxSurge": "50%"}


def test_every_kubernetes_object_goes_through_the_clusters_provider(
    stack_run: tuple[str, ProgramRun],
) -> None:
    """Never the ambient kubeconfig: each Kubernetes resource names the cluster's one provider (the plan's
    JSON leaves providers out, so this is what guards moving how the provider reaches the components)."""
    _, run = stack_run
    (provider,) = by_type(run, "pulumi:providers:kubernetes")
    objects = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert objects
    assert {r.options.get("provider", "").rsplit("::", 1)[0] for r in objects} == {provider.urn}
