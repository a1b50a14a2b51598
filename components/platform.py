"""The whole platform of one stack, composed from the per-concern components."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization

from components.addons import PlatformAddons, PlatformAddonsArgs
from components.budget import StackBudget, StackBudgetArgs, first_of_month
from components.child_names import Component
from components.cluster import AksCluster, AksClusterArgs
from components.gateway import ModelGateway, ModelGatewayArgs
from components.gpu_pools import GpuPools, GpuPoolsArgs
from components.model_services import ModelServices, ModelServicesArgs
from components.node_provisioning import NodeProvisioning, NodeProvisioningArgs
from components.outputs import (
    StackOutputs,
    gateway_output,
    kubernetes_version_output,
    node_provisioning_output,
    queue_worker_output,
    quota_output,
)
from facts.naming import Names
from facts.tags import stack_tags
from planning.stack_plan import StackPlan
from renderers.gateway import GATEWAY_NAME, ModelRoute, gateway_address, gateway_notes, model_routes


@dataclass(frozen=True)
class PlatformArgs:
    """Where the stack runs and its typed pure plan (``planning.stack_plan.plan_stack``), built before any
    resource."""

    project: str
    stack: str
    plan: StackPlan


class Platform(Component):
    """Cluster, GPU capacity, add-ons, identities and model services of one stack."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:Platform", name, opts)
        plan = args.plan
        cfg = plan.config
        names = Names(prefix=cfg.prefix, stack=args.stack, location=cfg.location)
        self.names = names
        tags = stack_tags(args.project, args.stack, cfg.tags)
        version = cfg.cluster.kubernetes_version
        upgrade = [s.row(names.resource_group(), names.cluster(), version) for s in plan.upgrade_steps]
        self.cluster = AksCluster(
            self.child_name("cluster"),
            AksClusterArgs(
                names=names,
                location=cfg.location,
                tags=tags,
                settings=cfg.cluster,
                features=plan.cluster_features,
                upgrade_steps=upgrade,
                network=plan.network,
            ),
            opts=self.child_opts(was="cluster"),
        )
        # The cluster's Kubernetes provider reaches every Kubernetes object through the components'
        # ``providers`` option (children inherit it by package), never through their Args: pulumi 3.272.0
        # sdk/python/lib/pulumi/resource.py, Resource.__init__ (l. 1107-1111: a child takes its parent's
        # provider map) and _get_providers (l. 1155-1200: no explicit provider -> the map's, by package).
        kube: list[pulumi.ProviderResource] = [self.cluster.kube_provider]
        self.addons = PlatformAddons(
            self.child_name("addons"),
            PlatformAddonsArgs(
                names=names,
                tags=tags,
                config=cfg,
                cluster=self.cluster,
                model_plans=plan.model_plans,
                http_readiness_timeout_seconds=plan.http_readiness_timeout_seconds,
                private_endpoint_targets=plan.private_endpoint_targets,
            ),
            opts=self.child_opts(was="addons", providers=kube),
        )
        self.inference = self.addons.inference
        self.model_plans = plan.model_plans
        self.agent_pool_specs = plan.agent_pool_specs
        self.gpu_pools = (
            GpuPools(
                self.child_name("gpu-pools"),
                GpuPoolsArgs(
                    specs=self.agent_pool_specs,
                    resource_group_name=self.cluster.resource_group_name,
                    cluster_name=self.cluster.cluster_name,
                    tags=tags,
                    operator_values=plan.operator_values,
                    mig_parted_config=plan.mig_parted_config,
                    sharing_config=plan.sharing_config,
                    device_plugin_values=plan.device_plugin_values,
                    after=self.cluster.last_write,
                    priority_expander=plan.priority_expander,
                    node_subnet_id=self.cluster.node_subnet_id,
                ),
                opts=self.child_opts(was="gpu-pools", depends_on=[self.cluster], providers=kube),
            )
            # NAP stacks have no agent pools, but their NodePools need the same NVIDIA software.
            if plan.runs_gpu_software
            else None
        )
        self.nodepool_specs = plan.nodepool_specs
        self.node_provisioning = (
            NodeProvisioning(
                self.child_name("node-provisioning"),
                NodeProvisioningArgs(
                    node_classes=plan.node_class_specs,
                    node_pools=self.nodepool_specs,
                    tags=tags,
                ),
                opts=self.child_opts(was="node-provisioning", depends_on=[self.cluster], providers=kube),
            )
            if self.nodepool_specs
            else None
        )
        self.cost = plan.cost
        if cfg.budget is not None:
            self.budget = StackBudget(
                self.child_name("budget"),
                StackBudgetArgs(
                    budget_name=names.budget(),
                    scope=authorization.get_client_config_output().subscription_id.apply(
                        lambda sub: f"/subscriptions/{sub}"
                    ),
                    resource_groups=names.budget_resource_groups(),
                    settings=cfg.budget,
                    start_date=cfg.budget.start_date or first_of_month(plan.plan_date),
                    start_date_pinned=cfg.budget.start_date is not None,
                    forecast_action_group_id=self.addons.action_group_id,
                ),
                opts=self.child_opts(was="budget"),
            )
        self.models = ModelServices(
            self.child_name("models"),
            ModelServicesArgs(
                plans=self.model_plans,
                config=cfg,
                inference=self.inference,
                kaito=plan.kaito,
                worker=plan.queue_worker,
                registry_private="registry" in plan.private_endpoint_targets,
            ),
            opts=self.child_opts(was="models", providers=kube),
        )
        self.gateway_routes: list[ModelRoute] = []
        self.gateway = self._gateway(plan, kube) if cfg.gateway is not None else None
        addons = self.addons.outputs
        self.outputs: StackOutputs = {
            "sizing": [plan.row() for plan in self.model_plans],
            "resourceGroupName": self.cluster.resource_group_name,
            "clusterName": self.cluster.cluster_name,
            "oidcIssuerUrl": self.cluster.oidc_issuer_url,
            "gpuPools": [spec.row() for spec in self.agent_pool_specs],
            "quota": [quota_output(row) for row in plan.quota],
            "identities": addons["identities"],
            "keyVaultName": addons["keyVaultName"],
            "prometheusQueryEndpoint": addons["prometheusQueryEndpoint"],
            "kaito": addons["kaito"],
            "inferenceNamespace": addons["inferenceNamespace"],
            "triggerAuthentications": addons["triggerAuthentications"],
            "kubernetesVersion": kubernetes_version_output(plan.kubernetes_version),
            # What a change of cluster.kubernetesVersion runs, in order (components.version_update).
            "upgradePath": [
                {
                    "step": s.label,
                    "command": shlex.join(s.command(names.resource_group(), names.cluster(), version)),
                }
                for s in plan.upgrade_steps
            ],
            "nodeProvisioning": node_provisioning_output(plan.node_provisioning),
            "cost": self.cost.to_dict(),
            "models": self.models.outputs,
        }
        if "hfTokenSecret" in addons:
            self.outputs["hfTokenSecret"] = addons["hfTokenSecret"]
        if "modelWeights" in addons:
            self.outputs["modelWeights"] = addons["modelWeights"]
        if plan.network is not None:
            self.outputs["network"] = plan.network.summary()
        if plan.network_cost is not None:
            self.outputs["cost"]["network"] = plan.network_cost
        if "asyncQueue" in addons:
            self.outputs["asyncQueue"] = addons["asyncQueue"]
        if cfg.budget is not None:
            self.outputs["budgetName"] = names.budget()
        if self.models.worker is not None:
            self.outputs["queueWorker"] = queue_worker_output(self.models.worker)
        if self.gateway is not None:
            self.outputs["identities"] = {**addons["identities"], "gateway": self.gateway.identity.client_id}
            self.outputs["gateway"] = gateway_output(
                cfg, self.gateway.spec, self.model_plans, self.gateway_routes
            )
        notes = [*plan.early_notes, *self.models.notes, *gateway_notes(cfg, plan.plan_date)]
        if notes:
            self.outputs["notes"] = notes
        self.register_outputs(dict(self.outputs))

    def _gateway(self, plan: StackPlan, kube: list[pulumi.ProviderResource]) -> ModelGateway:
        """The gateway in front of the models (issue 23), after the models' Services and the add-ons."""
        cfg, refs = plan.config, self.inference
        assert cfg.gateway is not None
        http = refs.http_addon
        interceptor = (http.namespace, http.interceptor_service, http.interceptor_port) if http else None
        self.gateway_routes = model_routes(cfg, plan.model_plans, interceptor)
        subnets = plan.network.subnets if plan.network is not None else {}
        gateway_subnet = subnets.get("gateway") if cfg.gateway.internal else None
        names = self.names
        after: list[pulumi.Resource] = [self.models]
        if http is not None and http.release is not None:
            after.append(http.release)
        return ModelGateway(
            self.child_name("gateway"),
            ModelGatewayArgs(
                settings=cfg.gateway,
                name=GATEWAY_NAME,
                routes_namespace=refs.namespace,
                routes=self.gateway_routes,
                identity_name=names.identity("gateway"),
                home=self.addons.home,
                vault_name=self.addons.vault.vault_name,
                vault_id=self.addons.vault.vault_id,
                subnet=gateway_subnet.name if gateway_subnet is not None else None,
                address=gateway_address(gateway_subnet.address_prefix)
                if gateway_subnet is not None
                else None,
                after=after,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=kube, depends_on=[self.cluster]),
        )
