"""The cluster's own virtual network (``aks-llm:virtualNetwork``; issue 23: reach the models).

A separate block: the VNet the cluster's nodes, the private endpoints, the API server (VNet
integration) and the gateway's internal load balancer use, created by the program or adopted by id.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.schema.base import Cidr, Strict

OutboundType = Literal["loadBalancer", "userDefinedRouting", "userAssignedNATGateway"]
_ARM_RG = r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9_.()]{1,90}"
_ARM_VNET = _ARM_RG + r"/providers/Microsoft\.Network/virtualNetworks/[-A-Za-z0-9_.]{2,64}"
VnetId = Annotated[str, Field(pattern=rf"^{_ARM_VNET}$")]
SubnetId = Annotated[str, Field(pattern=rf"^{_ARM_VNET}/subnets/[-A-Za-z0-9_.]{{1,80}}$")]
NatGatewayId = Annotated[
    str, Field(pattern=rf"^{_ARM_RG}/providers/Microsoft\.Network/natGateways/[-A-Za-z0-9_.]{{1,80}}$")
]


def _ipv4_address(value: str) -> str:
    """Accepted: an IPv4 address, e.g. `10.0.1.4`."""
    try:
        ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 address ({exc}); e.g. 10.0.1.4") from exc
    return value


IPv4Address = Annotated[str, AfterValidator(_ipv4_address)]


class SubnetConfig(Strict):
    """One subnet: its address range, and its resource id when it already exists (bring your own)."""

    address_prefix: Cidr
    """Address range of the subnet (IPv4 CIDR inside the VNet's address space). With `existingId`: the
    existing subnet's range, which the address-plan checks use."""
    id: SubnetId | None = None
    """Resource id of an existing subnet to use (only with `virtualNetwork.existingId`)."""


class SubnetsConfig(Strict):
    """The subnets of the cluster's VNet."""

    nodes: SubnetConfig = Field(
        default_factory=lambda: SubnetConfig.model_validate({"addressPrefix": "10.224.0.0/20"})
    )
    """Every node's NIC (system pool, GPU pools, NAP and KAITO nodes); sized for all pools at their
    maximum plus upgrade surge."""
    private_endpoints: SubnetConfig = Field(
        default_factory=lambda: SubnetConfig.model_validate({"addressPrefix": "10.224.16.0/24"})
    )
    """Private endpoints of the Key Vault, Service Bus and the container registry."""
    api_server: SubnetConfig | None = None
    """API Server VNet Integration: a subnet (at least /28) delegated to AKS. Unset: no VNet integration."""
    gateway: SubnetConfig | None = Field(
        default_factory=lambda: SubnetConfig.model_validate({"addressPrefix": "10.224.17.0/24"})
    )
    """The gateway's internal load balancer frontend. Unset (null): it takes an address of the node subnet."""


class EgressConfig(Strict):
    """How the nodes reach the internet: AKS's load balancer, or a firewall / NAT gateway of yours."""

    outbound_type: OutboundType = "loadBalancer"
    """`loadBalancer` (AKS's public outbound IP), `userDefinedRouting` (a route table sends 0.0.0.0/0 to
    `firewallPrivateIp`) or `userAssignedNATGateway` (`natGatewayId` on the node subnet)."""
    firewall_private_ip: IPv4Address | None = None
    """Next hop of the default route with `userDefinedRouting`: the private IP of your firewall or NVA."""
    nat_gateway_id: NatGatewayId | None = None
    """Resource id of your NAT gateway, with `userAssignedNATGateway`."""

    @model_validator(mode="after")
    def _next_hop_matches_outbound_type(self) -> EgressConfig:
        if self.outbound_type == "userDefinedRouting" and self.firewall_private_ip is None:
            raise ValueError("outboundType userDefinedRouting needs firewallPrivateIp (the next hop)")
        if self.outbound_type != "userDefinedRouting" and self.firewall_private_ip is not None:
            raise ValueError("firewallPrivateIp is used only with outboundType userDefinedRouting")
        if self.outbound_type == "userAssignedNATGateway" and self.nat_gateway_id is None:
            raise ValueError("outboundType userAssignedNATGateway needs natGatewayId")
        if self.outbound_type != "userAssignedNATGateway" and self.nat_gateway_id is not None:
            raise ValueError("natGatewayId is used only with outboundType userAssignedNATGateway")
        return self


class PrivateEndpointsConfig(Strict):
    """Services reached by a private endpoint in the `privateEndpoints` subnet, their public access off.
    The Key Vault's switch is `addons.keyVault.publicNetworkAccess`."""

    service_bus: bool | None = None
    """The async queue's Service Bus namespace: private endpoint, public access off. Needs the Premium
    tier (Service Bus has private endpoints on Premium only), which costs far more than Standard. Unset:
    private exactly when the Key Vault is (`addons.keyVault.publicNetworkAccess: false`), like the model
    weights' account, so a private stack that enables the queue gets it private."""
    container_registry: bool | None = None
    """The worker image's registry: private endpoint, public access off. Needs the Premium SKU; the
    worker-image workflow must then push from inside the VNet (a self-hosted runner). Unset: private
    exactly when the Key Vault is."""


class VirtualNetworkConfig(Strict):
    """The cluster's VNet: created by the program (with NSGs), or an existing one adopted by id."""

    existing_id: VnetId | None = None
    """Resource id of an existing VNet (bring your own): the program creates no VNet, subnet or NSG and
    every subnet needs its `id`. Unset: the program creates the VNet."""
    address_space: list[Cidr] = Field(default_factory=lambda: ["10.224.0.0/16"], min_length=1)
    """Address ranges of the VNet (IPv4); with `existingId`, the existing VNet's ranges."""
    subnets: SubnetsConfig = Field(default_factory=SubnetsConfig)
    """The subnets: nodes, private endpoints, API server (optional), gateway (optional)."""
    peered_ranges: list[Cidr] = Field(default_factory=list)
    """Address ranges reachable from the VNet (peered VNets, VPN, ExpressRoute): checked for overlap with
    the VNet, `cluster.network.podCidr` and `serviceCidr`."""
    egress: EgressConfig = Field(default_factory=EgressConfig)
    """Outbound path of the nodes."""
    private_endpoints: PrivateEndpointsConfig = Field(default_factory=PrivateEndpointsConfig)
    """Service Bus and the container registry behind private endpoints (the vault: `addons.keyVault`)."""

    def subnet_items(self) -> list[tuple[str, SubnetConfig]]:
        """The subnets in use, by their config key."""
        s = self.subnets
        pairs: list[tuple[str, SubnetConfig | None]] = [
            ("nodes", s.nodes),
            ("privateEndpoints", s.private_endpoints),
        ]
        pairs += [("apiServer", s.api_server), ("gateway", s.gateway)]
        return [(key, subnet) for key, subnet in pairs if subnet is not None]
