"""The whole platform of one stack, composed from the per-concern components."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.addons import PlatformAddons, PlatformAddonsArgs, addon_features
from components.budget import StackBudget, StackBudgetArgs, first_of_month
from components.cluster import AksCluster, AksClusterArgs, ClusterFeatures
from components.gpu_pools import GpuPools, GpuPoolsArgs
from components.model_services import ModelServices, ModelServicesArgs
from components.node_provisioning import NodeProvisioning, NodeProvisioningArgs
from config.catalog import load_catalog
from config.plan_date import plan_date
from config.schema import StackConfig
from cost import estimate_cost
from facts.aks_versions import lookup, support_status
from facts.naming import Names
from facts.tags import stack_tags
from sizing.agent_pools import agent_pool_specs, priority_expander_priorities
from sizing.deployments import device_memory_notes, plan_models
from sizing.gpu_software import device_plugin_values, mig_parted_config, operator_values, sharing_config
from sizing.nap import cluster_features, nap_summary, node_class_specs, nodepool_specs
from sizing.quota import quota_rows


def kubernetes_version_summary(cfg: StackConfig) -> dict[str, Any]:
    """The cluster's version with its end of life on the plan's date (printed by the plan)."""
    c = cfg.cluster
    status = support_status(c.kubernetes_version, tier=c.tier, support_plan=c.support_plan, on=plan_date())
    entry = lookup(c.kubernetes_version)
    addons = dict(entry.addons) if entry else {}
    return {
        "version": c.kubernetes_version,
        "minor": status.minor,
        "tier": c.tier,
        "supportPlan": c.support_plan,
        "endOfLife": status.end_of_life.isoformat() if status.end_of_life else None,
        "planDate": plan_date().isoformat(),
        "status": status.kind,
        "note": status.message,
        # What AKS ships on this minor (config/catalog/aks-versions.yaml); "assumed" says why, if so.
        "managedAddons": {
            name: {"version": v.version, **({"assumed": v.assumed} if v.assumed else {})}
            for name, v in sorted(addons.items())
        },
    }


@dataclass(frozen=True)
class PlatformArgs:
    """A validated stack config and where it runs."""

    project: str
    stack: str
    config: StackConfig


class Platform(pulumi.ComponentResource):
    """Cluster, GPU capacity, add-ons, identities and model services of one stack."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:Platform", name, None, opts)
        cfg = args.config
        names = Names(prefix=cfg.prefix, stack=args.stack, location=cfg.location)
        tags = stack_tags(args.project, args.stack, cfg.tags)
        self.cluster = AksCluster(
            "cluster",
            AksClusterArgs(
                names=names,
                location=cfg.location,
                tags=tags,
                settings=cfg.cluster,
                features=ClusterFeatures(**addon_features(cfg), **cluster_features(cfg)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.addons = PlatformAddons(
            "addons",
            PlatformAddonsArgs(names=names, tags=tags, config=cfg, cluster=self.cluster),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.inference = self.addons.inference
        self.model_plans = plan_models(cfg, load_catalog())
        catalog = load_catalog()
        self.agent_pool_specs = agent_pool_specs(cfg, catalog)
        nvidia_operator, nvidia_plugin = operator_values(cfg, catalog), device_plugin_values(cfg)
        self.gpu_pools = (
            GpuPools(
                "gpu-pools",
                GpuPoolsArgs(
                    specs=self.agent_pool_specs,
                    resource_group_name=self.cluster.resource_group_name,
                    cluster_name=self.cluster.cluster_name,
                    tags=tags,
                    kube_provider=self.cluster.kube_provider,
                    operator_values=nvidia_operator,
                    mig_parted_config=mig_parted_config(cfg, catalog),
                    sharing_config=sharing_config(cfg),
                    device_plugin_values=nvidia_plugin,
                    after=self.cluster.last_write,
                    priority_expander=priority_expander_priorities(self.agent_pool_specs)
                    if cfg.cluster.autoscaler.expander == "priority" and cfg.node_provisioning.mode != "nap"
                    else None,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
            )
            # NAP stacks have no agent pools, but their NodePools need the same NVIDIA software.
            if self.agent_pool_specs or nvidia_operator is not None or nvidia_plugin is not None
            else None
        )
        self.nodepool_specs = nodepool_specs(cfg, catalog)
        self.node_provisioning = (
            NodeProvisioning(
                "node-provisioning",
                NodeProvisioningArgs(
                    node_classes=node_class_specs(cfg, catalog),
                    node_pools=self.nodepool_specs,
                    tags=tags,
                    kube_provider=self.cluster.kube_provider,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
            )
            if self.nodepool_specs
            else None
        )
        self.outputs: dict[str, Any] = {
            "sizing": [plan.row() for plan in self.model_plans],
            "resourceGroupName": self.cluster.resource_group_name,
            "clusterName": self.cluster.cluster_name,
            "oidcIssuerUrl": self.cluster.oidc_issuer_url,
            "gpuPools": [spec.row() for spec in self.agent_pool_specs],
            "quota": [row.row() for row in quota_rows(cfg, catalog)],
            **self.addons.outputs,
        }
        self.outputs["kubernetesVersion"] = kubernetes_version_summary(cfg)
        version_notes = (
            [self.outputs["kubernetesVersion"]["note"]]
            if self.outputs["kubernetesVersion"]["status"] == "warn"
            else []
        )
        early_notes = [*version_notes, *device_memory_notes(self.model_plans)]
        if early_notes:
            self.outputs["notes"] = [*self.outputs.get("notes", []), *early_notes]
        self.outputs["nodeProvisioning"] = nap_summary(cfg, catalog, self.outputs["sizing"])
        self.cost = estimate_cost(cfg, load_catalog(), self.model_plans)
        self.outputs["cost"] = self.cost.to_dict()
        if cfg.budget is not None:
            self.budget = StackBudget(
                "budget",
                StackBudgetArgs(
                    budget_name=names.budget(),
                    scope=self.cluster.resource_group.id,
                    settings=cfg.budget,
                    start_date=cfg.budget.start_date or first_of_month(plan_date()),
                    start_date_pinned=cfg.budget.start_date is not None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.outputs["budgetName"] = names.budget()
        self.models = ModelServices(
            "models",
            ModelServicesArgs(plans=self.model_plans, config=cfg, inference=self.inference),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.outputs["models"] = self.models.outputs
        if self.models.worker is not None:
            self.outputs["queueWorker"] = self.models.worker.summary()
        if self.models.notes:
            self.outputs["notes"] = [*self.outputs.get("notes", []), *self.models.notes]
        self.register_outputs(self.outputs)
