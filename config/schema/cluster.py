"""The AKS managed cluster (``aks-llm:cluster``): system pool, address plan, maintenance window, API
server access and the cluster autoscaler's profile."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.errors import KeyValueError
from config.schema.base import Cidr, Guid, Strict, Zones

WeekDay = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
Percent = Annotated[str, Field(pattern=r"^([1-9][0-9]?|100)%$")]
# Cluster autoscaler profile units (ARM spec containerservice 2025-09-01, managedClusters.json,
# AutoScalerProfile): scale-down times, delays and max-node-provision-time "must be an integer followed
# by an 'm'. No unit of time other than minutes (m) is supported"; scan-interval "must be an integer
# number of seconds" (default "10"; the AKS docs' examples write "30s"): both spellings accepted.
Minutes = Annotated[str, Field(pattern=r"^[0-9]+m$")]
Seconds = Annotated[str, Field(pattern=r"^[0-9]+s?$")]
_K8S_VERSION = re.compile(r"1\.[0-9]{2}(\.[0-9]+)?")  # fullmatch: no trailing newline, ASCII digits


# Addresses that never reach a public endpoint as a call's source: a range inside one of them can never
# admit anyone to a public API server (the RFC 5737 documentation ranges are another rule's: a plan-time
# warning, refused when deploying).
NON_PUBLIC_SOURCES = {
    "10.0.0.0/8": "RFC 1918 private",
    "172.16.0.0/12": "RFC 1918 private",
    "192.168.0.0/16": "RFC 1918 private",
    "100.64.0.0/10": "RFC 6598 carrier-grade NAT",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "0.0.0.0/8": '"this network"',
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}


def _api_server_source_range(value: str) -> str:
    """Accepted: a public IPv4 range (CIDR) your calls to the API server come from.

    IPv6 is refused: the az CLI refuses it ("--api-server-authorized-ip-ranges cannot be IPv6 addresses",
    read at Azure/azure-cli@010cc060 src/azure-cli/azure/cli/command_modules/acs/_validators.py,
    validate_ip_ranges, lines 76-101), and the ARM API documents IPv4 CIDRs only ("IP ranges are specified
    in CIDR format, e.g. 137.117.106.88/29": ManagedClusterAPIServerAccessProfile.authorizedIPRanges, read
    in pulumi-azure-native 3.29.0 containerservice/_inputs.py:4049). A range inside a private or other
    non-public block (10.0.0.0/8 ...) is never the source of a call to a public endpoint."""
    network = ipaddress.ip_network(value, strict=True)
    if network.version == 6:
        raise ValueError(
            f"{value} is an IPv6 range: AKS authorized IP ranges are IPv4 only (the az CLI refuses IPv6 "
            "there); list the public IPv4 ranges your calls come from"
        )
    for block, kind in NON_PUBLIC_SOURCES.items():
        if network.prefixlen and network.subnet_of(ipaddress.IPv4Network(block)):
            raise ValueError(
                f"{value} lies in {block} ({kind}): a call to the public API server never comes from such "
                "an address; list the public IPv4 ranges of your office or CI egress (or use "
                "privateCluster: true for access from your network)"
            )
    return value


def _k8s_version(value: str) -> str:
    """Accepted: a Kubernetes minor `1.36` or patch `1.36.2` version (as text)."""
    if not _K8S_VERSION.fullmatch(value):
        raise ValueError(f'{value!r} is not a Kubernetes version like "1.36" or "1.36.2"')
    return value


ApiServerRange = Annotated[Cidr, AfterValidator(_api_server_source_range)]


class SystemPoolConfig(Strict):
    """The system node pool: tainted CriticalAddonsOnly, spread over zones."""

    vm_size: str = "Standard_D4ds_v5"
    """VM size of the system nodes: a general-purpose size of the catalog's `system_skus` (counted in quota
    and cost)."""
    count: Annotated[int, Field(ge=1, le=100)] = 3
    """Number of system nodes (a fixed-size pool)."""
    zones: Zones = Field(default_factory=lambda: [1, 2, 3])
    """Availability zones the system nodes spread over, each listed once."""
    os_disk_size_gb: Annotated[int, Field(ge=30, le=2048)] = 128
    """OS disk size of each system node, in GB."""
    max_surge: Percent = "33%"
    """Extra nodes during an upgrade, as a percentage of `count` (counted in the quota check)."""


class NetworkConfig(Strict):
    """Azure CNI overlay with the Cilium dataplane: only the address plan is a choice."""

    pod_cidr: Cidr = "10.244.0.0/16"
    """Pod address range of the Azure CNI overlay; must not overlap `serviceCidr`."""
    service_cidr: Cidr = "10.0.0.0/16"
    """ClusterIP range of Kubernetes Services; must not overlap `podCidr`."""
    dns_service_ip: str = "10.0.0.10"
    """ClusterIP of the cluster DNS service: an address inside `serviceCidr`, not its network, first (the
    kubernetes API service's) or last address."""

    @model_validator(mode="after")
    def _dns_in_service_cidr(self) -> NetworkConfig:
        service = ipaddress.ip_network(self.service_cidr)
        try:
            dns = ipaddress.ip_address(self.dns_service_ip)
        except ValueError as exc:
            raise KeyValueError(
                "dnsServiceIp", f"dnsServiceIp {self.dns_service_ip!r} is not an IP address"
            ) from exc
        if dns not in service:
            raise KeyValueError(
                "dnsServiceIp",
                f"dnsServiceIp {self.dns_service_ip} must lie in serviceCidr {self.service_cidr}",
            )
        # AKS: the first address of the service range is the kubernetes API service's ClusterIP;
        # the network (and, for IPv4, broadcast) address is no host address at all.
        reserved = {service.network_address, service.network_address + 1}
        if service.version == 4:
            reserved.add(service.broadcast_address)
        if dns in reserved:
            raise KeyValueError(
                "dnsServiceIp",
                f"dnsServiceIp {self.dns_service_ip} is the network, first or last address of serviceCidr "
                f"{self.service_cidr} (the first is the kubernetes API service's); e.g. "
                f"{service.network_address + 10}",
            )
        if service.overlaps(ipaddress.ip_network(self.pod_cidr)):
            raise KeyValueError(
                "serviceCidr", f"serviceCidr {self.service_cidr} overlaps podCidr {self.pod_cidr}"
            )
        return self


class MaintenanceWindowConfig(Strict):
    """Weekly window for both the cluster auto-upgrade and the node OS upgrade."""

    day: WeekDay = "Sunday"
    """Day of the week the window opens."""
    start_hour: Annotated[int, Field(ge=0, le=23)] = 2
    """Hour of the day (0-23, in `utcOffset`) the window opens."""
    duration_hours: Annotated[int, Field(ge=4, le=24)] = 4
    """Length of the window in hours (AKS needs at least 4)."""
    utc_offset: Annotated[str, Field(pattern=r"^[+-](0[0-9]|1[0-4]):[0-5][0-9]$")] = "+00:00"
    """Offset from UTC of `startHour`, as `+HH:MM` or `-HH:MM`."""


class ApiServerConfig(Strict):
    """Who can reach the API server: a private cluster, or a public endpoint limited to CIDRs."""

    private_cluster: bool = False
    """Private API server endpoint (reachable from the cluster's network only); cannot be combined with
    `authorizedIpRanges`."""
    authorized_ip_ranges: list[ApiServerRange] = Field(default_factory=list)
    """Public IPv4 CIDRs allowed to reach a public API server endpoint (no IPv6, no private ranges); a range
    that admits every address (`0.0.0.0/0`) is refused unless `allowUnrestrictedPublicAccess` is true."""
    allow_unrestricted_public_access: bool = False
    """Deliberately allow a public API server open to every address. With `privateCluster` false and no
    `authorizedIpRanges`, the config is refused unless this is true."""

    @model_validator(mode="after")
    def _restricted(self) -> ApiServerConfig:
        if self.private_cluster and self.authorized_ip_ranges:
            raise KeyValueError(
                "authorizedIpRanges", "authorizedIpRanges cannot be combined with privateCluster: true"
            )
        everyone = [r for r in self.authorized_ip_ranges if ipaddress.ip_network(r).prefixlen == 0]
        if everyone and not self.allow_unrestricted_public_access:
            raise KeyValueError(
                "authorizedIpRanges",
                f"authorizedIpRanges {everyone} admits every address: that is an unrestricted public "
                "API server; list your own ranges, or set allowUnrestrictedPublicAccess: true deliberately",
            )
        if not (self.private_cluster or self.authorized_ip_ranges or self.allow_unrestricted_public_access):
            raise ValueError(
                "the API server would be open to the internet: set privateCluster: true, list "
                "authorizedIpRanges, or set allowUnrestrictedPublicAccess: true deliberately"
            )
        return self


class AutoscalerProfileConfig(Strict):
    """Cluster autoscaler settings (AKS takes them as strings)."""

    scale_down_unneeded_time: Minutes = "10m"
    """How long a node must be unneeded before the cluster autoscaler removes it (whole minutes, e.g.
    `10m`)."""
    scale_down_delay_after_add: Minutes = "10m"
    """How long after a scale-up before scale-down is evaluated again (whole minutes)."""
    scan_interval: Seconds = "10s"
    """How often the cluster autoscaler re-evaluates the cluster, in seconds (`10` or `10s`; sent as
    `10s`)."""
    skip_nodes_with_system_pods: bool = True
    """Never remove nodes that run kube-system pods (other than DaemonSets)."""
    expander: Literal["least-waste", "most-pods", "priority", "random"] = "priority"
    """Which node group grows on a scale-up. `priority`: on-demand pools before spot pools, through the
    `cluster-autoscaler-priority-expander` ConfigMap in kube-system that the program writes (the order
    the cost estimate assumes); `least-waste` ties between an on-demand and a spot pool of one SKU."""
    max_node_provision_time: Minutes = "15m"
    """How long the autoscaler waits for a node to become ready (whole minutes)."""
    max_graceful_termination_sec: Annotated[int, Field(ge=1, le=86_400)] = 600
    """Seconds the cluster autoscaler lets a pod terminate on scale-down; must be at least every vLLM
    replica's grace period (preStop drain plus shutdown), or in-flight generations are cut."""


class ClusterConfig(Strict):
    """The AKS managed cluster."""

    kubernetes_version: Annotated[str, AfterValidator(_k8s_version)] = "1.36"
    """Kubernetes minor (`1.36`) or patch (`1.36.2`) version; refused past its AKS end of life on the plan
    date (AKS long-term support needs tier `Premium` and supportPlan `AKSLongTermSupport`)."""
    tier: Literal["Standard", "Free", "Premium"] = "Standard"
    """AKS pricing tier: `Standard` (uptime SLA), `Free` (no SLA) or `Premium` (needed for long-term
    support)."""
    support_plan: Literal["KubernetesOfficial", "AKSLongTermSupport"] = "KubernetesOfficial"
    """`KubernetesOfficial`, or `AKSLongTermSupport` (LTS; only with tier `Premium`)."""
    system_pool: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    """The system node pool: always tainted `CriticalAddonsOnly=true:NoSchedule`, hosts the add-ons."""
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    """The address plan; the network is always Azure CNI overlay with the Cilium dataplane."""
    upgrade_channel: Literal["stable", "patch", "rapid", "node-image", "none"] = "stable"
    """Cluster auto-upgrade channel (`none`: no automatic Kubernetes upgrades)."""
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch", "Unmanaged", "None"] = "NodeImage"
    """How node OS images and security patches are applied."""
    maintenance_window: MaintenanceWindowConfig = Field(default_factory=MaintenanceWindowConfig)
    """Weekly window used by both the cluster auto-upgrade and the node OS upgrade."""
    api_server: ApiServerConfig = Field(
        default_factory=lambda: ApiServerConfig.model_validate({"privateCluster": True})
    )
    """Who can reach the API server. Default: a private cluster."""
    admin_group_object_ids: list[Guid] = Field(default_factory=list)
    """Entra ID group object IDs (GUIDs) that get cluster-admin."""
    grant_deployer_cluster_admin: bool = True
    """Give the identity running `pulumi up` the "AKS RBAC Cluster Admin" role on this cluster only; with
    local accounts disabled it could not create the program's Kubernetes objects otherwise."""
    deployer_principal_type: Literal["User", "ServicePrincipal", "Group"] = "ServicePrincipal"
    """Principal type of that role assignment, which Azure checks: `ServicePrincipal` when CI deploys by
    OIDC, `User` when a person runs `pulumi up` after `az login`."""
    log_retention_days: Annotated[int, Field(ge=30, le=730)] = 30
    """Retention of the Log Analytics workspace, in days."""
    azure_policy: bool = True
    """Enable the Azure Policy add-on."""
    defender: bool = True
    """Enable Microsoft Defender for Containers."""
    image_cleaner_interval_hours: Annotated[int, Field(ge=24, le=2160)] = 120
    """How often Image Cleaner removes unused images from the nodes, in hours."""
    autoscaler: AutoscalerProfileConfig = Field(default_factory=AutoscalerProfileConfig)
    """Cluster autoscaler profile (AKS takes every value as a string). Refused when set in NAP mode, where
    no node pool is autoscaled."""
