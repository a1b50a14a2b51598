"""The AKS cluster: resource group, Log Analytics, the managed cluster, maintenance windows and a
Kubernetes provider built from the cluster's Entra ID (user) credentials."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.containerservice as cs
import pulumi_azure_native.operationalinsights as oi
import pulumi_azure_native.resources as resources
from pulumi_kubernetes.provider import Provider as KubernetesProvider

from components.child_names import Component
from components.container_insights import container_insights
from components.deployer_access import DeployerAccess
from components.kubeconfig import with_azure_cli_login
from components.roles import AKS_RBAC_CLUSTER_ADMIN, assignment_name, role_definition_id
from components.version_update import KubernetesVersionUpdate
from config.schema import ClusterConfig
from facts.naming import Names
from facts.platform import SYSTEM_POOL_NAME, SYSTEM_POOL_TAINT
from planning.stack_plan import ClusterFeatures
from sizing.network import NetworkPlan

if TYPE_CHECKING:
    from components.network import ClusterNetwork

_UPGRADE_CHANNELS = {
    "stable": cs.UpgradeChannel.STABLE,
    "patch": cs.UpgradeChannel.PATCH,
    "rapid": cs.UpgradeChannel.RAPID,
    "node-image": cs.UpgradeChannel.NODE_IMAGE,
    "none": cs.UpgradeChannel.NONE,
}
_OUTBOUND_TYPES = {
    "loadBalancer": cs.OutboundType.LOAD_BALANCER,
    "userDefinedRouting": cs.OutboundType.USER_DEFINED_ROUTING,
    "userAssignedNATGateway": cs.OutboundType.USER_ASSIGNED_NAT_GATEWAY,
}
# NAP clusters cannot change their outbound type (AKS docs node-auto-provisioning.md line 82,
# MicrosoftDocs/azure-aks-docs @ fb060abe): a change replaces the cluster, and the plan says so.
NAP_REPLACE_ON_CHANGES = ["networkProfile.outboundType"]
_NODE_OS_CHANNELS = {
    "NodeImage": cs.NodeOSUpgradeChannel.NODE_IMAGE,
    "SecurityPatch": cs.NodeOSUpgradeChannel.SECURITY_PATCH,
    "Unmanaged": cs.NodeOSUpgradeChannel.UNMANAGED,
    "None": cs.NodeOSUpgradeChannel.NONE,
}
_TIERS = {
    "Free": cs.ManagedClusterSKUTier.FREE,
    "Standard": cs.ManagedClusterSKUTier.STANDARD,
    "Premium": cs.ManagedClusterSKUTier.PREMIUM,
}
_SUPPORT_PLANS = {
    "KubernetesOfficial": cs.KubernetesSupportPlan.KUBERNETES_OFFICIAL,
    "AKSLongTermSupport": cs.KubernetesSupportPlan.AKS_LONG_TERM_SUPPORT,
}
# After creation the cluster's version is AKS's (auto-upgrade) or the KubernetesVersionUpdate's: the
# ManagedCluster never resends it (AVM main.tf lines 59-64 ignore body.properties.kubernetesVersion).
CLUSTER_IGNORE_CHANGES = [
    "kubernetesVersion",
    "agentPoolProfiles[*].orchestratorVersion",
]


def cluster_ignore_changes(profiles: Sequence[cs.ManagedClusterAgentPoolProfileArgs]) -> list[str]:
    """``CLUSTER_IGNORE_CHANGES`` plus the node count of each inline profile the autoscaler owns, by
    index: a fixed-size profile (the system pool) keeps its count in the body, so a changed
    ``cluster.systemPool.count`` reaches AKS instead of being dropped."""
    owned = [f"agentPoolProfiles[{i}].count" for i, p in enumerate(profiles) if p.enable_auto_scaling]
    return [*CLUSTER_IGNORE_CHANGES, *owned]


_EXPANDERS = {
    "least-waste": cs.Expander.LEAST_WASTE,
    "most-pods": cs.Expander.MOST_PODS,
    "priority": cs.Expander.PRIORITY,
    "random": cs.Expander.RANDOM,
}


@dataclass(frozen=True)
class AksClusterArgs:
    """Everything the cluster component needs, already validated."""

    names: Names
    location: str
    tags: Mapping[str, str]
    settings: ClusterConfig
    features: ClusterFeatures = field(default_factory=ClusterFeatures)
    agent_pools: Sequence[cs.ManagedClusterAgentPoolProfileArgs] = ()
    # The version change's steps as rendered by ``sizing.upgrade_path`` (target, pool, command), in order.
    upgrade_steps: Sequence[Mapping[str, Any]] = ()
    network: NetworkPlan | None = None  # the stack's own VNet; None: AKS's managed VNet


def _system_pool(
    settings: ClusterConfig, tags: Mapping[str, str], node_subnet_id: pulumi.Input[str] | None = None
) -> cs.ManagedClusterAgentPoolProfileArgs:
    """The inline system profile; its ``tags`` are what reach the VM scale set (node-pool tags,
    AKS docs ``use-tags.md``), the cluster's own tags do not."""
    pool = settings.system_pool
    return cs.ManagedClusterAgentPoolProfileArgs(
        name=SYSTEM_POOL_NAME,
        mode=cs.AgentPoolMode.SYSTEM,
        vm_size=pool.vm_size,
        count=pool.count,
        enable_auto_scaling=False,
        availability_zones=[str(z) for z in pool.zones],
        node_taints=[SYSTEM_POOL_TAINT.aks()],
        os_type=cs.OSType.LINUX,
        os_sku=cs.OSSKU.AZURE_LINUX,
        os_disk_size_gb=pool.os_disk_size_gb,
        type=cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
        upgrade_settings=cs.AgentPoolUpgradeSettingsArgs(max_surge=pool.max_surge),
        tags=dict(tags),
        vnet_subnet_id=node_subnet_id,
    )


def scan_interval_seconds(value: str) -> str:
    """``scanInterval`` as emitted: ``<n>s``. The ARM spec asks for "an integer number of seconds"
    (default ``10``); the AKS docs' examples and the cluster's own read-back write ``10s``, so the
    program sends the suffixed form and accepts both spellings in config."""
    return value if value.endswith("s") else f"{value}s"


def _auto_scaler_profile(settings: ClusterConfig) -> cs.ManagedClusterPropertiesAutoScalerProfileArgs:
    profile = settings.autoscaler
    return cs.ManagedClusterPropertiesAutoScalerProfileArgs(
        scale_down_unneeded_time=profile.scale_down_unneeded_time,
        scale_down_delay_after_add=profile.scale_down_delay_after_add,
        scan_interval=scan_interval_seconds(profile.scan_interval),
        skip_nodes_with_system_pods=str(profile.skip_nodes_with_system_pods).lower(),
        expander=_EXPANDERS[profile.expander],
        max_node_provision_time=profile.max_node_provision_time,
        # Emitted explicitly (AKS takes a string): the cap on a pod's grace period on scale-down, checked
        # against every vLLM replica's drain (rules.runtime.drains_fit_the_caps).
        max_graceful_termination_sec=str(profile.max_graceful_termination_sec),
    )


class AksCluster(Component):
    """A secure-by-default AKS cluster and the Kubernetes provider that talks to it."""

    resource_group_name: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:AksCluster", name, opts)
        settings, names, tags = args.settings, args.names, dict(args.tags)

        self.resource_group = resources.ResourceGroup(
            self.child_name("rg"),
            resource_group_name=names.resource_group(),
            location=args.location,
            tags=tags,
            opts=self.child_opts(was="rg"),
        )
        rg_name = self.resource_group.name
        self.network: ClusterNetwork | None = None
        if args.network is not None:
            # Imported here: pulumi_azure_native.network costs about 0.9 s to import (key_vault.py),
            # paid only by stacks with a VNet of their own.
            from components.network import ClusterNetwork, ClusterNetworkArgs

            self.network = ClusterNetwork(
                self.child_name("network"),
                ClusterNetworkArgs(
                    plan=args.network,
                    vnet_name=f"vnet-{names.base}",
                    resource_group_name=rg_name,
                    location=args.location,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),  # new: no previous name
            )
        subnet_ids = self.network.subnet_ids if self.network is not None else {}
        self.node_subnet_id: pulumi.Output[str] | None = subnet_ids.get("nodes")
        outbound = args.network.outbound_type if args.network is not None else "loadBalancer"
        replace = NAP_REPLACE_ON_CHANGES if args.features.node_auto_provisioning else []

        self.log_analytics = oi.Workspace(
            self.child_name("logs"),
            workspace_name=names.log_analytics(),
            resource_group_name=rg_name,
            location=args.location,
            sku=oi.WorkspaceSkuArgs(name=oi.WorkspaceSkuNameEnum.PER_GB2018),
            retention_in_days=settings.log_retention_days,
            tags=tags,
            opts=self.child_opts(was="logs"),
        )

        profiles = [_system_pool(settings, tags, self.node_subnet_id), *args.agent_pools]
        self.cluster = cs.ManagedCluster(
            self.child_name("aks"),
            resource_name_=names.cluster(),
            resource_group_name=rg_name,
            location=args.location,
            dns_prefix=names.dns_prefix(),
            node_resource_group=names.node_resource_group(),
            kubernetes_version=settings.kubernetes_version,
            sku=cs.ManagedClusterSKUArgs(name=cs.ManagedClusterSKUName.BASE, tier=_TIERS[settings.tier]),
            support_plan=_SUPPORT_PLANS[settings.support_plan],
            identity=cs.ManagedClusterIdentityArgs(type=cs.ResourceIdentityType.SYSTEM_ASSIGNED),
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=cs.ManagedClusterAADProfileArgs(
                managed=True,
                enable_azure_rbac=True,
                admin_group_object_ids=list(settings.admin_group_object_ids) or None,
            ),
            api_server_access_profile=cs.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=settings.api_server.private_cluster,
                authorized_ip_ranges=list(settings.api_server.authorized_ip_ranges) or None,
            ),
            oidc_issuer_profile=cs.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=cs.ManagedClusterSecurityProfileArgs(
                workload_identity=cs.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                image_cleaner=cs.ManagedClusterSecurityProfileImageCleanerArgs(
                    enabled=True, interval_hours=settings.image_cleaner_interval_hours
                ),
                defender=cs.ManagedClusterSecurityProfileDefenderArgs(
                    log_analytics_workspace_resource_id=self.log_analytics.id,
                    security_monitoring=cs.ManagedClusterSecurityProfileDefenderSecurityMonitoringArgs(
                        enabled=True
                    ),
                )
                if settings.defender
                else None,
            ),
            network_profile=cs.ContainerServiceNetworkProfileArgs(
                network_plugin=cs.NetworkPlugin.AZURE,
                network_plugin_mode=cs.NetworkPluginMode.OVERLAY,
                network_dataplane=cs.NetworkDataplane.CILIUM,
                network_policy=cs.NetworkPolicy.CILIUM,
                pod_cidr=settings.network.pod_cidr,
                service_cidr=settings.network.service_cidr,
                dns_service_ip=settings.network.dns_service_ip,
                load_balancer_sku=cs.LoadBalancerSku.STANDARD,
                outbound_type=_OUTBOUND_TYPES[outbound],
            ),
            auto_upgrade_profile=cs.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=_UPGRADE_CHANNELS[settings.upgrade_channel],
                node_os_upgrade_channel=_NODE_OS_CHANNELS[settings.node_os_upgrade_channel],
            ),
            auto_scaler_profile=None
            if args.features.node_auto_provisioning
            else _auto_scaler_profile(settings),
            agent_pool_profiles=profiles,
            addon_profiles=self._addons(args),
            ai_toolchain_operator_profile=cs.ManagedClusterAIToolchainOperatorProfileArgs(enabled=True)
            if args.features.kaito_addon
            else None,
            workload_auto_scaler_profile=cs.ManagedClusterWorkloadAutoScalerProfileArgs(
                keda=cs.ManagedClusterWorkloadAutoScalerProfileKedaArgs(enabled=True)
            )
            if args.features.keda_addon
            else None,
            azure_monitor_profile=cs.ManagedClusterAzureMonitorProfileArgs(
                metrics=cs.ManagedClusterAzureMonitorProfileMetricsArgs(enabled=True)
            )
            if args.features.managed_prometheus
            else None,
            # The AKS Istio add-on serves the gateway's Gateway API objects (gatewayClassName istio;
            # AKS istio-gateway-api.md lines 25-28); its revision is checked by rules.gateway.
            service_mesh_profile=cs.ServiceMeshProfileArgs(
                mode=cs.ServiceMeshMode.ISTIO,
                istio=cs.IstioServiceMeshArgs(revisions=[args.features.istio_revision]),
            )
            if args.features.istio_revision
            else None,
            node_provisioning_profile=cs.ManagedClusterNodeProvisioningProfileArgs(
                mode=cs.NodeProvisioningMode.AUTO,
                default_node_pools=cs.NodeProvisioningDefaultNodePools.AUTO
                if args.features.keep_default_nap_pools
                else cs.NodeProvisioningDefaultNodePools.NONE,
            )
            if args.features.node_auto_provisioning
            else None,
            tags=tags,
            opts=self.child_opts(
                was="aks", ignore_changes=cluster_ignore_changes(profiles), replace_on_changes=replace
            ),
        )
        # A change of cluster.kubernetesVersion is applied here, never by resending it on the cluster.
        self.version_update = KubernetesVersionUpdate(
            self.child_name("kubernetes-version"),
            resource_group_name=rg_name,
            cluster_name=self.cluster.name,
            kubernetes_version=settings.kubernetes_version,
            steps=[dict(step) for step in args.upgrade_steps],
            opts=self.child_opts(was="kubernetes-version", depends_on=[self.cluster]),
        )
        # AKS refuses overlapping writes on one cluster ("another operation is in progress"): every
        # write after the cluster (version update, maintenance configurations, agent pools) follows
        # the previous one. ``last_write`` is the end of the chain so far.
        self.last_write: pulumi.Resource = self.version_update
        self._maintenance_windows(settings, rg_name)
        container_insights(
            rule_name=names.container_insights_rule(),
            location=args.location,
            tags=tags,
            resource_group_name=rg_name,
            workspace_id=self.log_analytics.id,
            cluster_id=self.cluster.id,
            parent=self,
        )

        if self.network is not None:
            client = authorization.get_client_config_output()
            self.network.grant_cluster(
                self.cluster.identity.apply(lambda i: i.principal_id if i and i.principal_id else ""),
                client.subscription_id,
            )

        creds = cs.list_managed_cluster_user_credentials_output(
            resource_group_name=rg_name, resource_name=self.cluster.name, format="exec"
        )
        self.kubeconfig = pulumi.Output.secret(
            creds.kubeconfigs.apply(lambda kcs: with_azure_cli_login(base64.b64decode(kcs[0].value).decode()))
        )
        admin = [self._deployer_admin(settings)] if settings.grant_deployer_cluster_admin else []
        # No Kubernetes object before the API server lets the deployer act (a new role assignment takes
        # up to five minutes to arrive there): the provider below depends on this poll.
        self.deployer_access = DeployerAccess(
            self.child_name("deployer-access"),
            kubeconfig=self.kubeconfig,
            cluster_id=self.cluster.id,
            principal_id=authorization.get_client_config_output().object_id,
            opts=self.child_opts(was="deployer-access", depends_on=[self.cluster, *admin]),
        )
        # The provider keeps its first name, the one child outside the f"{name}-..." convention: every
        # Kubernetes object's state names its provider, and an aliased provider rename has replaced every
        # object that used it (pulumi/pulumi#3979, #18395; fixed in the engine since, but a replaced
        # provider here would mean every Helm release and model of the stack recreated), which no
        # offline test can rule out. Aliases on all other children cost nothing if they do not match.
        self.kube_provider = KubernetesProvider(
            "k8s",
            kubeconfig=self.kubeconfig,
            delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster, *admin, self.deployer_access]),
        )

        self.resource_group_name = rg_name
        self.cluster_name = self.cluster.name
        self.oidc_issuer_url = self.cluster.oidc_issuer_profile.apply(
            lambda p: p.issuer_url if p and p.issuer_url else ""
        )
        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "clusterName": self.cluster_name,
                "oidcIssuerUrl": self.oidc_issuer_url,
            }
        )

    def _deployer_admin(self, settings: ClusterConfig) -> authorization.RoleAssignment:
        """Kubernetes RBAC for whoever runs `pulumi up` (no local accounts), on this cluster only."""
        client = authorization.get_client_config_output()
        role = AKS_RBAC_CLUSTER_ADMIN
        return authorization.RoleAssignment(
            self.child_name("deployer-cluster-admin"),
            role_assignment_name=pulumi.Output.all(self.cluster.id, client.object_id).apply(
                lambda v: assignment_name(v[0], role, f"deployer-{v[1]}")
            ),
            scope=self.cluster.id,
            role_definition_id=role_definition_id(client.subscription_id, role),
            principal_id=client.object_id,
            principal_type=authorization.PrincipalType(settings.deployer_principal_type),
            description=f"{role.name}: the identity that deploys this stack creates its Kubernetes objects",
            opts=self.child_opts(was="deployer-cluster-admin"),
        )

    def _addons(self, args: AksClusterArgs) -> dict[str, cs.ManagedClusterAddonProfileArgs]:
        addons = {
            "omsagent": cs.ManagedClusterAddonProfileArgs(
                enabled=True,
                config={"logAnalyticsWorkspaceResourceID": self.log_analytics.id, "useAADAuth": "true"},
            ),
        }
        if args.settings.azure_policy:
            addons["azurepolicy"] = cs.ManagedClusterAddonProfileArgs(enabled=True, config={"version": "v2"})
        if args.features.key_vault_csi:
            addons["azureKeyvaultSecretsProvider"] = cs.ManagedClusterAddonProfileArgs(
                enabled=True, config={"enableSecretRotation": "true", "rotationPollInterval": "2m"}
            )
        return addons

    def _maintenance_windows(self, settings: ClusterConfig, rg_name: pulumi.Input[str]) -> None:
        window = settings.maintenance_window
        for config_name in ("aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"):
            self.last_write = cs.MaintenanceConfiguration(
                self.child_name(config_name),
                resource_group_name=rg_name,
                resource_name_=self.cluster.name,
                config_name=config_name,
                maintenance_window=cs.MaintenanceWindowArgs(
                    schedule=cs.ScheduleArgs(
                        weekly=cs.WeeklyScheduleArgs(day_of_week=cs.WeekDay(window.day), interval_weeks=1)
                    ),
                    duration_hours=window.duration_hours,
                    start_time=f"{window.start_hour:02d}:00",
                    utc_offset=window.utc_offset,
                ),
                opts=self.child_opts(was=config_name, depends_on=[self.last_write]),
            )
