"""Private endpoints (issue 23 item 2): prod's private Key Vault, the opt-in private Service Bus and
registry, and the refusals where no private endpoint can exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, by_type, one, planned, run_with, value_problems
from tools.mocks import ProgramRun

PE = "azure-native:network:PrivateEndpoint"
ZONE = "azure-native:privatedns:PrivateZone"


def _endpoints(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """group id -> the endpoint's inputs."""
    return {r.inputs["privateLinkServiceConnections"][0]["groupIds"][0]: r.inputs for r in by_type(run, PE)}


def test_prod_reaches_its_vault_and_its_weights_by_private_endpoints_only() -> None:
    _, run = planned("prod")
    vault = one(run, "azure-native:keyvault:Vault").inputs
    assert vault["properties"]["publicNetworkAccess"] == "Disabled"
    account = one(run, "azure-native:storage:StorageAccount").inputs
    assert account["publicNetworkAccess"] == "Disabled"  # it follows the vault's mode
    endpoints = _endpoints(run)
    assert set(endpoints) == {"vault", "blob"}
    services = {"vault": "/Vault/" + vault["vaultName"], "blob": "/StorageAccount/" + account["accountName"]}
    for group, endpoint in endpoints.items():
        connection = endpoint["privateLinkServiceConnections"][0]
        assert connection["privateLinkServiceId"].endswith(services[group])
        assert endpoint["subnet"]["id"].endswith("/subnets/snet-private-endpoints")
    zones = {z.inputs["privateZoneName"]: z.inputs for z in by_type(run, ZONE)}
    assert set(zones) == {"privatelink.vaultcore.azure.net", "privatelink.blob.core.windows.net"}
    assert all(z["location"] == "Global" for z in zones.values())
    links = by_type(run, "azure-native:privatedns:VirtualNetworkLink")
    assert len(links) == 2
    for link in links:
        assert link.inputs["virtualNetwork"]["id"].endswith("/VirtualNetwork/vnet-llm-prod")
        assert link.inputs["registrationEnabled"] is False
    groups = {
        g.inputs["privateEndpointName"]: g.inputs["privateDnsZoneConfigs"][0]["privateDnsZoneId"]
        for g in by_type(run, "azure-native:network:PrivateDnsZoneGroup")
    }
    assert groups[endpoints["vault"]["privateEndpointName"]].endswith("privatelink.vaultcore.azure.net")
    assert groups[endpoints["blob"]["privateEndpointName"]].endswith("privatelink.blob.core.windows.net")
    pe_subnet = next(s for s in run.outputs["network"]["subnets"] if s["subnet"] == "snet-private-endpoints")
    assert pe_subnet["needed"] == 2


def test_dev_stays_public_with_its_reason_in_the_stack_file() -> None:
    _, run = planned("dev")
    assert not by_type(run, PE) and not by_type(run, ZONE)
    assert one(run, "azure-native:keyvault:Vault").inputs["properties"]["publicNetworkAccess"] == "Enabled"
    assert one(run, "azure-native:containerregistry:Registry").inputs["sku"]["name"] == "Basic"
    assert one(run, "azure-native:servicebus:Namespace").inputs["sku"]["name"] == "Standard"
    assert "Relaxed on purpose" in (ROOT / "Pulumi.dev.yaml").read_text()
    (note,) = [n for n in run.outputs["notes"] if "worker is not deployed yet" in n]
    assert "WORKER_IMAGE_RUNNER" not in note  # a public registry takes a GitHub-hosted runner's push


@pytest.mark.parametrize(
    "switches",
    [{"serviceBus": True, "containerRegistry": True}, {}],
    ids=["asked", "unset-follows-the-private-vault"],
)
def test_a_private_queue_and_registry_go_premium_with_public_access_off(
    tmp_path: Path, switches: dict[str, bool]
) -> None:
    """Asked for, or unset in a stack whose vault is private (prod's mode): a queue enabled there is
    private by default."""
    doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config = doc["config"]
    config["aks-llm:addons"]["keyVault"]["publicNetworkAccess"] = False
    config["aks-llm:virtualNetwork"] = {"privateEndpoints": switches}
    run = run_with(tmp_path, yaml.safe_dump(doc), stack="dev")
    assert run.exit_code == 0
    namespace = one(run, "azure-native:servicebus:Namespace").inputs
    assert namespace["sku"] == {"name": "Premium", "tier": "Premium", "capacity": 1}
    assert namespace["publicNetworkAccess"] == "Disabled"
    registry = one(run, "azure-native:containerregistry:Registry").inputs
    assert registry["sku"]["name"] == "Premium" and registry["publicNetworkAccess"] == "Disabled"
    endpoints = _endpoints(run)
    assert set(endpoints) == {"vault", "namespace", "registry", "blob"}
    ids = {g: e["privateLinkServiceConnections"][0]["privateLinkServiceId"] for g, e in endpoints.items()}
    assert ids["namespace"].endswith(f"/Namespace/{namespace['namespaceName']}")
    assert ids["registry"].endswith(f"/Registry/{registry['registryName']}")
    zones = {r.inputs["privateZoneName"] for r in by_type(run, ZONE)}
    assert zones == {
        "privatelink.vaultcore.azure.net",
        "privatelink.servicebus.windows.net",
        "privatelink.azurecr.io",
        "privatelink.blob.core.windows.net",  # dev's model weights follow the vault's mode
    }
    assert len(by_type(run, "azure-native:privatedns:VirtualNetworkLink")) == 4
    pe_subnet = next(s for s in run.outputs["network"]["subnets"] if s["subnet"] == "snet-private-endpoints")
    assert pe_subnet["needed"] == 5  # the registry's endpoint takes two addresses (login and data)
    # a GitHub-hosted runner cannot push to it: the plan's note says to build on a runner in the VNet
    (note,) = [n for n in run.outputs["notes"] if "worker is not deployed yet" in n]
    assert "public access is off" in note and "WORKER_IMAGE_RUNNER" in note


def test_a_private_vault_without_a_vnet_is_refused() -> None:
    (p,) = value_problems({"addons": {"keyVault": {"publicNetworkAccess": False}}})
    assert p.path == "addons.keyVault.publicNetworkAccess"
    assert "without virtualNetwork" in p.message and "virtualNetwork" in p.accepted


def test_a_private_vault_with_a_vnet_is_accepted() -> None:
    from tests.conftest import parse_values

    config = parse_values({"addons": {"keyVault": {"publicNetworkAccess": False}}, "virtualNetwork": {}})
    assert config.virtual_network is not None


def test_private_queue_endpoints_without_the_queue_are_refused() -> None:
    problems = value_problems(
        {"virtualNetwork": {"privateEndpoints": {"serviceBus": True, "containerRegistry": True}}}
    )
    assert {p.path for p in problems} == {
        "virtualNetwork.privateEndpoints.serviceBus",
        "virtualNetwork.privateEndpoints.containerRegistry",
    }


def test_the_cost_section_adds_the_private_endpoints_and_keeps_them_out_of_the_totals() -> None:
    _, run = planned("prod")
    cost = run.outputs["cost"]
    network = cost["network"]
    assert network["privateEndpoints"] == 2 and network["privateEndpointsMonthly"] == 14.6
    assert "unverified" in network["note"]
    _, dev = planned("dev")
    assert "network" not in dev.outputs["cost"]  # AKS's managed VNet: nothing of the stack's own


def test_an_unset_switch_follows_a_public_vault_and_false_keeps_a_private_stacks_queue_public(
    tmp_path: Path,
) -> None:
    """dev runs the queue: unset switches follow the vault's mode; an explicit false keeps the queue and
    the registry public in a private stack."""
    from sizing.network import private_endpoint_targets
    from tests.conftest import parse_with

    def targets(vault_public: bool, switches: dict[str, bool]) -> list[str]:
        doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
        doc["config"]["aks-llm:addons"]["keyVault"]["publicNetworkAccess"] = vault_public
        doc["config"]["aks-llm:virtualNetwork"] = {"privateEndpoints": switches}
        return private_endpoint_targets(parse_with(tmp_path, yaml.safe_dump(doc), stack="dev"))

    assert targets(True, {}) == []
    assert targets(False, {}) == ["vault", "blob", "namespace", "registry"]
    assert targets(False, {"serviceBus": False, "containerRegistry": False}) == ["vault", "blob"]
