"""The stack's own VNet (issue 23 item 1): the address-plan rules over the pure loader, a property of the
subnet-size rule, and the declared resources of a few real program runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalog import load_catalog
from planning.stack_plan import plan_stack
from sizing.network import AZURE_RESERVED_PER_SUBNET
from tests.conftest import by_type, one, parse_values, planned, run_with, value_problems

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net"
VNET_ID = f"{SUB}/providers/Microsoft.Network/virtualNetworks/hub"
A100 = {"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "purpose": "serving"}


def _paths(extra: dict[str, Any]) -> dict[str, str]:
    return {p.path: p.message for p in value_problems(extra)}


def test_prod_plans_its_own_vnet_with_an_nsg_on_every_subnet() -> None:
    _, run = planned("prod")
    vnet = one(run, "azure-native:network:VirtualNetwork")
    subnets = {s["name"]: s for s in vnet.inputs["subnets"]}
    assert set(subnets) == {"snet-nodes", "snet-private-endpoints", "snet-gateway"}
    nsgs = {r.urn for r in by_type(run, "azure-native:network:NetworkSecurityGroup")}
    assert len(nsgs) == 3
    assert all(s["networkSecurityGroup"]["id"] for s in subnets.values())
    assert all(s["defaultOutboundAccess"] is False for s in subnets.values())


def test_every_node_pool_uses_the_created_node_subnet() -> None:
    _, run = planned("prod")
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    system = cluster.inputs["agentPoolProfiles"][0]
    assert system["vnetSubnetID"].endswith("/subnets/snet-nodes")
    assert "enableVnetIntegration" not in cluster.inputs["apiServerAccessProfile"]
    assert cluster.inputs["networkProfile"]["outboundType"] == "loadBalancer"
    pools = by_type(run, "azure-native:containerservice:AgentPool")
    assert pools and all(p.inputs["vnetSubnetID"].endswith("/subnets/snet-nodes") for p in pools)
    assert all("vnetSubnetID" in p.options["replaceOnChanges"] for p in pools)
    grant = [
        r
        for r in by_type(run, "azure-native:authorization:RoleAssignment")
        if r.name.endswith("cluster-network-contributor")
    ]
    assert len(grant) == 1 and grant[0].inputs["principalType"] == "ServicePrincipal"


def test_dev_keeps_the_aks_managed_vnet() -> None:
    _, run = planned("dev")
    assert not by_type(run, "azure-native:network:VirtualNetwork")
    system = one(run, "azure-native:containerservice:ManagedCluster").inputs["agentPoolProfiles"][0]
    assert "vnetSubnetID" not in system


def test_the_plan_shows_each_subnet_and_what_it_must_hold() -> None:
    _, run = planned("prod")
    net = run.outputs["network"]
    nodes = next(s for s in net["subnets"] if s["subnet"] == "snet-nodes")
    assert nodes["usable"] == 1024 - AZURE_RESERVED_PER_SUBNET
    assert "a100 3 + 1 surge" in nodes["neededBy"]
    assert "in-place update with downtime" in net["note"]


def test_adopted_vnet_declares_no_network_resource_and_uses_the_ids(tmp_path: Path) -> None:
    text = f"""config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {{apiServer: {{privateCluster: true}}}}
  aks-llm:virtualNetwork:
    existingId: {VNET_ID}
    addressSpace: [10.50.0.0/16]
    subnets:
      nodes: {{addressPrefix: 10.50.0.0/22, id: {VNET_ID}/subnets/aks}}
      privateEndpoints: {{addressPrefix: 10.50.4.0/24, id: {VNET_ID}/subnets/pe}}
      gateway: null
    egress: {{outboundType: userDefinedRouting, firewallPrivateIp: 10.0.1.4}}
"""
    run = run_with(tmp_path, text)
    assert run.exit_code == 0
    assert not by_type(run, "azure-native:network:VirtualNetwork")
    assert not by_type(run, "azure-native:network:RouteTable")  # your subnet brings its routes
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["agentPoolProfiles"][0]["vnetSubnetID"] == f"{VNET_ID}/subnets/aks"
    assert cluster.inputs["networkProfile"]["outboundType"] == "userDefinedRouting"


def test_user_defined_routing_sends_the_default_route_to_the_firewall(tmp_path: Path) -> None:
    text = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:virtualNetwork: {egress: {outboundType: userDefinedRouting, firewallPrivateIp: 10.0.1.4}}
"""
    run = run_with(tmp_path, text)
    assert run.exit_code == 0
    route = one(run, "azure-native:network:RouteTable").inputs["routes"][0]
    assert route == {
        "name": "default-via-firewall",
        "addressPrefix": "0.0.0.0/0",
        "nextHopType": "VirtualAppliance",
        "nextHopIpAddress": "10.0.1.4",
    }
    nodes = next(
        s
        for s in one(run, "azure-native:network:VirtualNetwork").inputs["subnets"]
        if s["name"] == "snet-nodes"
    )
    assert nodes["routeTable"]["id"]


def test_a_nap_cluster_is_replaced_when_its_outbound_type_changes() -> None:
    _, run = planned("nap")
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    assert "networkProfile.outboundType" in cluster.options["replaceOnChanges"]
    _, prod = planned("prod")
    assert "networkProfile.outboundType" not in one(
        prod, "azure-native:containerservice:ManagedCluster"
    ).options.get("replaceOnChanges", [])


def test_overlapping_ranges_are_refused_with_both_keys() -> None:
    got = _paths(
        {
            "virtualNetwork": {
                "addressSpace": ["10.0.0.0/8"],
                "peeredRanges": ["192.168.0.0/16", "10.1.0.0/16"],
            }
        }
    )
    assert "overlaps virtualNetwork.addressSpace[0] 10.0.0.0/8" in got["cluster.network.podCidr"]
    assert "cluster.network.serviceCidr" in got
    assert "overlaps virtualNetwork.addressSpace[0]" in got["virtualNetwork.peeredRanges[1]"]
    assert "virtualNetwork.peeredRanges[0]" not in got


def test_subnets_outside_the_space_overlapping_or_too_small_are_refused() -> None:
    got = _paths(
        {
            "virtualNetwork": {
                "subnets": {
                    "nodes": {"addressPrefix": "10.225.0.0/24"},
                    "privateEndpoints": {"addressPrefix": "10.224.16.0/24"},
                    "gateway": {"addressPrefix": "10.224.16.128/25"},
                    "apiServer": {"addressPrefix": "10.224.20.0/29"},
                }
            }
        }
    )
    assert "outside the VNet's addressSpace" in got["virtualNetwork.subnets.nodes.addressPrefix"]
    assert (
        "overlaps virtualNetwork.subnets.privateEndpoints"
        in got["virtualNetwork.subnets.gateway.addressPrefix"]
    )
    assert "at least /28" in got["virtualNetwork.subnets.apiServer.addressPrefix"]


def test_a_node_subnet_too_small_for_the_pools_maximum_plus_surge_is_refused() -> None:
    problems = value_problems(
        {
            "gpuPools": [{**A100, "onDemand": {"min": 0, "max": 20}}],
            "virtualNetwork": {"subnets": {"nodes": {"addressPrefix": "10.224.0.0/28"}}},
        }
    )
    (p,) = [p for p in problems if p.path == "virtualNetwork.subnets.nodes.addressPrefix"]
    # 3 system + 1 surge, 20 a100 + 2 surge (10 % rounded up): 26 > 16 - 5
    assert "11 usable" in p.message and "26 needed" in p.message and "a100 20 + 2 surge" in p.message
    assert p.accepted.startswith("a /27 or larger")


def test_a_pod_cidr_too_small_for_one_slash_24_per_node_is_refused() -> None:
    (p,) = value_problems(
        {"cluster": {"apiServer": {"privateCluster": True}, "network": {"podCidr": "10.244.0.0/23"}}}
    )
    assert (
        p.path == "cluster.network.podCidr"
        and "holds 2 nodes" in p.message
        and p.accepted.startswith("a /22")
    )


def test_adopted_subnets_need_ids_of_that_vnet_and_created_ones_none() -> None:
    got = _paths(
        {
            "virtualNetwork": {
                "existingId": VNET_ID,
                "subnets": {
                    "nodes": {
                        "addressPrefix": "10.224.0.0/20",
                        "id": f"{SUB}/providers/Microsoft.Network/virtualNetworks/other/subnets/a",
                    }
                },
            }
        }
    )
    assert "not a subnet of virtualNetwork.existingId" in got["virtualNetwork.subnets.nodes.id"]
    assert "named by id" in got["virtualNetwork.subnets.privateEndpoints.id"]
    got = _paths(
        {
            "virtualNetwork": {
                "subnets": {"nodes": {"addressPrefix": "10.224.0.0/20", "id": f"{VNET_ID}/subnets/a"}}
            }
        }
    )
    assert "creates this VNet" in got["virtualNetwork.subnets.nodes.id"]


def test_egress_needs_its_next_hop() -> None:
    (p,) = value_problems({"virtualNetwork": {"egress": {"outboundType": "userAssignedNATGateway"}}})
    assert p.path == "virtualNetwork.egress" and "natGatewayId" in p.message


@settings(max_examples=25, deadline=None)
@given(prefix=st.integers(min_value=24, max_value=29), pool_max=st.integers(min_value=1, max_value=60))
def test_node_subnet_accepted_exactly_when_every_node_fits(prefix: int, pool_max: int) -> None:
    extra = {
        "gpuPools": [{**A100, "onDemand": {"min": 0, "max": pool_max}}],
        "virtualNetwork": {"subnets": {"nodes": {"addressPrefix": f"10.224.0.0/{prefix}"}}},
    }
    surge = -(-pool_max // 10)  # the pool's default maxSurge 10 %, rounded up
    fits = 3 + 1 + pool_max + surge <= (1 << (32 - prefix)) - AZURE_RESERVED_PER_SUBNET
    try:
        config = parse_values(extra)
    except Exception:
        problems = value_problems(extra)
        assert not fits and {p.path for p in problems} == {"virtualNetwork.subnets.nodes.addressPrefix"}
        return
    assert fits
    plan = plan_stack(config, load_catalog()).network
    assert plan is not None and plan.subnets["nodes"].needed <= plan.subnets["nodes"].usable


def test_api_server_vnet_integration_is_refused_until_the_cluster_identity_can_be_granted_first() -> None:
    (p,) = value_problems({"virtualNetwork": {"subnets": {"apiServer": {"addressPrefix": "10.224.20.0/28"}}}})
    assert p.path == "virtualNetwork.subnets.apiServer" and "before the cluster is created" in p.message
