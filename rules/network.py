"""Rules of the address plan (issue 23): no overlapping ranges, subnets and the pod CIDR large enough
for every pool at its maximum plus surge (pure, no Pulumi)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from config.errors import Problem
from planning.stack_plan import StackPlan
from sizing.network import (
    AZURE_RESERVED_PER_SUBNET,
    overlay_node_capacity,
)

# AKS: the API server subnet is delegated and at least /28 (api-server-vnet-integration.md line 109).
API_SERVER_SUBNET_MAX_PREFIX = 28


def subnets_placed(stack: StackPlan) -> Iterable[Problem]:
    """Each subnet lies inside the VNet's IPv4 address space, overlaps no other subnet, the API server's
    is at least a /28; an adopted VNet (``existingId``) names each subnet's id, a created one none."""
    config = stack.config
    vnet = config.virtual_network
    if vnet is None:
        return
    spaces = [ipaddress.ip_network(c) for c in vnet.address_space]
    for i, space in enumerate(spaces):
        if space.version != 4:
            yield Problem(
                f"virtualNetwork.addressSpace[{i}]",
                str(space),
                "AKS VNets here are IPv4",
                "an IPv4 range, e.g. 10.224.0.0/16",
            )
    seen: list[tuple[str, str]] = []
    for key, subnet in vnet.subnet_items():
        path = f"virtualNetwork.subnets.{key}"
        net = ipaddress.ip_network(subnet.address_prefix)
        if not any(net.version == s.version and net.subnet_of(s) for s in spaces):  # type: ignore[arg-type]
            yield Problem(
                f"{path}.addressPrefix",
                subnet.address_prefix,
                f"lies outside the VNet's addressSpace {', '.join(vnet.address_space)}",
                "a range inside addressSpace",
            )
        for other_key, other in seen:
            if net.overlaps(ipaddress.ip_network(other)):
                yield Problem(
                    f"{path}.addressPrefix",
                    subnet.address_prefix,
                    f"overlaps virtualNetwork.subnets.{other_key}.addressPrefix {other}",
                    "a range no other subnet uses",
                )
        seen.append((key, subnet.address_prefix))
        if key == "apiServer" and net.prefixlen > API_SERVER_SUBNET_MAX_PREFIX:
            yield Problem(
                f"{path}.addressPrefix",
                subnet.address_prefix,
                "AKS needs a delegated subnet of at least /28 for API Server VNet Integration",
                f"a /{API_SERVER_SUBNET_MAX_PREFIX} or larger",
            )
        if vnet.existing_id is None and subnet.id is not None:
            yield Problem(
                f"{path}.id",
                subnet.id,
                "the program creates this VNet, so its subnets have no id yet",
                "no id, or virtualNetwork.existingId to adopt your VNet",
            )
        if vnet.existing_id is not None:
            if subnet.id is None:
                yield Problem(
                    f"{path}.id",
                    None,
                    "virtualNetwork.existingId adopts your VNet: each subnet is named by id",
                    f"{vnet.existing_id}/subnets/<name>",
                )
            elif not subnet.id.lower().startswith(vnet.existing_id.lower() + "/subnets/"):
                yield Problem(
                    f"{path}.id",
                    subnet.id,
                    "not a subnet of virtualNetwork.existingId",
                    f"{vnet.existing_id}/subnets/<name>",
                )


def address_ranges_disjoint(stack: StackPlan) -> Iterable[Problem]:
    """The VNet's address space, the pod CIDR, the service CIDR and the peered ranges must not overlap
    (concepts-network-azure-cni-overlay.md lines 74-75 and 80: pod and service ranges never overlap the
    cluster subnet, peered networks, VPN or ExpressRoute).

    Keys: virtualNetwork.addressSpace[], virtualNetwork.peeredRanges[]
    Keys: cluster.network.podCidr, cluster.network.serviceCidr
    """
    config = stack.config
    vnet = config.virtual_network
    if vnet is None:
        return
    net = config.cluster.network
    named: list[tuple[str, str]] = [
        (f"virtualNetwork.addressSpace[{i}]", c) for i, c in enumerate(vnet.address_space)
    ]
    named += [("cluster.network.podCidr", net.pod_cidr), ("cluster.network.serviceCidr", net.service_cidr)]
    named += [(f"virtualNetwork.peeredRanges[{i}]", c) for i, c in enumerate(vnet.peered_ranges)]
    for j, (key, text) in enumerate(named):
        for other_key, other in named[:j]:
            if other_key.startswith("virtualNetwork.addressSpace") and key.startswith(
                "virtualNetwork.addressSpace"
            ):
                continue
            if key == "cluster.network.serviceCidr" and other_key == "cluster.network.podCidr":
                continue  # the schema's own check (NetworkConfig)
            if ipaddress.ip_network(text).overlaps(ipaddress.ip_network(other)):
                yield Problem(
                    key,
                    text,
                    f"overlaps {other_key} {other}: packets to one range would be routed to the other",
                    "address ranges that do not overlap the VNet, the pod CIDR, the service CIDR and the "
                    "peered ranges",
                )


def subnets_large_enough(stack: StackPlan) -> Iterable[Problem]:
    """Every subnet holds what it must: the node subnet one address per node of every pool at its
    maximum plus upgrade surge (Azure CNI overlay: pods take no subnet address), the private endpoint
    subnet one per endpoint address, plus the 5 addresses Azure keeps in every subnet.

    Keys: virtualNetwork.subnets.<key>.addressPrefix
    """
    plan = stack.network
    if plan is None:
        return
    for subnet in plan.subnets.values():
        if subnet.needed > subnet.usable:
            smallest = 32
            while (1 << (32 - smallest)) - AZURE_RESERVED_PER_SUBNET < subnet.needed:
                smallest -= 1
            yield Problem(
                f"virtualNetwork.subnets.{subnet.key}.addressPrefix",
                subnet.address_prefix,
                f"{subnet.usable} usable addresses (Azure keeps {AZURE_RESERVED_PER_SUBNET}) for "
                f"{subnet.needed} needed ({subnet.needed_by})",
                f"a /{smallest} or larger, or lower the pools' maxima",
            )


def pod_cidr_holds_nodes(stack: StackPlan) -> Iterable[Problem]:
    """Azure CNI overlay gives each node a /24 of the pod CIDR (concepts-network-azure-cni-overlay.md
    lines 23 and 69): the pod CIDR holds every pool at its maximum plus surge."""
    config = stack.config
    counts = stack.node_counts
    total = sum(c.total for c in counts)
    pod_cidr = config.cluster.network.pod_cidr
    capacity = overlay_node_capacity(pod_cidr)
    if total > capacity:
        prefix = 24
        while (1 << (24 - prefix)) < total:
            prefix -= 1
        yield Problem(
            "cluster.network.podCidr",
            pod_cidr,
            f"holds {capacity} nodes (one /24 each with Azure CNI overlay) but the pools reach {total} "
            f"({', '.join(c.describe() for c in counts)})",
            f"a /{prefix} or larger private range",
        )


def private_endpoints_have_a_service(stack: StackPlan) -> Iterable[Problem]:
    """Service Bus and the registry exist only with the async queue: their private endpoints need it.

    Keys: virtualNetwork.privateEndpoints.serviceBus, virtualNetwork.privateEndpoints.containerRegistry
    """
    config = stack.config
    vnet = config.virtual_network
    if vnet is None or config.addons.async_queue.enabled:
        return
    for key, on in (
        ("serviceBus", vnet.private_endpoints.service_bus),
        ("containerRegistry", vnet.private_endpoints.container_registry),
    ):
        if on is True:  # unset follows the vault's mode, and asks for nothing without the queue
            yield Problem(
                f"virtualNetwork.privateEndpoints.{key}",
                True,
                "the async queue is not enabled, so there is no such service to reach privately",
                f"addons.asyncQueue.enabled: true, or remove virtualNetwork.privateEndpoints.{key}",
            )


def api_server_subnet_needs_a_prior_grant(stack: StackPlan) -> Iterable[Problem]:
    """API Server VNet Integration needs the cluster identity's rights on the API server subnet when the
    cluster is created ("lack of permissions at the API server subnet can cause a provisioning failure":
    api-server-vnet-integration.md line 111); this cluster's identity is system-assigned, so it exists,
    and can be granted Network Contributor, only after creation."""
    config = stack.config
    vnet = config.virtual_network
    if vnet is None or vnet.subnets.api_server is None:
        return
    yield Problem(
        "virtualNetwork.subnets.apiServer",
        vnet.subnets.api_server.address_prefix,
        "API Server VNet Integration needs Network Contributor on this subnet before the cluster is "
        "created, and the cluster's system-assigned identity only exists afterwards (a user-assigned "
        "cluster identity, granted first, is not built yet)",
        "no apiServer subnet: keep cluster.apiServer.privateCluster or authorizedIpRanges",
    )


NETWORK_RULES = [
    api_server_subnet_needs_a_prior_grant,
    private_endpoints_have_a_service,
    subnets_placed,
    address_ranges_disjoint,
    subnets_large_enough,
    pod_cidr_holds_nodes,
]
