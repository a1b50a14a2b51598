"""The typed, pure plan of one stack, built before any resource (no Pulumi).

``plan_stack(config, catalog, on=day)`` is everything the components need that follows from the stack
config, the catalog and the plan's date (read once, by the caller, and kept here), each decision made
once, in dependency order: the model plans, the GPU agent pools, the NAP NodePools and node classes,
the pools' worst-case node counts and the network plan, the quota rows, the NVIDIA software values, the
KAITO release, the HTTP add-on's readiness timeout, the queue worker's plan, the cost estimate and the
summaries the plan prints. The rules (``rules.check.RULES``) judge it; ``components.platform.Platform``
composes resources from it and computes nothing itself (``tests/test_layers.py``); the counts are
``tests/test_plan_once.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from config.catalog import Catalog, GpuSku
from config.plan_date import plan_date
from config.schema import StackConfig
from cost.estimate import CostEstimate, estimate_cost
from cost.network import network_cost
from facts.aks_versions import AddonVersion, lookup, support_status
from facts.kaito_versions import (
    CHART_KAITO_VERSION,
    KaitoCapabilities,
    UnknownKaitoVersion,
    kaito_capabilities,
    kaito_version_of,
)
from facts.naming import Names
from planning.api_access import documentation_ranges_warning
from renderers.gpu_software import device_plugin_values, mig_parted_config, operator_values, sharing_config
from renderers.helm_values import http_readiness_timeout_seconds
from sizing.agent_pools import AgentPoolSpec, agent_pool_specs, priority_expander_priorities
from sizing.deployments import ModelPlan, device_memory_notes, plan_models
from sizing.gpu_software import kaito_node_labels
from sizing.nap import NodeClassSpec, NodePoolSpec, node_class_specs, nodepool_specs, sizing_skus
from sizing.nap_summary import NapSummary, nap_summary
from sizing.network import NetworkPlan, NodeCount, network_plan, node_counts, private_endpoint_targets
from sizing.queue_worker import WorkerPlan, worker_plan
from sizing.quota import QuotaRow, quota_rows
from sizing.upgrade_path import UpgradeStep, upgrade_steps
from sizing.workloads import predict_cold_start


@dataclass(frozen=True)
class KubernetesVersionSummary:
    """The cluster's version with its end of life on the plan's date (output ``kubernetesVersion``)."""

    version: str
    minor: str
    tier: str
    support_plan: str
    end_of_life: date | None
    plan_date: date
    status: str  # ok | warn | refuse
    note: str
    # What AKS ships on this minor (config/catalog/aks-versions.yaml), by add-on name.
    managed_addons: dict[str, AddonVersion]


def kubernetes_version_summary(cfg: StackConfig, on: date) -> KubernetesVersionSummary:
    """The cluster's version with its end of life on the plan's date ``on`` (printed by the plan)."""
    c = cfg.cluster
    status = support_status(c.kubernetes_version, tier=c.tier, support_plan=c.support_plan, on=on)
    entry = lookup(c.kubernetes_version)
    return KubernetesVersionSummary(
        version=c.kubernetes_version,
        minor=status.minor,
        tier=c.tier,
        support_plan=c.support_plan,
        end_of_life=status.end_of_life,
        plan_date=on,
        status=status.kind,
        note=status.message,
        managed_addons=dict(sorted(entry.addons.items())) if entry else {},
    )


@dataclass(frozen=True)
class ClusterFeatures:
    """Cluster-level switches that later components need on the ManagedCluster itself."""

    kaito_addon: bool = False
    keda_addon: bool = False
    key_vault_csi: bool = False
    managed_prometheus: bool = False
    node_auto_provisioning: bool = False
    keep_default_nap_pools: bool = True
    istio_revision: str | None = None  # the AKS Istio add-on (serviceMeshProfile) for the gateway


def cluster_features(config: StackConfig) -> ClusterFeatures:
    """The switches the add-ons (managed KAITO, KEDA, the Key Vault CSI driver, managed Prometheus)
    and NAP mode (``nodeProvisioningProfile``) need on the ManagedCluster."""
    nap = config.node_provisioning
    return ClusterFeatures(
        kaito_addon=config.addons.kaito.mode == "managed",
        keda_addon=True,
        key_vault_csi=True,
        managed_prometheus=True,
        node_auto_provisioning=nap.mode == "nap",
        keep_default_nap_pools=nap.keep_default_node_pools,
        istio_revision=config.gateway.istio_revision if config.gateway is not None else None,
    )


@dataclass(frozen=True)
class KaitoRelease:
    """The KAITO release the stack's KAITO models run under (version label, CRD and capabilities): the
    chart version in helm mode, the managed add-on's KAITO (``facts.kaito_versions``) otherwise."""

    version: str
    capabilities: KaitoCapabilities | None  # None: a release the program does not model (the rules refuse)
    node_labels: dict[str, str]  # what KAITO (chart) puts on the nodes it provisions

    @property
    def rendered_for(self) -> KaitoCapabilities:
        """What KAITO objects are rendered for: the release's capabilities, KAITO 0.12.0's (the pinned
        chart's) where the program does not model the release."""
        return self.capabilities or kaito_capabilities(CHART_KAITO_VERSION)


def kaito_release(config: StackConfig) -> KaitoRelease:
    """The stack's KAITO release, its capabilities and the labels of the nodes it provisions."""
    kaito = config.addons.kaito
    version = kaito_version_of(kaito.mode, kaito.chart_version, config.cluster.kubernetes_version)
    try:
        capabilities: KaitoCapabilities | None = kaito_capabilities(version)
    except UnknownKaitoVersion:
        capabilities = None
    return KaitoRelease(version, capabilities, kaito_node_labels(config))


@dataclass(frozen=True)
class StackPlan:
    """What one stack becomes, before any resource: typed, pure, computed once."""

    config: StackConfig
    catalog: Catalog
    plan_date: date  # the date the plan is made for (version end of life, budget start), read once
    nap_sizing_skus: dict[str, GpuSku | None]  # each NodePool's sizing SKU (sizing.nap.sizing_skus)
    model_plans: list[ModelPlan]
    agent_pool_specs: list[AgentPoolSpec]
    nodepool_specs: list[NodePoolSpec]
    node_class_specs: list[NodeClassSpec]
    operator_values: dict[str, Any] | None
    device_plugin_values: dict[str, Any] | None
    mig_parted_config: str | None
    sharing_config: dict[str, str] | None
    priority_expander: str | None  # the cluster autoscaler's priorities (expander: priority, pools mode)
    quota: list[QuotaRow]
    kubernetes_version: KubernetesVersionSummary
    early_notes: list[str]  # the version's warning and the device-memory notes, before the add-ons'
    node_provisioning: NapSummary  # the NAP summary, from the typed plans
    cluster_features: ClusterFeatures
    upgrade_steps: list[UpgradeStep]  # the order a Kubernetes version change follows
    node_counts: list[NodeCount]  # every pool's worst case (maximum + surge), for the subnets and pod CIDR
    kaito: KaitoRelease
    http_readiness_timeout_seconds: int | None  # the HTTP add-on interceptor's wait; None: chart default
    queue_worker: WorkerPlan | None  # the async queue's worker; None without the queue or its model
    cost: CostEstimate  # the ``cost`` output (its budget section names the groups of ``stack``)
    network_cost: dict[str, Any] | None  # the VNet's monthly cost (``cost.network``); None on AKS's VNet
    network: NetworkPlan | None = None  # the stack's own VNet (issue 23), None on AKS's managed VNet
    # The services reached by a private endpoint (``sizing.network.private_endpoint_targets`` keys)
    private_endpoint_targets: list[str] = field(default_factory=list)

    @property
    def runs_gpu_software(self) -> bool:
        """GpuPools is declared: agent pools, or NVIDIA software for NAP's NodePools."""
        return (
            bool(self.agent_pool_specs)
            or self.operator_values is not None
            or self.device_plugin_values is not None
        )


def plan_stack(
    config: StackConfig, catalog: Catalog, *, on: date | None = None, stack: str | None = None
) -> StackPlan:
    """The stack's plan from its validated config and the catalog (loaded once by the caller), as of
    the plan's date ``on`` (the one the rules judged; ``config.plan_date.plan_date`` when not given).
    Each decision is made once, in dependency order. ``stack`` is the Pulumi stack's name: the cost
    estimate's budget section names the resource groups the budget watches (none when not given)."""
    day = plan_date() if on is None else on
    budget_groups = (
        Names(prefix=config.prefix, stack=stack, location=config.location).budget_resource_groups()
        if stack is not None
        else []
    )
    chosen_skus = sizing_skus(config, catalog)
    model_plans = [
        replace(p, predicted_cold_start=predict_cold_start(p))
        for p in plan_models(config, catalog, chosen_skus)
    ]
    specs = agent_pool_specs(config, catalog)
    nodepools = nodepool_specs(config, catalog, chosen_skus)
    counts = node_counts(config, specs, nodepools, model_plans)
    private_targets = private_endpoint_targets(config)
    network = network_plan(config, counts, private_targets)
    version = kubernetes_version_summary(config, day)
    version_notes = [version.note] if version.status == "warn" else []
    access = documentation_ranges_warning(config)  # refused by `pulumi up` (stack.loader)
    access_notes = [f"WARNING: {access}"] if access else []
    priority = config.cluster.autoscaler.expander == "priority" and config.node_provisioning.mode != "nap"
    return StackPlan(
        config=config,
        catalog=catalog,
        plan_date=day,
        nap_sizing_skus=chosen_skus,
        model_plans=model_plans,
        agent_pool_specs=specs,
        nodepool_specs=nodepools,
        node_class_specs=node_class_specs(nodepools),
        operator_values=operator_values(config, catalog),
        device_plugin_values=device_plugin_values(config),
        mig_parted_config=mig_parted_config(config, catalog),
        sharing_config=sharing_config(config),
        priority_expander=priority_expander_priorities(specs) if priority else None,
        quota=quota_rows(config, catalog, specs, nodepools, model_plans),
        kubernetes_version=version,
        early_notes=[*access_notes, *version_notes, *device_memory_notes(model_plans)],
        node_provisioning=nap_summary(config, nodepools, model_plans),
        cluster_features=cluster_features(config),
        upgrade_steps=upgrade_steps(config, specs),
        node_counts=counts,
        kaito=kaito_release(config),
        http_readiness_timeout_seconds=http_readiness_timeout_seconds(config, model_plans),
        queue_worker=worker_plan(config, model_plans, config.inference.namespace),
        cost=estimate_cost(config, catalog, model_plans, budget_groups),
        network_cost=network_cost(network, private_targets, gateway=config.gateway is not None),
        network=network,
        private_endpoint_targets=private_targets,
    )
