"""Private endpoints (issue 23 item 2): one per service whose public access is off, each with the
private DNS zone Azure names for it, linked to the stack's VNet, so the service's usual host name
resolves to the endpoint's private address inside the VNet.

Zones and group ids: MicrosoftDocs/azure-docs @ 0095ac36 articles/private-link/private-endpoint-dns.md,
"Azure services DNS zone configuration" (Key Vault / vault: privatelink.vaultcore.azure.net; Container
Registry / registry: privatelink.azurecr.io; Service Bus / namespace: privatelink.servicebus.windows.net;
Storage account / blob: privatelink.blob.core.windows.net: added for the model weights, as public Terraform
and Bicep modules name them; not re-read at that commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_azure_native.network as network
import pulumi_azure_native.privatedns as privatedns

from components.azure_place import AzurePlace
from components.child_names import Component

if TYPE_CHECKING:
    from components.network import ClusterNetwork

# group id (the private-link sub-resource: sizing.network.PRIVATE_ENDPOINT_IPS keys) -> its DNS zone
PRIVATE_DNS_ZONES: dict[str, str] = {
    "vault": "privatelink.vaultcore.azure.net",
    "registry": "privatelink.azurecr.io",
    "namespace": "privatelink.servicebus.windows.net",
    "blob": "privatelink.blob.core.windows.net",  # Storage account / blob (the model weights)
}


@dataclass(frozen=True)
class PrivateTarget:
    """One service reached privately: a short key, its resource id and private-link group id."""

    key: str  # e.g. "key-vault": names the endpoint and its children
    resource_id: pulumi.Input[str]
    group_id: str  # a PRIVATE_DNS_ZONES key


@dataclass(frozen=True)
class PrivateEndpointsArgs:
    targets: list[PrivateTarget]
    subnet_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str  # e.g. "llm-prod": the endpoints are pe-<prefix>-<key>
    tags: Mapping[str, str]


class PrivateEndpoints(Component):
    """Private endpoints, their DNS zones, the zones' links to the VNet and the endpoints' zone groups."""

    def __init__(
        self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aksllm:platform:PrivateEndpoints", name, opts)
        tags = dict(args.tags)
        new = pulumi.ResourceOptions(parent=self)  # new resources: no previous name to alias
        self.zones: dict[str, privatedns.PrivateZone] = {}
        self.endpoints: dict[str, network.PrivateEndpoint] = {}
        for group in sorted({t.group_id for t in args.targets}):
            zone_name = PRIVATE_DNS_ZONES[group]
            zone = privatedns.PrivateZone(
                self.child_name(f"zone-{group}"),
                private_zone_name=zone_name,
                resource_group_name=args.resource_group_name,
                location="Global",  # private DNS zones are global resources
                tags=tags,
                opts=new,
            )
            privatedns.VirtualNetworkLink(
                self.child_name(f"zone-{group}-link"),
                virtual_network_link_name=f"link-{args.name_prefix}",
                private_zone_name=zone.name,
                resource_group_name=args.resource_group_name,
                location="Global",
                registration_enabled=False,
                virtual_network=privatedns.SubResourceArgs(id=args.vnet_id),
                tags=tags,
                opts=new,
            )
            self.zones[group] = zone
        for target in args.targets:
            endpoint = network.PrivateEndpoint(
                self.child_name(target.key),
                private_endpoint_name=f"pe-{args.name_prefix}-{target.key}",
                resource_group_name=args.resource_group_name,
                location=args.location,
                subnet=network.SubnetArgs(id=args.subnet_id),
                private_link_service_connections=[
                    network.PrivateLinkServiceConnectionArgs(
                        name=target.key,
                        private_link_service_id=target.resource_id,
                        group_ids=[target.group_id],
                    )
                ],
                tags=tags,
                opts=new,
            )
            network.PrivateDnsZoneGroup(
                self.child_name(f"{target.key}-dns"),
                private_dns_zone_group_name="default",
                private_endpoint_name=endpoint.name,
                resource_group_name=args.resource_group_name,
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=target.group_id, private_dns_zone_id=self.zones[target.group_id].id
                    )
                ],
                opts=new,
            )
            self.endpoints[target.key] = endpoint
        self.register_outputs({"endpoints": sorted(self.endpoints)})


# group id -> the endpoint's short name
_KEYS = {
    "vault": "key-vault",
    "namespace": "service-bus",
    "registry": "container-registry",
    "blob": "model-weights",
}


def private_endpoints(
    parent: Component,
    network_: ClusterNetwork,
    resource_ids: Mapping[str, pulumi.Input[str]],
    groups: list[str],
    place: AzurePlace,
    name_prefix: str,
) -> PrivateEndpoints:
    """The stack's private endpoints: one per group id in ``groups`` (``sizing.network``'s targets)."""
    return PrivateEndpoints(
        parent.child_name("private-endpoints"),
        PrivateEndpointsArgs(
            targets=[PrivateTarget(_KEYS[g], resource_ids[g], g) for g in groups],
            subnet_id=network_.subnet_ids["privateEndpoints"],
            vnet_id=network_.vnet_id,
            resource_group_name=place.resource_group_name,
            location=place.location,
            name_prefix=name_prefix,
            tags=place.tags,
        ),
        opts=pulumi.ResourceOptions(parent=parent),  # new: no previous name
    )
