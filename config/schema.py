"""Everything a stack may say: the pydantic v2 schema of the project's Pulumi config namespace.

Keys are camelCase in the stack files (``aks-llm:cluster``, ``aks-llm:gpuPools`` ...). Every model is
strict and forbids unknown keys, so a typo is an error, never a silently ignored setting.
Rules that need the catalog (SKU names, sizing, quota) live in ``rules.check``.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

from config import versions
from config.catalog import closest_names
from config.cron import ACCEPTED as CRON_ACCEPTED
from config.cron import CronError, check_schedule
from config.errors import KeyValueError
from config.regions import AZURE_REGIONS
from config.timezones import iana_zones

WeekDay = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
Purpose = Literal["serving", "batch"]

_TAG_FORBIDDEN = re.compile(r"[<>%&\\?/]")
_K8S_VERSION = re.compile(r"1\.[0-9]{2}(\.[0-9]+)?")  # fullmatch: no trailing newline, ASCII digits


class Strict(BaseModel):
    """Base of every config model: strict types, no unknown keys, camelCase keys, immutable."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,  # NaN and infinity are refused in every float field
        alias_generator=to_camel,
        populate_by_name=False,
        validate_default=True,
        use_attribute_docstrings=True,  # the docstring under a field is its description (tools.gen_docs)
    )


def _cidr(value: str) -> str:
    """Accepted: a CIDR block, e.g. `10.244.0.0/16`."""
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a CIDR block ({exc}); e.g. 10.244.0.0/16") from exc
    return value


# The editor's hint in the JSON schema (the validators decide: a GUID's layout, a real date)
GUID_SCHEMA: dict[str, object] = {"pattern": "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"}
DATE_SCHEMA: dict[str, object] = {"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _guid(value: str) -> str:
    """Accepted: an Entra ID object ID, a GUID like `7b3c0a52-1f4e-4d2a-9c6b-0e5d8f7a6b21` (not all zeros)."""
    if not _GUID.fullmatch(value) or not value.replace("-", "").strip("0"):
        raise ValueError(
            f"{value!r} is not an Entra ID object ID: a GUID of 8-4-4-4-12 hexadecimal digits such as "
            "7b3c0a52-1f4e-4d2a-9c6b-0e5d8f7a6b21 (az ad group show --group NAME --query id)"
        )
    return value


def _iso_date(value: str) -> str:
    """Accepted: a calendar date `YYYY-MM-DD`."""
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date YYYY-MM-DD, e.g. 2026-11-01") from None
    return value


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


MAX_USER_TAGS = 47  # Azure allows 50 tags per resource; the program adds 3 (facts.tags)


def _tags(value: dict[str, str]) -> dict[str, str]:
    """Accepted: at most 47 tags; names of 1-512 characters without `< > % & \\ ? /`, values up to
    256 characters."""
    if len(value) > MAX_USER_TAGS:
        raise ValueError(
            f"{len(value)} tags: Azure allows 50 per resource and the program adds 3, so at most "
            f"{MAX_USER_TAGS}"
        )
    for key, val in value.items():
        if not key or len(key) > 512 or _TAG_FORBIDDEN.search(key):
            raise ValueError(f"tag name {key!r} breaks Azure rules: 1-512 characters, none of < > % & \\ ? /")
        if len(val) > 256:
            raise ValueError(f"tag {key!r}: value longer than 256 characters")
    return value


def _k8s_version(value: str) -> str:
    """Accepted: a Kubernetes minor `1.36` or patch `1.36.2` version (as text)."""
    if not _K8S_VERSION.fullmatch(value):
        raise ValueError(f'{value!r} is not a Kubernetes version like "1.36" or "1.36.2"')
    return value


def _distinct_zones(value: list[int]) -> list[int]:
    """Accepted: each zone once."""
    repeated = sorted({z for z in value if value.count(z) > 1})
    if repeated:
        raise ValueError(f"zones repeated: {repeated}; list each availability zone once")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
ApiServerRange = Annotated[str, AfterValidator(_cidr), AfterValidator(_api_server_source_range)]
Tags = Annotated[dict[str, str], AfterValidator(_tags)]
Zone = Annotated[int, Field(ge=1, le=3)]  # strict int: a bool is refused (Literal[1] would take True)
Zones = Annotated[list[Zone], AfterValidator(_distinct_zones)]
PoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,9}$")]  # + "sp" for the spot pool: AKS allows 12
DnsLabel = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")]
Percent = Annotated[str, Field(pattern=r"^([1-9][0-9]?|100)%$")]
Surge = Annotated[str, Field(pattern=r"^(([1-9][0-9]?|100)%|[1-9][0-9]{0,2})$")]  # "10%" or nodes: "1"
Duration = Annotated[str, Field(pattern=r"^[0-9]+(s|m|h)$")]
# Cluster autoscaler profile units (ARM spec containerservice 2025-09-01, managedClusters.json,
# AutoScalerProfile): scale-down times, delays and max-node-provision-time "must be an integer followed
# by an 'm'. No unit of time other than minutes (m) is supported"; scan-interval "must be an integer
# number of seconds" (default "10"; the AKS docs' examples write "30s"): both spellings accepted.
Minutes = Annotated[str, Field(pattern=r"^[0-9]+m$")]
Seconds = Annotated[str, Field(pattern=r"^[0-9]+s?$")]


# Sane ceilings of the float fields (finite, and far above any real figure)
MAX_USD_PER_HOUR = 1_000.0  # a VM's hourly price (the largest GPU VMs list about 100 USD/h)
MAX_USD_PER_MILLION_TOKENS = 10_000.0  # a per-token API's price
MAX_TOKENS_PER_SECOND = 10_000_000.0  # one replica's throughput
MAX_MONTHLY_AMOUNT = 1_000_000_000.0  # a budget (billing currency)
# Floors of the float fields the cost report divides by: a denormal such as 5e-324 would overflow to
# infinity there (issue 20), so the smallest meaningful figure is the floor.
MIN_TOKENS_PER_SECOND = 0.01  # one replica's throughput (a token every 100 s)
MIN_MONTHLY_AMOUNT = 0.01  # a budget (one cent of the billing currency)

# --- cluster -----------------------------------------------------------------------------------


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
    # priority: on-demand pools before spot pools (the order the cost estimate assumes), through the
    # cluster-autoscaler-priority-expander ConfigMap the program writes; least-waste ties between an
    # on-demand and a spot pool of the same SKU.
    expander: Literal["least-waste", "most-pods", "priority", "random"] = "priority"
    """Which node group grows on a scale-up. `priority`: on-demand pools before spot pools, through the
    `cluster-autoscaler-priority-expander` ConfigMap in kube-system that the program writes (the order
    the cost estimate assumes); `least-waste` ties between an on-demand and a spot pool of one SKU."""
    max_node_provision_time: Minutes = "15m"
    """How long the autoscaler waits for a node to become ready (whole minutes)."""
    # How long the autoscaler lets a pod terminate on scale-down (AKS default 600): at least every vLLM
    # replica's grace period (sizing.drain), or its in-flight generations are cut.
    max_graceful_termination_sec: Annotated[int, Field(ge=1, le=86_400)] = 600
    """Seconds the cluster autoscaler lets a pod terminate on scale-down; must be at least every vLLM
    replica's grace period (preStop drain plus shutdown), or in-flight generations are cut."""


class ClusterConfig(Strict):
    """The AKS managed cluster."""

    kubernetes_version: Annotated[str, AfterValidator(_k8s_version)] = "1.36"
    """Kubernetes minor (`1.36`) or patch (`1.36.2`) version; refused past its AKS end of life on the plan
    date (AKS long-term support needs tier `Premium` and supportPlan `AKSLongTermSupport`)."""
    # Premium is needed for the AKSLongTermSupport plan (AKS LTS; long-term-support.md line 42).
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
    admin_group_object_ids: list[
        Annotated[str, AfterValidator(_guid), Field(json_schema_extra=GUID_SCHEMA)]
    ] = Field(default_factory=list)
    """Entra ID group object IDs (GUIDs) that get cluster-admin."""
    # The identity running `pulumi up` gets "AKS RBAC Cluster Admin" on this cluster only: with local
    # accounts disabled it could not create the program's Kubernetes objects otherwise.
    grant_deployer_cluster_admin: bool = True
    """Give the identity running `pulumi up` the "AKS RBAC Cluster Admin" role on this cluster only; with
    local accounts disabled it could not create the program's Kubernetes objects otherwise."""
    # Azure checks the role assignment's principal type: ServicePrincipal when CI deploys by OIDC,
    # User when a person runs `pulumi up` with `az login`.
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


# --- GPU capacity ------------------------------------------------------------------------------


class OnDemandCapacity(Strict):
    """Autoscaled on-demand nodes of a pool (min 0 = scale to zero)."""

    min: Annotated[int, Field(ge=0, le=1000)] = 0
    """Fewest nodes the autoscaler keeps (0: scale to zero)."""
    max: Annotated[int, Field(ge=1, le=1000)]  # AKS autoscaling needs max >= 1; drop the section instead
    """Most nodes the autoscaler adds (at least 1: AKS autoscaling needs it; drop the section instead). Not
    below `min`."""

    @model_validator(mode="after")
    def _order(self) -> OnDemandCapacity:
        if self.min > self.max:
            raise KeyValueError("min", f"min ({self.min}) is larger than max ({self.max})")
        return self


class SpotCapacity(OnDemandCapacity):
    """Spot nodes of a pool; maxPrice -1 pays up to the on-demand price."""

    max_price: Annotated[float, Field(ge=-1.0, le=MAX_USD_PER_HOUR)] = -1.0
    """Highest price paid per spot node, in USD per hour; `-1` pays up to the on-demand price. Otherwise a
    positive price."""

    @model_validator(mode="after")
    def _price(self) -> SpotCapacity:
        if self.max_price != -1.0 and self.max_price <= 0:
            raise KeyValueError(
                "maxPrice", f"maxPrice must be -1 (up to on-demand) or a positive USD/h, got {self.max_price}"
            )
        return self


class TimeSlicingConfig(Strict):
    """GPU time-slicing (GPU Operator only; never with MIG; on serving pools only when accepted)."""

    replicas: Annotated[int, Field(ge=2, le=16)]
    """How many pods share each GPU (GPU Operator time-slicing)."""
    accept_noisy_neighbours: bool = False
    """Allow time-slicing on a serving pool, where requests on a shared GPU slow each other down."""


class GpuPoolConfig(Strict):
    """One GPU pool; becomes an on-demand and/or a spot agent pool."""

    name: PoolName
    """Pool name (up to 10 lowercase letters/digits; the spot pool adds `sp`, AKS allows 12). Unique among
    GPU pools and NodePools."""
    vm_size: str
    """GPU VM size: a GPU SKU of the catalog that Azure still sells."""
    purpose: Purpose = "serving"
    """`serving` (interactive traffic) or `batch`. A serving pool adds spot only as burst above an
    on-demand floor (`onDemand.min` of at least 1)."""
    driver: Literal["managed", "operator"] = "managed"
    """GPU driver: `managed` (AKS installs it) or `operator` (the NVIDIA GPU Operator, needed for
    time-slicing); never both on one node."""
    on_demand: OnDemandCapacity | None = None
    """Autoscaled on-demand nodes of the pool. A pool needs `onDemand` and/or `spot`."""
    spot: SpotCapacity | None = None
    """Autoscaled spot nodes of the pool (evicted with 30 s notice)."""
    mig: str | None = None
    """MIG profile the pool's GPUs are cut into (e.g. `3g.40gb`): only on GPUs that have MIG, a profile of
    that GPU (with `driver: managed`, one AKS can create). A MIG pool keeps `min` of at least 1 per
    capacity type: the autoscaler cannot scale MIG nodes up from zero."""
    time_slicing: TimeSlicingConfig | None = None
    """GPU time-slicing: driver `operator` only, never with `mig`, on serving pools only with
    `acceptNoisyNeighbours`; vLLM models cannot run on a time-sliced pool."""
    zones: Zones = Field(default_factory=list)
    """Availability zones of the pool's nodes, each listed once (empty: no zone pinning)."""
    os_disk_size_gb: Annotated[int, Field(ge=64, le=2048)] = 256
    """OS disk size of each node, in GB."""
    scale_down_mode: Literal["Delete", "Deallocate"] = "Delete"
    """What scale-down does to the pool's nodes: `Delete` or `Deallocate` (stopped, faster to restart:
    the OS disk and its cached images are kept and billed; the temporary NVMe is wiped). Spot pools
    accept it too (AKS since Scale-down Mode's GA); evicted spot VMs are still deleted."""
    max_surge: Surge = "10%"  # on-demand nodes only: AKS refuses max surge on spot pools
    """Extra on-demand nodes during an upgrade: a percentage (`10%`) or a node count (`1`). Refused when
    set on a spot-only pool: AKS refuses max surge on spot pools."""

    @model_validator(mode="after")
    def _capacity(self) -> GpuPoolConfig:
        if self.on_demand is None and self.spot is None:
            raise ValueError("a GPU pool needs onDemand and/or spot capacity")
        if self.on_demand is None and "max_surge" in self.model_fields_set:
            raise KeyValueError(
                "maxSurge",
                f"maxSurge {self.max_surge!r} on a spot-only pool: AKS refuses max surge on spot pools "
                "(the setting applies to the on-demand pool only); remove maxSurge or add onDemand",
            )
        return self


class QuotaConfig(Strict):
    """Declared regional vCPU quota per VM family (and the low-priority/spot quota)."""

    families: dict[str, Annotated[int, Field(ge=0, le=10_000_000)]] = Field(default_factory=dict)
    """Regional vCPU quota per Azure VM family (e.g. `standardNCADSA100v4Family: 96`), checked against the
    pools' maximum plus upgrade surge, NodePool limits and KAITO's own nodes. Names must be families of
    catalog SKUs; an undeclared family is not checked."""
    spot_vcpus: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    """Regional low-priority (spot) vCPU quota, checked against the spot capacity's maximum; unset: not
    checked."""


# --- Node Auto Provisioning (Karpenter on AKS) ----------------------------------------------------

# Patterns and enums of the Karpenter CRDs (karpenter.sh/v1 NodePool, karpenter.azure.com/v1beta1
# AKSNodeClass), so a bad value is a config error here rather than an apply-time refusal.
KarpenterDuration = Annotated[str, Field(pattern=r"^(([0-9]+(s|m|h))+|Never)$")]
BudgetNodes = Annotated[str, Field(pattern=r"^((100|[0-9]{1,2})%|[0-9]+)$")]
BudgetDuration = Annotated[str, Field(pattern=r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")]


def _budget_schedule(value: str) -> str:
    """Accepted: a cron schedule as Karpenter parses it (`config.cron`): 5 fields in UTC, or a macro."""
    try:
        check_schedule(value)
    except CronError as exc:
        raise ValueError(f"{exc}; Karpenter could not use this budget. Accepted: {CRON_ACCEPTED}") from None
    return value


BudgetSchedule = Annotated[str, AfterValidator(_budget_schedule)]
ImageFamily = Literal["Ubuntu", "Ubuntu2204", "Ubuntu2404", "AzureLinux"]
RESERVED_NODEPOOL_NAMES = {
    "default": "AKS's own AKSNodeClass and NodePool are named default",
    "kaito": "KAITO labels its NodeClaims karpenter.sh/nodepool=kaito",
}


class DisruptionBudgetConfig(Strict):
    """How many of a NodePool's nodes Karpenter may disrupt at once (optionally in a cron window)."""

    nodes: BudgetNodes
    """How many nodes Karpenter may disrupt at once: a count (`1`) or a percentage (`10%`)."""
    reasons: list[Literal["Underutilized", "Empty", "Drifted"]] | None = None
    """Disruption reasons the budget applies to (unset: all)."""
    schedule: BudgetSchedule | None = None
    """Cron schedule (or `@daily` etc.) when the budget window opens; needs `duration`."""
    duration: BudgetDuration | None = None
    """How long the window stays open (e.g. `12h`, `1h30m`); needs `schedule`."""

    @model_validator(mode="after")
    def _window(self) -> DisruptionBudgetConfig:
        if (self.schedule is None) != (self.duration is None):
            missing = "duration" if self.duration is None else "schedule"
            raise KeyValueError(
                missing, f"schedule and duration go together: a budget window needs {missing} too"
            )
        return self


class NapDisruptionConfig(Strict):
    """When Karpenter removes or replaces a NodePool's nodes.

    ``consolidationPolicy`` defaults by purpose: serving NodePools only remove empty nodes (moving a
    model server costs a cold start), batch NodePools also consolidate underutilized ones.
    """

    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] | None = None
    """Which nodes Karpenter consolidates. Unset: by purpose, `WhenEmpty` for serving (moving a model
    server costs a cold start), `WhenEmptyOrUnderutilized` for batch."""
    consolidate_after: KarpenterDuration = "10m"
    """How long a node stays empty or underutilized before consolidation (e.g. `10m`, or `Never`)."""
    budgets: Annotated[list[DisruptionBudgetConfig], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: [DisruptionBudgetConfig.model_validate({"nodes": "1"})]
    )
    """Disruption budgets (1 to 50)."""
    expire_after: KarpenterDuration = "720h"
    """Node lifetime before Karpenter replaces it (e.g. `720h`, or `Never`)."""


class NapLimitsConfig(Strict):
    """A NodePool's ceiling (Karpenter ``spec.limits``): the cost guard, checked against quota."""

    gpus: Annotated[int, Field(ge=1, le=10_000)]
    """Most GPUs the NodePool may hold (the cost guard); must hold at least one node of the sizing SKU."""
    cpu: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    """Most vCPUs the NodePool may hold (unset: no vCPU limit); checked against quota."""
    memory_gib: Annotated[int, Field(ge=1, le=100_000_000)] | None = None
    """Most memory the NodePool may hold, in GiB (unset: no memory limit)."""


class NapCapacityConfig(Strict):
    """One capacity type of a NodePool; it becomes its own Karpenter NodePool."""

    limits: NapLimitsConfig
    """The NodePool's ceiling (Karpenter `spec.limits`)."""


class NodePoolConfig(Strict):
    """GPU capacity that Karpenter provisions on demand: one NodePool per capacity type.

    ``skus`` names catalog GPU SKUs, ``skuFamilies`` catalog series such as ``NCads_A100_v4``
    (every catalog SKU of the series); the NodePool allows their union.
    """

    name: PoolName
    """NodePool name (up to 10 lowercase letters/digits); `default` and `kaito` are reserved. Unique among
    NodePools and GPU pools."""
    purpose: Purpose = "serving"
    """`serving` or `batch`; a serving NodePool uses spot only next to on-demand capacity. Sets the default
    consolidation policy."""
    skus: list[str] = Field(default_factory=list)
    """Catalog GPU SKUs the NodePool may provision (not retired)."""
    sku_families: list[str] = Field(default_factory=list)
    """Catalog GPU series (e.g. `NCads_A100_v4`): every catalog SKU of the series."""
    driver: Literal["managed", "operator"] = "managed"
    """GPU driver: `managed` (AKS installs it) or `operator` (the NVIDIA GPU Operator)."""
    image_family: ImageFamily = "Ubuntu2204"
    """Node OS image of the AKSNodeClass; NodePools with driver `operator` share one image family (the GPU
    Operator supports one OS version per cluster)."""
    os_disk_size_gb: Annotated[int, Field(ge=64, le=2048)] = 256
    """OS disk size of each node, in GB."""
    on_demand: NapCapacityConfig | None = None
    """On-demand capacity (its own Karpenter NodePool). A NodePool needs `onDemand` and/or `spot`."""
    spot: NapCapacityConfig | None = None
    """Spot capacity (its own Karpenter NodePool)."""
    disruption: NapDisruptionConfig = Field(default_factory=NapDisruptionConfig)
    """When Karpenter removes or replaces the NodePool's nodes."""
    # Karpenter's spec.template.spec.terminationGracePeriod: how long a draining node may take before its
    # pods are deleted. Unset: 10m, raised to the longest grace period of the vLLM replicas on it.
    termination_grace_period: Annotated[str, Field(pattern=r"^([0-9]+(s|m|h))+$")] | None = None
    """How long a draining node may take before its pods are deleted (Karpenter `terminationGracePeriod`,
    e.g. `15m`). Unset: 10m, raised to the longest grace period of the vLLM replicas on it."""

    @model_validator(mode="after")
    def _complete(self) -> NodePoolConfig:
        if not self.skus and not self.sku_families:
            raise ValueError("a NodePool needs skus and/or skuFamilies (catalog GPU SKUs)")
        if self.on_demand is None and self.spot is None:
            raise ValueError("a NodePool needs onDemand and/or spot capacity, each with its limits")
        if self.name in RESERVED_NODEPOOL_NAMES:
            raise KeyValueError(
                "name", f"NodePool name {self.name!r} is reserved: {RESERVED_NODEPOOL_NAMES[self.name]}"
            )
        return self


class NodeProvisioningConfig(Strict):
    """How GPU nodes come: autoscaled agent pools (``gpuPools``) or Node Auto Provisioning (NAP).

    In ``nap`` mode the cluster runs with ``nodeProvisioningProfile.mode = Auto`` and the GPU
    capacity is the ``nodePools`` below; AKS refuses autoscaled agent pools in that mode.
    ``keepDefaultNodePools`` keeps AKS's own default NodePools (general-purpose CPU nodes without
    limits); off by default, the system pool hosts the add-ons.
    """

    mode: Literal["pools", "nap"] = "pools"
    """`pools`: GPU capacity from `gpuPools` (cluster autoscaler); `nap`: from `nodePools` (Karpenter).
    Never both."""
    keep_default_node_pools: bool = False
    """Keep AKS's own default NodePools (general-purpose CPU nodes without limits) in NAP mode."""
    node_pools: list[NodePoolConfig] = Field(default_factory=list)
    """GPU NodePools (NAP mode); names unique."""

    @model_validator(mode="after")
    def _unique(self) -> NodeProvisioningConfig:
        names = [p.name for p in self.node_pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise KeyValueError("nodePools", f"nodePools: names must be unique, repeated: {', '.join(dupes)}")
        return self


# --- models ------------------------------------------------------------------------------------


class CustomArchitectureConfig(Strict):
    """A model that is not in the catalog: its architecture, from its config.json."""

    hf_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    """Hugging Face repository id (`owner/name`) of the weights."""
    parameters: Annotated[int, Field(ge=10_000_000, le=100_000_000_000_000)]
    """Parameter count."""
    layers: Annotated[int, Field(ge=1, le=512)]
    """Number of transformer layers (`num_hidden_layers`)."""
    attention_heads: Annotated[int, Field(ge=1, le=1024)]
    """Attention heads (`num_attention_heads`); a multiple of `kvHeads`."""
    kv_heads: Annotated[int, Field(ge=1, le=1024)]
    """Key/value heads (`num_key_value_heads`)."""
    head_dim: Annotated[int, Field(ge=16, le=1024)]
    """Dimension of one attention head."""
    context_length: Annotated[int, Field(ge=256, le=10_485_760)]
    """Longest context the model supports, in tokens (`max_position_embeddings`)."""
    sliding_window: Annotated[int, Field(ge=1, le=10_485_760)] | None = None
    """Sliding-window size in tokens, for models with sliding-window layers."""
    sliding_layers: Annotated[int, Field(ge=0, le=512)] = 0
    """How many layers use the sliding window (at most `layers`; needs `slidingWindow`)."""
    gated: bool = False
    """The weights download only with a Hugging Face token (`hfToken` is then required)."""

    @model_validator(mode="after")
    def _heads(self) -> CustomArchitectureConfig:
        if self.attention_heads % self.kv_heads:
            raise KeyValueError(
                "attentionHeads",
                f"attentionHeads ({self.attention_heads}) must be a multiple of kvHeads ({self.kv_heads})",
            )
        if self.sliding_layers > self.layers:
            raise KeyValueError(
                "slidingLayers", f"slidingLayers ({self.sliding_layers}) exceeds layers ({self.layers})"
            )
        if self.sliding_layers and self.sliding_window is None:
            raise KeyValueError("slidingWindow", "slidingLayers needs slidingWindow")
        return self


class WorkloadConfig(Strict):
    """What callers send: p95 token counts and the peak of concurrent requests."""

    p95_prompt_tokens: Annotated[int, Field(ge=1, le=2_000_000)] = 1024
    """95th percentile of prompt length, in tokens."""
    p95_completion_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 512
    """95th percentile of completion length, in tokens."""
    peak_concurrent_requests: Annotated[int, Field(ge=1, le=100_000)] = 8
    """Peak of concurrent requests; sizes the replicas' maximum when `replicas.max` is unset."""
    peak_requests_per_second: Annotated[float, Field(gt=0, le=100_000)] | None = None
    """Peak request rate, instead of `peakConcurrentRequests`: the replicas' maximum is what it takes to
    complete that many requests a second, each replica at the batch that meets the latency targets
    (roofline estimate, docs/advisor.md)."""
    ttft_ms: Annotated[float, Field(gt=0, le=600_000)] | None = None
    """Time-to-first-token target in ms for a p95 prompt (roofline estimate, no queueing): a replica runs
    at most the batch that meets it (`--max-num-seqs`); refused when the pool's GPU cannot meet it."""
    tpot_ms: Annotated[float, Field(gt=0, le=60_000)] | None = None
    """Time-per-output-token target in ms (roofline estimate, prefill stalls included): a replica runs at
    most the batch that meets it (`--max-num-seqs`); refused when the pool's GPU cannot meet it."""
    max_model_len: Annotated[int, Field(ge=256, le=10_485_760)] | None = None
    """vLLM `--max-model-len` in tokens (unset: derived). Not below p95PromptTokens + p95CompletionTokens:
    vLLM would refuse the p95 request."""
    max_num_seqs: Annotated[int, Field(ge=1, le=4096)] | None = None
    """vLLM `--max-num-seqs`, sequences one replica batches at once (unset: derived by the sizing)."""
    gpu_memory_utilization: Annotated[float, Field(gt=0.3, le=0.98)] = 0.90
    """vLLM `--gpu-memory-utilization`: the fraction of GPU memory vLLM may use."""

    @property
    def has_targets(self) -> bool:
        """Latency targets or a request rate: the roofline estimate sizes the batch and the replicas."""
        return any(v is not None for v in (self.ttft_ms, self.tpot_ms, self.peak_requests_per_second))

    @model_validator(mode="after")
    def _one_peak(self) -> WorkloadConfig:
        if self.peak_requests_per_second is not None and "peak_concurrent_requests" in self.model_fields_set:
            raise ValueError(
                "peakRequestsPerSecond and peakConcurrentRequests both given: give the peak one way (the "
                "replicas come from the rate and the targets, or from the concurrency)"
            )
        return self

    @model_validator(mode="after")
    def _request_fits(self) -> WorkloadConfig:
        # vLLM refuses a request whose prompt plus max_tokens exceeds max_model_len (its input
        # processor's length check), so the p95 request must fit.
        needed = self.p95_prompt_tokens + self.p95_completion_tokens
        if self.max_model_len is not None and self.max_model_len < needed:
            raise KeyValueError(
                "maxModelLen",
                f"maxModelLen {self.max_model_len} is below p95PromptTokens + p95CompletionTokens "
                f"({needed}): vLLM would refuse the p95 request; raise maxModelLen to at least {needed}",
            )
        return self


class ReplicasConfig(Strict):
    """How many replicas of a model the autoscaler (KEDA) runs."""

    min: Annotated[int, Field(ge=0, le=100)] = 0
    """Fewest replicas (0 needs `scaleToZero: true`; 1 or more needs `scaleToZero: false`)."""
    max: Annotated[int, Field(ge=1, le=100)] | None = None
    """Most replicas the autoscaler runs (unset: ceil(peakConcurrentRequests / max-num-seqs)); not below
    `min`."""


def _iana_zone(value: str) -> str:
    """Accepted: an IANA time zone of the pinned tzdata package (e.g. `Europe/Stockholm`, `Etc/UTC`)."""
    if value not in iana_zones():
        hint = closest_names(value, sorted(iana_zones()))
        also = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise ValueError(
            f"not an IANA time zone: KEDA's cron trigger (the business-hours pre-warm) could not run{also} "
            "(an IANA name such as Europe/Stockholm, America/New_York or Etc/UTC)"
        )
    return value


class ScheduleConfig(Strict):
    """Business hours: replicas are pre-warmed inside them (KEDA cron trigger)."""

    timezone: Annotated[str, AfterValidator(_iana_zone)] = "Etc/UTC"
    """IANA time zone of `start` and `end` (e.g. `Europe/Stockholm`)."""
    start: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "08:00"
    """Time business hours start (`HH:MM`)."""
    end: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "18:00"
    """Time business hours end (`HH:MM`); not equal to `start` (KEDA refuses it)."""
    days: Annotated[str, Field(pattern=r"^[0-6](-[0-6])?(,[0-6](-[0-6])?)*$")] = "1-5"
    """Days of the week in cron form, 0 = Sunday (`1-5`: Monday to Friday); a range may not run backwards."""
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    """Replicas kept warm in business hours; at most the replicas' maximum."""

    @model_validator(mode="after")
    def _keda_accepts(self) -> ScheduleConfig:
        # KEDA v2.19.0 (the AKS add-on on 1.36; commit 3f88d60a) parses start/end with robfig/cron
        # v3.0.1 (pkg/scalers/cron_scaler.go:39-46), whose getRange refuses a range whose start is
        # past its end (parser.go:311 at v3.0.1: "beginning of range (%d) beyond end of range (%d)"),
        # and cronMetadata.Validate refuses start == end (cron_scaler.go:48-50: "start and end can not
        # have exactly same time input"). renderers.autoscaling.cron_window would move an end at the
        # start time to the next days (a 24 h window KEDA accepts), so equal times are refused here:
        # whether an empty or a full-day window is meant is the user's to say.
        for part in self.days.split(","):
            first, _, last = part.partition("-")
            if last and int(first) > int(last):
                raise KeyValueError(
                    "days",
                    f"days {self.days!r}: the range {part} runs backwards, which KEDA's cron parser "
                    f"refuses; split it, e.g. {first}-6,0-{last}",
                )
        if self.start == self.end:
            raise KeyValueError(
                "end",
                f"start and end are both {self.start}: KEDA's cron scaler refuses a window that starts "
                "and ends at the same time",
            )
        return self


def _revision(value: str) -> str:
    if re.fullmatch(r"[0-9a-f]{40}", value) is None:
        raise ValueError(
            "a revision is the model repository's 40-character commit hash (lower-case hex), never a branch "
            "or tag such as main: a moving name would seed different weights under the same path"
        )
    return value


# A Hugging Face commit hash: the weights in Blob live under <model>/<revision>.
Revision = Annotated[str, AfterValidator(_revision)]


class ModelWeightsConfig(Strict):
    """Model weights in a Blob container, seeded once per pinned revision, streamed by vLLM."""

    storage_account_id: (
        Annotated[
            str,
            Field(
                pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/"
                r"storageAccounts/[a-z0-9]{3,24}$"
            ),
        ]
        | None
    ) = None
    """Adopt this storage account (its resource id) instead of creating one; the container goes in it."""
    container: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")] = "model-weights"
    """The Blob container holding `<model>/<revision>/` for every seeded model."""


class InferencePoolConfig(Strict):
    """Cache-aware routing through the Gateway API Inference Extension: an InferencePool over the model's
    pods and its endpoint picker (EPP), which sends each request to the replica with the most of its
    prefix cached and the least load. Refused for now: the gateway cannot route to it (docs:
    inference-routing.md)."""

    prefix_cache_weight: Annotated[int, Field(ge=0, le=10)] = 3
    """Weight of the EPP's `prefix-cache-scorer` (requests sharing a prompt prefix go to the replica
    that holds it; 0: off)."""
    queue_weight: Annotated[int, Field(ge=0, le=10)] = 2
    """Weight of the EPP's `queue-scorer` (fewest waiting requests; 0: off)."""
    kv_cache_weight: Annotated[int, Field(ge=0, le=10)] = 2
    """Weight of the EPP's `kv-cache-utilization-scorer` (most free KV cache; 0: off)."""

    @model_validator(mode="after")
    def _one_scorer(self) -> InferencePoolConfig:
        if self.prefix_cache_weight == self.queue_weight == self.kv_cache_weight == 0:
            raise KeyValueError(
                "prefixCacheWeight",
                "every scorer weight is 0: the endpoint picker would choose at random; give at least one "
                "a weight from 1 to 10",
            )
        return self


class ModelConfig(Strict):
    """One inference service: a model, the runtime that serves it, where it runs and its workload."""

    name: DnsLabel
    """Service name (a DNS label); unique among models."""
    model: str | None = None
    """Catalog model id (e.g. `phi-4`); exactly one of `model` or `custom`."""
    custom: CustomArchitectureConfig | None = None
    """A model that is not in the catalog, described by its architecture; exactly one of `model` or
    `custom`."""
    runtime: Literal["kaito", "vllm"] = "vllm"
    """`vllm` (a vLLM Deployment) or `kaito` (a KAITO Workspace or InferenceSet; KAITO runs Ampere or newer
    GPUs only)."""
    pool: str
    """The GPU pool (or, in NAP mode, the NodePool) the model runs on."""
    purpose: Purpose = "serving"
    """`serving` (interactive) or `batch` (fed by the async queue)."""
    quantization: Literal["auto", "fp8", "awq", "gptq"] = "auto"
    """`auto`, or (vLLM only) `fp8` (compute capability 8.0+), `awq`/`gptq` (a pre-quantized custom
    checkpoint)."""
    workload: WorkloadConfig = Field(default_factory=WorkloadConfig)
    """What callers send; sizes the vLLM settings and the replicas."""
    replicas: ReplicasConfig = Field(default_factory=ReplicasConfig)
    """Replica bounds of the autoscaler."""
    schedule: ScheduleConfig | None = None
    """Business hours in which replicas are pre-warmed (a KEDA cron trigger); unset: none."""
    revision: Revision | None = None
    """The model repository's commit hash to serve (40 hex characters, never `main`): with `modelWeights`
    set, its files are seeded into Blob once and vLLM streams them from there."""
    scale_to_zero: bool = True
    """Scale to 0 replicas when idle (`replicas.min` must be 0; false: at least 1). Something must wake it:
    a schedule, the KEDA HTTP add-on (serving vLLM) or the async queue's worker (`worker.image` set)."""
    inference_pool: InferencePoolConfig | None = None
    """Cache-aware routing (Gateway API Inference Extension) for a vLLM model with more than one replica at
    peak; unset: the gateway balances over the model's Service. Refused for now (inference-routing.md)."""

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        if (self.model is None) == (self.custom is None):
            raise ValueError("give exactly one of model (a catalog id) or custom (an architecture)")
        return self


# --- prices ------------------------------------------------------------------------------------


class PriceOverride(Strict):
    """The price of one VM size, replacing the catalog's."""

    on_demand_per_hour: Annotated[float, Field(ge=0, le=MAX_USD_PER_HOUR)]
    """On-demand price of the VM size, in USD per hour."""
    spot_per_hour: Annotated[float, Field(ge=0, le=MAX_USD_PER_HOUR)] | None = None
    """Spot price of the VM size, in USD per hour (unset: the catalog's)."""


class PricesConfig(Strict):
    """Overrides of the catalog's dated price table (e.g. your negotiated rates)."""

    as_of: Annotated[str, AfterValidator(_iso_date), Field(json_schema_extra=DATE_SCHEMA)] | None = None
    """Date of the overriding prices (`YYYY-MM-DD`)."""
    source: str | None = None
    """Where the prices come from (e.g. your agreement)."""
    skus: dict[str, PriceOverride] = Field(default_factory=dict)
    """Prices per VM size; each names a VM size the stack uses or the catalog knows."""


# --- cost comparison and budget ----------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")  # fullmatch
_FIRST_OF_MONTH = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])-01")  # fullmatch, ASCII digits


def _email(value: str) -> str:
    """Accepted: e-mail addresses like `platform-team@example.com`."""
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address like platform-team@example.com")
    return value


def _first_of_month(value: str) -> str:
    """Accepted: the first day of a month, `YYYY-MM-01`."""
    if not _FIRST_OF_MONTH.fullmatch(value):
        raise ValueError(f"{value!r} is not the first day of a month as YYYY-MM-01, e.g. 2026-12-01")
    return value


Email = Annotated[str, AfterValidator(_email)]
FirstOfMonth = Annotated[str, AfterValidator(_first_of_month)]
ThresholdPercent = Annotated[int, Field(ge=1, le=1000)]
_MAX_BUDGET_NOTIFICATIONS = 5  # Azure: a budget has at most five notifications


class CostComparisonConfig(Strict):
    """A per-token API to compare self-hosting with: the break-even in requests per day.

    Throughput is what one replica serves (prompt + completion tokens per second, all concurrent
    requests together); ``modelThroughput`` sets it per model name, ``throughputTokensPerSecond``
    for the others.
    """

    api_name: Annotated[str, Field(min_length=1, max_length=60)] = "per-token API"
    """Name of the per-token API in the report."""
    api_price_per_million_input_tokens: Annotated[float, Field(ge=0, le=MAX_USD_PER_MILLION_TOKENS)]
    """The API's price per million prompt tokens, in USD."""
    api_price_per_million_output_tokens: Annotated[float, Field(ge=0, le=MAX_USD_PER_MILLION_TOKENS)]
    """The API's price per million completion tokens, in USD."""
    throughput_tokens_per_second: (
        Annotated[float, Field(ge=MIN_TOKENS_PER_SECOND, le=MAX_TOKENS_PER_SECOND)] | None
    ) = None
    """Tokens per second one replica serves, for every model without a `modelThroughput` entry (unset: the
    roofline's estimate, marked `estimated (roofline)`, see docs/advisor.md)."""
    model_throughput: dict[
        str, Annotated[float, Field(ge=MIN_TOKENS_PER_SECOND, le=MAX_TOKENS_PER_SECOND)]
    ] = Field(default_factory=dict)
    """Tokens per second one replica serves, per model name (declared models only)."""


class BudgetConfig(Strict):
    """A monthly Consumption budget on the stack's two resource groups (the cluster's and the node
    resource group, where the GPU VMs bill) with e-mail alerts.

    ``thresholds`` alert on actual cost, ``forecastThresholds`` on Azure's forecast, in percent of
    ``monthlyAmount`` (the subscription's billing currency). ``startDate`` (the first day of a month)
    defaults to the first day of the month of the first ``pulumi up``; Azure cannot change it later.
    """

    monthly_amount: Annotated[float, Field(ge=MIN_MONTHLY_AMOUNT, le=MAX_MONTHLY_AMOUNT)]
    """Monthly budget in the subscription's billing currency."""
    thresholds: list[ThresholdPercent] = Field(default_factory=lambda: [50, 80, 100])
    """Alerts on actual cost, in percent of `monthlyAmount`; no repeats."""
    forecast_thresholds: list[ThresholdPercent] = Field(default_factory=lambda: [100])
    """Alerts on Azure's forecast cost, in percent of `monthlyAmount`; no repeats; at most 5 notifications
    with `thresholds`, at least one."""
    contact_emails: Annotated[list[Email], Field(min_length=1, max_length=50)]
    """E-mail addresses the alerts go to (1 to 50, no repeats)."""
    start_date: FirstOfMonth | None = None
    """First day of the budget (`YYYY-MM-01`). Unset: the first day of the plan date's month, kept
    afterwards because Azure cannot change it. A changed date replaces the budget, so a date before the
    plan date's month or more than 12 months after it is refused."""

    @model_validator(mode="after")
    def _notifications(self) -> BudgetConfig:
        for label, values in (
            ("thresholds", self.thresholds),
            ("forecastThresholds", self.forecast_thresholds),
        ):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise KeyValueError(label, f"repeated values {dupes}; list each once")
        count = len(self.thresholds) + len(self.forecast_thresholds)
        if count == 0:
            raise ValueError("a budget needs at least one threshold or forecastThreshold")
        if count > _MAX_BUDGET_NOTIFICATIONS:
            raise ValueError(
                f"Azure allows {_MAX_BUDGET_NOTIFICATIONS} notifications per budget; thresholds and "
                f"forecastThresholds list {count}"
            )
        emails = [e.lower() for e in self.contact_emails]
        repeated = sorted({e for e in emails if emails.count(e) > 1})
        if repeated:
            raise KeyValueError("contactEmails", f"contactEmails: repeated addresses {repeated}")
        return self


# --- add-ons, identities, secrets, queue ----------------------------------------------------------

SemVer = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


class KaitoFeatureGates(Strict):
    """Feature gates of the upstream KAITO chart (mode: helm only)."""

    inference_set: bool = True
    """Enable KAITO's InferenceSet (scalable models)."""
    mig: bool = False
    """Enable KAITO's MIG feature gate."""


class KaitoConfig(Strict):
    """KAITO: the AKS AI toolchain operator add-on (managed) or the upstream chart (helm)."""

    mode: Literal["managed", "helm"] = "managed"
    """`managed`: the AKS AI toolchain operator add-on (KAITO 0.6.0: Workspaces only, no scaling); `helm`:
    the upstream `kaito/workspace` chart."""
    chart_version: SemVer = versions.chart("kaito-workspace").version
    """Version of the KAITO workspace chart (`mode: helm` only; default: the pin in versions.yaml)."""
    feature_gates: KaitoFeatureGates = Field(default_factory=KaitoFeatureGates)
    """Feature gates of the chart (`mode: helm` only)."""
    node_provisioner: Literal["gpu-provisioner", "karpenter", "none"] = "gpu-provisioner"
    """Where KAITO's nodes come from (`mode: helm` only): `gpu-provisioner` (self-hosted) or `none`
    (bring-your-own nodes). `gpu-provisioner` is refused in NAP mode; `karpenter` is refused: KAITO
    0.12.0 asks Karpenter for static capacity, an alpha gate AKS's managed NAP does not expose."""
    gpu_provisioner_chart_version: SemVer = versions.chart("gpu-provisioner").version
    """Version of the gpu-provisioner chart (`nodeProvisioner: gpu-provisioner` only; default: the pin in
    versions.yaml)."""


class KedaHttpAddonConfig(Strict):
    """The KEDA HTTP add-on (Helm): scale-from-zero for synchronous endpoints."""

    enabled: bool = False
    """Install the KEDA HTTP add-on (scale-from-zero for synchronous endpoints)."""
    chart_version: SemVer = versions.chart("keda-add-ons-http").version
    """Version of the HTTP add-on chart (default: the pin in versions.yaml)."""
    # How long the interceptor holds a request while the model scales from zero (HTTPScaledObject
    # spec.timeouts.conditionWait). Unset: each model's predicted cold start (node + startup budget,
    # sizing.workloads.predicted_cold_start_seconds); set: a cap, refused when a model needs longer.
    cold_start_timeout_seconds: Annotated[int, Field(ge=1, le=7200)] | None = None
    """How long the interceptor holds a request while the model scales from zero, in seconds. Unset: each
    model's predicted cold start; set: one cap for all, refused below a fronted model's prediction."""
    response_header_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 300
    """How long the interceptor waits for the model's response headers, in seconds (HTTPScaledObject
    `spec.timeouts.responseHeader`)."""


class KedaConfig(Strict):
    """The AKS KEDA add-on is always on; these are its extras."""

    http_addon: KedaHttpAddonConfig = Field(default_factory=KedaHttpAddonConfig)
    """The KEDA HTTP add-on."""


class KeyVaultConfig(Strict):
    """The Key Vault holding the Hugging Face token (RBAC, purge protection, firewall default Deny)."""

    public_network_access: bool = True
    """Keep the vault's public endpoint (behind its firewall). `false`: public access off, reached by a
    private endpoint in `virtualNetwork` (needs `virtualNetwork`)."""
    allowed_ip_ranges: list[Cidr] = Field(default_factory=list)
    """Public IPv4 ranges allowed through the vault's firewall (no private, IPv6 or all-address ranges)."""
    allow_cluster_egress: bool = True
    """Allow the cluster's outbound IP through the vault's firewall."""
    soft_delete_retention_days: Annotated[int, Field(ge=7, le=90)] = 90
    """Days a deleted vault stays recoverable (its name stays taken)."""


QueueName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$")]
# An image in the stack's container registry, pinned by digest (a tag alone may move).
WorkerImage = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]{5,50}\.azurecr\.io/[a-z0-9]+([._/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$"
    ),
]


class AsyncQueueWorkerConfig(Strict):
    """The queue worker (worker/ in this repository): its image and how many messages it holds."""

    # <registry>.azurecr.io/aks-llm-worker@sha256:...: the digest the worker-image workflow records.
    # Unset: the worker is left out (first `pulumi up` creates the registry; see docs/async-queue.md).
    image: WorkerImage | None = None
    """Worker image in the stack's container registry pinned by digest
    (`<registry>.azurecr.io/aks-llm-worker@sha256:...`). Unset: the worker is left out (the first
    `pulumi up` creates the registry)."""
    # Messages one worker pod processes at once; default: the model's max-num-seqs (one replica's batch).
    concurrency: Annotated[int, Field(ge=1, le=256)] | None = None
    """Messages one worker pod processes at once (unset: the model's max-num-seqs)."""
    # Seconds the worker stays after the queue reads empty; default: one delivery's wait plus one
    # generation (safe whether or not Service Bus counts locked messages as active).
    cooldown_seconds: Annotated[int, Field(ge=30, le=86400)] | None = None
    """Seconds the worker stays after the queue reads empty (unset: one delivery's wait plus one
    generation)."""


class AsyncQueueConfig(Strict):
    """A Service Bus queue for batch inference, drained by KEDA-scaled workers that call one model."""

    enabled: bool = False
    """Create the Service Bus queue and its KEDA-scaled worker; needs exactly one batch model to feed (or
    `model`)."""
    queue_name: QueueName = "batch-inference"
    """Name of the request queue."""
    lock_duration_seconds: Annotated[int, Field(ge=5, le=300)] = 300
    """Seconds a worker holds a message before it is delivered again."""
    max_delivery_count: Annotated[int, Field(ge=1, le=2000)] = 5
    """Deliveries before a message is dead-lettered; at least 3."""
    message_ttl_hours: Annotated[int, Field(ge=1, le=336)] = 24
    """Hours an unprocessed message lives."""
    # The stack model the worker calls; default: the stack's only batch model.
    model: K8sName | None = None
    """The stack's batch model the worker calls (unset: the stack's only batch model)."""
    # Where results go; default: <queueName>-results.
    reply_queue_name: QueueName | None = None
    """Queue the results go to (unset: `<queueName>-results`); not the request queue."""
    worker: AsyncQueueWorkerConfig = Field(default_factory=AsyncQueueWorkerConfig)
    """The queue worker's image and limits."""

    @property
    def reply_queue(self) -> str:
        return self.reply_queue_name or f"{self.queue_name}-results"


class AddonsConfig(Strict):
    """Cluster add-ons and the services around them."""

    kaito: KaitoConfig = Field(default_factory=KaitoConfig)
    """KAITO: managed add-on or upstream chart."""
    keda: KedaConfig = Field(default_factory=KedaConfig)
    """Extras of the KEDA add-on (always on)."""
    key_vault: KeyVaultConfig = Field(default_factory=KeyVaultConfig)
    """The Key Vault holding the Hugging Face token."""
    async_queue: AsyncQueueConfig = Field(default_factory=AsyncQueueConfig)
    """The Service Bus queue for batch inference."""


class InferenceConfig(Strict):
    """The namespace and ServiceAccount the model services run in."""

    namespace: K8sName = "inference"
    """Namespace of the model services (not a Kubernetes, AKS or add-on namespace)."""
    service_account: K8sName = "inference"
    """ServiceAccount the model services run as."""
    # Namespaces whose pods may call the models (the NetworkPolicy admits the inference namespace,
    # the KEDA HTTP add-on's interceptor and the metrics scraper besides).
    caller_namespaces: list[K8sName] = Field(default_factory=list)
    """Other namespaces whose pods may call the models (the NetworkPolicy also admits the inference
    namespace, the KEDA HTTP interceptor and the metrics scraper)."""


# --- virtual network (issue 23: reach the models) ----------------------------------------------
# A separate block: the VNet the cluster's nodes, the private endpoints, the API server (VNet
# integration) and the gateway's internal load balancer use, created by the program or adopted by id.

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

    service_bus: bool = False
    """The async queue's Service Bus namespace: private endpoint, public access off. Needs the Premium
    tier (Service Bus has private endpoints on Premium only), which costs far more than Standard."""
    container_registry: bool = False
    """The worker image's registry: private endpoint, public access off. Needs the Premium SKU; the
    worker-image workflow must then push from inside the VNet (a self-hosted runner)."""


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


# --- alerts (issue 25: know it works) ----------------------------------------------------------

AlertMinutes = Annotated[int, Field(ge=1, le=1440)]


class AlertsConfig(Strict):
    """Alert rules on the stack's Azure Monitor workspace (Prometheus) and Service Bus namespace (metric
    alerts), sent to one action group; the budget's forecast notifications go to the same group."""

    enabled: bool = True
    """Create the alert rules and the action group."""
    contact_emails: Annotated[list[Email], Field(max_length=50)] = Field(default_factory=list)
    """E-mail addresses of the action group (unset: the budget's `contactEmails`; neither: the rules
    exist without a receiver)."""
    kv_cache_usage_percent: Annotated[int, Field(ge=50, le=100)] = 90
    """A model's KV-cache usage (vLLM `kv_cache_usage_perc`, highest replica) that alerts."""
    kv_cache_minutes: AlertMinutes = 10
    """Minutes the KV-cache usage stays above `kvCacheUsagePercent` before it alerts."""
    waiting_at_max_minutes: AlertMinutes = 5
    """Minutes requests wait while the model runs its maximum replicas before it alerts."""
    no_ready_replica_minutes: AlertMinutes = 10
    """Minutes the autoscaler wants a replica (business hours: the schedule's floor) and none is ready;
    at least the model's predicted cold start."""
    crash_loop_minutes: AlertMinutes = 5
    """Minutes a container waits in `CrashLoopBackOff` before it alerts."""
    node_not_ready_minutes: AlertMinutes = 10
    """Minutes a node reports `Ready` other than true before it alerts."""
    queue_active_messages: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    """Messages waiting in the async request queue (Service Bus `ActiveMessages`, 15-minute maximum)
    that alert."""
    queue_dead_lettered_messages: Annotated[int, Field(ge=1, le=10_000_000)] = 1
    """Dead-lettered messages in the async queues (Service Bus `DeadletteredMessages`) that alert."""


# --- the whole stack ---------------------------------------------------------------------------


def _non_empty_secret(value: SecretStr) -> SecretStr:
    """Accepted: a secret that holds something (an empty or blank token is no token)."""
    if not value.get_secret_value().strip():
        raise ValueError("the secret is empty: no Hugging Face token is set")
    return value


def _region(value: str) -> str:
    """Accepted: an Azure region name of `config/regions.py`."""
    if value not in AZURE_REGIONS:
        near = closest_names(value, sorted(AZURE_REGIONS))
        hint = f"; did you mean {near[0]}?" if near else ""
        raise ValueError(f"{value!r} is not an Azure region name (config/regions.py){hint}")
    return value


class NamingConfig(Strict):
    """How the globally unique names (Key Vault, container registry, Service Bus) end."""

    suffix: Annotated[str, Field(pattern=r"^[a-z0-9]{4,8}$")] | None = None
    """Pins their suffix (4-8 lowercase letters/digits). Unset: a random 6-character suffix created on
    the stack's first `pulumi up` and kept in its state. A stack created before the random suffix keeps
    its names by setting this to the 4 characters its Key Vault name ends in (see docs/day-two.md)."""


# --- the traffic-day simulation (tools.simulate) -------------------------------------------------------

FINDINGS = ("at-zero-under-demand", "oscillation", "cold-start-timeouts")
Shape = Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=24, max_length=24)]


class TrafficShapeConfig(Strict):
    """Demand over a day, as a fraction of the model's peak per local hour (00:00 to 23:00)."""

    business_days: Shape
    """24 fractions of `peakConcurrentRequests`, one per local hour, on the schedule's days."""
    other_days: Shape = Field(default_factory=lambda: [0.0] * 24)
    """24 fractions for the other days of the week (default: no demand)."""


class SimulationAcknowledgement(Strict):
    """A finding of the traffic-day simulation that the stack accepts, with the reason."""

    model: DnsLabel
    """The model the finding is about."""
    finding: Literal["at-zero-under-demand", "oscillation", "cold-start-timeouts"]
    """`at-zero-under-demand`, `oscillation` or `cold-start-timeouts`."""
    reason: Annotated[str, Field(min_length=10, max_length=500)]
    """Why it is accepted (shown in the PR comment)."""


class SimulationConfig(Strict):
    """The traffic-day simulation of `python -m tools.simulate` (never read by the program itself)."""

    shape: TrafficShapeConfig | None = None
    """Demand shape over the day (unset: the default shape of docs/simulate.md, from each model's
    schedule)."""
    acknowledged: list[SimulationAcknowledgement] = Field(default_factory=list)
    """Findings accepted for this stack: the simulate command and the CI preview pass with them."""


# --- gateway (issue 23: reach the models) -------------------------------------------------------
# A separate block: the internal gateway in front of the models (AKS Istio add-on, Gateway API), its
# TLS certificate from Key Vault and the consumers whose API keys the program generates.

Hostname = Annotated[
    str, Field(pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
]
KeyVaultObjectName = Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{1,127}$")]
IstioRevision = Annotated[str, Field(pattern=r"^asm-1-[0-9]{1,2}$")]


class GatewayConfig(Strict):
    """The gateway in front of the models: one HTTPS base URL, a route per model, API keys."""

    hostname: Hostname
    """The host name applications call (`https://<hostname>/v1`), e.g. `llm.internal.example.com`; the
    certificate must cover it, and your DNS must resolve it to the gateway's load balancer address."""
    certificate_name: KeyVaultObjectName
    """Name of the Key Vault certificate (in the stack's vault) the gateway terminates TLS with; create or
    import it before `pulumi up` (its private key must be exportable)."""
    internal: bool = True
    """An internal load balancer (a private address in `virtualNetwork.subnets.gateway`, else the node
    subnet). `false`: a public address."""
    namespace: K8sName = "llm-gateway"
    """Namespace of the Gateway, its routes and its pods."""
    istio_revision: IstioRevision = "asm-1-30"
    """The AKS Istio add-on revision (it must support `cluster.kubernetesVersion` and be before its end of
    life on the plan date: `facts/istio.py`)."""
    api_keys: bool = True
    """Require an API key on every model call (vLLM's `--api-key`; keys generated per consumer and kept in
    Key Vault). `false`: anonymous calls (only with reasons, e.g. a throwaway dev stack)."""
    consumers: list[DnsLabel] = Field(default_factory=list)
    """The applications that call the models: each gets its own key, stored as Key Vault secret
    `model-key-<consumer>`. The async queue's worker gets one of its own."""
    exclude_models: list[DnsLabel] = Field(default_factory=list)
    """Models kept off the gateway (reached in the cluster only, through their Service)."""


class StackConfig(Strict):
    """The project's config namespace of one stack."""

    location: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{2,30}$"), AfterValidator(_region)]
    """Azure region name, e.g. `swedencentral` (one of `config/regions.py`). Required."""
    prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")] = "llm"
    """Naming prefix (2-10 lowercase letters/digits); Azure names are `<kind>-<prefix>-<stack>`."""
    tags: Tags = Field(default_factory=dict)
    """Extra tags on every Azure resource (at most 47; Azure tag rules); the program adds `project`,
    `stack` and `managed-by`."""
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    """The AKS managed cluster."""
    gpu_pools: list[GpuPoolConfig] = Field(default_factory=list)
    """Autoscaled GPU agent pools (`nodeProvisioning.mode: pools`)."""
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    """Declared regional vCPU quota, checked by the plan."""
    models: list[ModelConfig] = Field(default_factory=list)
    """The inference services."""
    prices: PricesConfig = Field(default_factory=PricesConfig)
    """Overrides of the catalog's dated price table (e.g. negotiated rates)."""
    hf_token: Annotated[SecretStr, AfterValidator(_non_empty_secret)] | None = None
    """Hugging Face token for gated models, only as a secret: `pulumi config set --secret aks-llm:hfToken
    hf_...`; a plain value is refused and the value is never shown."""
    cost_comparison: CostComparisonConfig | None = None
    """A per-token API to compare self-hosting with (unset: no break-even)."""
    budget: BudgetConfig | None = None
    """Monthly Consumption budget with e-mail alerts (unset: none)."""
    naming: NamingConfig = Field(default_factory=NamingConfig)
    """The suffix of the globally unique names (unset: random, kept in state)."""
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    """Cluster add-ons and the services around them."""
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    """Namespace and ServiceAccount of the model services."""
    node_provisioning: NodeProvisioningConfig = Field(default_factory=NodeProvisioningConfig)
    """Where GPU nodes come from: autoscaled pools or Node Auto Provisioning."""
    virtual_network: VirtualNetworkConfig | None = None
    """The cluster's own VNet (created or adopted by id). Unset: AKS's managed VNet, with no private
    endpoints and no internal gateway subnet."""
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    """Alert rules and the action group they notify."""
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    """The traffic-day simulation (`python -m tools.simulate`): demand shape, accepted findings."""
    model_weights: ModelWeightsConfig | None = None
    """Model weights in Blob, streamed at start (unset: each vLLM model reads its Azure Files share)."""
    gateway: GatewayConfig | None = None
    """The gateway in front of the models (issue 23; unset: models reached in the cluster only)."""
