"""The cluster's address plan (pure, no Pulumi): the subnets, what each must hold, the outbound path.

Azure CNI overlay (the cluster's only network plugin, ``components/cluster.py``) takes one node-subnet
address per node and gives pods addresses of the pod CIDR, one ``/24`` per node (AKS docs
``articles/aks/concepts-network-azure-cni-overlay.md`` lines 23 and 69, MicrosoftDocs/azure-aks-docs @
fb060abe). Azure keeps 5 addresses of every subnet (the first four and the last: same file, line 65).
The components declare exactly these subnets; the rules check them against the pools' maxima.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config.schema import StackConfig, SubnetConfig, VirtualNetworkConfig
from sizing.agent_pools import AgentPoolSpec
from sizing.deployments import ModelPlan
from sizing.nap import NodePoolSpec
from sizing.quota import kaito_need, kaito_plans, surge_nodes

AZURE_RESERVED_PER_SUBNET = 5  # concepts-network-azure-cni-overlay.md line 65
OVERLAY_POD_BLOCK_PREFIX = 24  # one /24 of the pod CIDR per node (same file, lines 23 and 69)
GATEWAY_FRONTEND_IPS = 1  # the gateway's internal load balancer: one frontend address
# A private endpoint's NIC takes one address per DNS name it serves: the registry's two (the login
# server and the regional data endpoint), one for a vault or a Service Bus namespace.
PRIVATE_ENDPOINT_IPS = {"vault": 1, "namespace": 1, "registry": 2, "blob": 1}
# The delegation API Server VNet Integration needs (api-server-vnet-integration.md line 109).
API_SERVER_DELEGATION = "Microsoft.ContainerService/managedClusters"


# Changing outboundType later: AKS supports some paths for BYO VNets (egress-outboundtype.md lines
# 98-132, with downtime and a new egress IP) but none on NAP clusters (node-auto-provisioning.md line 82).
def outbound_note(outbound_type: str, nap: bool) -> str:
    """What a later change of the outbound type costs: said in the plan."""
    if nap:
        return (
            f"outboundType {outbound_type}: a NAP cluster cannot change it (AKS node-auto-provisioning.md), "
            "so a change REPLACES the cluster (every node and model recreated)"
        )
    return (
        f"outboundType {outbound_type}: a later change is an in-place update with downtime and a new egress "
        "IP (AKS egress-outboundtype.md); update firewall rules that name the egress IP"
    )


@dataclass(frozen=True)
class NodeCount:
    """Nodes one pool can have at once: its maximum plus the upgrade surge."""

    who: str
    nodes: int
    surge: int

    @property
    def total(self) -> int:
        return self.nodes + self.surge

    def describe(self) -> str:
        return f"{self.who} {self.nodes}" + (f" + {self.surge} surge" if self.surge else "")


def node_counts(
    config: StackConfig,
    agent_pools: Sequence[AgentPoolSpec],
    nodepools: Sequence[NodePoolSpec],
    plans: Sequence[ModelPlan],
) -> list[NodeCount]:
    """Every pool's worst case: the system pool, GPU agent pools, NAP NodePools (the SKU with the most
    nodes under the limits) and the nodes KAITO provisions."""
    system = config.cluster.system_pool
    counts = [NodeCount("system", system.count, surge_nodes(system.max_surge, system.count))]
    for spec in agent_pools:
        counts.append(NodeCount(spec.name, spec.max_count, surge_nodes(spec.max_surge, spec.max_count)))
    for np_spec in nodepools:
        most = max((np_spec.max_nodes(sku) for sku in np_spec.skus), default=0)
        if most:
            counts.append(NodeCount(np_spec.name, most, 0))
    for plan in kaito_plans(config, plans):
        need = kaito_need(plan)
        counts.append(NodeCount(need.agent_pool, need.nodes, 0))
    return counts


def usable_addresses(prefix: str) -> int:
    return int(ipaddress.ip_network(prefix).num_addresses) - AZURE_RESERVED_PER_SUBNET


def overlay_node_capacity(pod_cidr: str) -> int:
    """Nodes the pod CIDR can hold: one /24 each."""
    net = ipaddress.ip_network(pod_cidr)
    return 1 << max(OVERLAY_POD_BLOCK_PREFIX - net.prefixlen, 0) if net.prefixlen <= 24 else 0


def private_endpoint_targets(config: StackConfig) -> list[str]:
    """The services reached by a private endpoint, as ``PRIVATE_ENDPOINT_IPS`` keys (item 2 of issue
    23): only with a VNet of the stack's own."""
    if config.virtual_network is None:
        return []
    targets = []
    if not config.addons.key_vault.public_network_access:
        targets.append("vault")
        weights = config.model_weights
        if weights is not None and weights.storage_account_id is None:
            # The weights' account follows the vault's network mode (components.model_weights): with
            # its public endpoint off, the pods stream from Blob only through a private endpoint.
            targets.append("blob")
    private = config.virtual_network.private_endpoints
    stack_private = not config.addons.key_vault.public_network_access  # what an unset switch follows
    if config.addons.async_queue.enabled:
        if stack_private if private.service_bus is None else private.service_bus:
            targets.append("namespace")
        if stack_private if private.container_registry is None else private.container_registry:
            targets.append("registry")
    return targets


@dataclass(frozen=True)
class SubnetPlan:
    """One subnet: config key, Azure name, range, existing id, and the addresses it must hold."""

    key: str  # the config key under virtualNetwork.subnets
    name: str
    address_prefix: str
    existing_id: str | None
    needed: int
    needed_by: str
    delegation: str | None = None

    @property
    def usable(self) -> int:
        return usable_addresses(self.address_prefix)

    def row(self) -> dict[str, Any]:
        return {
            "subnet": self.name,
            "addressPrefix": self.address_prefix,
            "existing": self.existing_id is not None,
            "usable": self.usable,
            "needed": self.needed,
            "neededBy": self.needed_by,
        }


@dataclass(frozen=True)
class NetworkPlan:
    """The VNet of the stack, its subnets and outbound path."""

    existing_id: str | None
    address_space: list[str]
    subnets: dict[str, SubnetPlan]
    outbound_type: str
    firewall_private_ip: str | None
    nat_gateway_id: str | None
    nodes_total: int
    pod_cidr_nodes: int
    nap: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "vnet": self.existing_id or "created by the program",
            "created": self.existing_id is None,
            "addressSpace": self.address_space,
            "subnets": [s.row() for s in self.subnets.values()],
            "outboundType": self.outbound_type,
            "nodesAtMostWithSurge": self.nodes_total,
            "podCidrHoldsNodes": self.pod_cidr_nodes,
            "note": outbound_note(self.outbound_type, self.nap),
        }


SUBNET_NAMES = {
    "nodes": "snet-nodes",
    "privateEndpoints": "snet-private-endpoints",
    "apiServer": "snet-apiserver",
    "gateway": "snet-gateway",
}


def _subnet(
    key: str, subnet: SubnetConfig, needed: int, by: str, delegation: str | None = None
) -> SubnetPlan:
    return SubnetPlan(
        key=key,
        name=SUBNET_NAMES[key],
        address_prefix=subnet.address_prefix,
        existing_id=subnet.id,
        needed=needed,
        needed_by=by,
        delegation=delegation,
    )


def network_plan(
    config: StackConfig, counts: Sequence[NodeCount], targets: Sequence[str]
) -> NetworkPlan | None:
    """The stack's VNet plan for its pools' worst-case node counts (``node_counts``) and the services
    behind its private endpoints (``private_endpoint_targets``), or None where AKS manages the VNet
    (``virtualNetwork`` unset)."""
    vnet: VirtualNetworkConfig | None = config.virtual_network
    if vnet is None:
        return None
    nodes_total = sum(c.total for c in counts)
    s = vnet.subnets
    gateway_in_nodes = s.gateway is None
    node_need = nodes_total + (GATEWAY_FRONTEND_IPS if gateway_in_nodes else 0)
    node_by = ", ".join(c.describe() for c in counts) + (" + gateway frontend" if gateway_in_nodes else "")
    subnets = {
        "nodes": _subnet("nodes", s.nodes, node_need, node_by),
        "privateEndpoints": _subnet(
            "privateEndpoints",
            s.private_endpoints,
            sum(PRIVATE_ENDPOINT_IPS[t] for t in targets),
            ", ".join(targets) or "none yet",
        ),
    }
    if s.api_server is not None:
        subnets["apiServer"] = _subnet(
            "apiServer", s.api_server, 1, "API server internal load balancer", API_SERVER_DELEGATION
        )
    if s.gateway is not None:
        subnets["gateway"] = _subnet(
            "gateway", s.gateway, GATEWAY_FRONTEND_IPS, "gateway internal load balancer"
        )
    return NetworkPlan(
        existing_id=vnet.existing_id,
        address_space=list(vnet.address_space),
        subnets=subnets,
        outbound_type=vnet.egress.outbound_type,
        firewall_private_ip=vnet.egress.firewall_private_ip,
        nat_gateway_id=vnet.egress.nat_gateway_id,
        nodes_total=nodes_total,
        pod_cidr_nodes=overlay_node_capacity(config.cluster.network.pod_cidr),
        nap=config.node_provisioning.mode == "nap",
    )
