"""The cluster's VNet (issue 23): NSGs, subnets, the egress route table, and the cluster identity's
rights on the VNet; or, for a VNet of the user's (``existingId``), only the ids of its subnets.

Subnets are declared inline in the VirtualNetwork, not as separate Subnet resources: a VNet update
that sends no subnets would otherwise remove them (the azure-native provider's documented caveat on
VirtualNetwork.subnets). Their ids are ``<vnet id>/subnets/<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.network as network

from components.child_names import Component
from components.roles import NETWORK_CONTRIBUTOR, assignment_name, role_definition_id
from sizing.network import NetworkPlan, SubnetPlan


def _subnet_id(vnet_id: pulumi.Output[str], name: str) -> pulumi.Output[str]:
    return vnet_id.apply(lambda vid: f"{vid}/subnets/{name}")


@dataclass(frozen=True)
class ClusterNetworkArgs:
    """The address plan and where the created resources go."""

    plan: NetworkPlan
    vnet_name: str
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]


class ClusterNetwork(Component):
    """The VNet the cluster, its private endpoints and its gateway use."""

    subnet_ids: dict[str, pulumi.Output[str]]
    vnet_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ClusterNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aksllm:platform:ClusterNetwork", name, opts)
        plan = args.plan
        self.nsgs: dict[str, network.NetworkSecurityGroup] = {}
        self.route_table: network.RouteTable | None = None
        self.vnet: network.VirtualNetwork | None = None
        if plan.existing_id is not None:
            self.vnet_id = pulumi.Output.from_input(plan.existing_id)
            self.subnet_ids = {
                key: pulumi.Output.from_input(s.existing_id or "") for key, s in plan.subnets.items()
            }
            self.register_outputs({"vnetId": self.vnet_id})
            return
        tags = dict(args.tags)
        for key, subnet in plan.subnets.items():
            self.nsgs[key] = network.NetworkSecurityGroup(
                self.child_name(f"nsg-{key}"),
                network_security_group_name=f"nsg-{args.vnet_name}-{subnet.name.removeprefix('snet-')}",
                resource_group_name=args.resource_group_name,
                location=args.location,
                # No rule of our own: Azure's default rules admit the VNet and the load balancer's probes
                # and deny all other inbound traffic (the Internet included).
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),  # new: no previous name
            )
        if plan.outbound_type == "userDefinedRouting":
            self.route_table = network.RouteTable(
                self.child_name("egress-routes"),
                route_table_name=f"rt-{args.vnet_name}-egress",
                resource_group_name=args.resource_group_name,
                location=args.location,
                disable_bgp_route_propagation=True,
                routes=[
                    network.RouteArgs(
                        name="default-via-firewall",
                        address_prefix="0.0.0.0/0",
                        next_hop_type=network.RouteNextHopType.VIRTUAL_APPLIANCE,
                        next_hop_ip_address=plan.firewall_private_ip,
                    )
                ],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),  # new: no previous name
            )
        self.vnet = network.VirtualNetwork(
            self.child_name("vnet"),
            virtual_network_name=args.vnet_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=list(plan.address_space)),
            subnets=[self._subnet(key, s, plan) for key, s in plan.subnets.items()],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),  # new: no previous name
        )
        self.vnet_id = self.vnet.id
        self.subnet_ids = {key: _subnet_id(self.vnet.id, s.name) for key, s in plan.subnets.items()}
        self.register_outputs({"vnetId": self.vnet_id})

    def _subnet(self, key: str, subnet: SubnetPlan, plan: NetworkPlan) -> network.SubnetArgs:
        nodes = key == "nodes"
        return network.SubnetArgs(
            name=subnet.name,
            address_prefix=subnet.address_prefix,
            network_security_group=network.NetworkSecurityGroupArgs(id=self.nsgs[key].id),
            route_table=network.RouteTableArgs(id=self.route_table.id)
            if nodes and self.route_table
            else None,
            nat_gateway=network.SubResourceArgs(id=plan.nat_gateway_id)
            if nodes and plan.nat_gateway_id
            else None,
            delegations=[network.DelegationArgs(name="aks-api-server", service_name=subnet.delegation)]
            if subnet.delegation
            else None,
            # Network policies (NSG and route tables) apply to private endpoints too.
            private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED
            if key == "privateEndpoints"
            else None,
            # No implicit outbound access: nodes leave by the cluster's outboundType only.
            default_outbound_access=False,
        )

    def grant_cluster(self, principal_id: pulumi.Input[str], subscription_id: pulumi.Input[str]) -> None:
        """Network Contributor on the VNet for the cluster's identity: AKS joins the node subnet, places
        internal load balancers in the gateway subnet and (NAP) launches nodes there. Assigned after the
        cluster exists, as AKS documents for a system-assigned identity (system-assigned-managed-identity.md
        lines 109-120 and its Terraform example at line 182; configure-kubenet.md line 138 says the CLI does
        the same, and advises a user-assigned identity for ARM clients: only a real `pulumi up` shows
        whether creation in the subnet succeeds without it)."""
        role = NETWORK_CONTRIBUTOR
        authorization.RoleAssignment(
            self.child_name("cluster-network-contributor"),
            role_assignment_name=self.vnet_id.apply(lambda scope: assignment_name(scope, role, "cluster")),
            scope=self.vnet_id,
            role_definition_id=role_definition_id(subscription_id, role),
            principal_id=principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=f"{role.name}: the AKS cluster's identity manages its subnets and internal LBs",
            opts=pulumi.ResourceOptions(parent=self),  # new: no previous name
        )
