"""KAITO: the AKS AI toolchain operator add-on (managed, the default) or the upstream chart (helm).

Managed: the cluster's ``aiToolchainOperatorProfile`` (set through ``ClusterFeatures.kaito_addon``);
since the add-on went GA its node provisioner runs in AKS's control plane, so no identity is created.
Helm: the ``kaito/workspace`` chart, pinned, with feature gates from config, and when the self-hosted
gpu-provisioner provisions nodes, its chart, identity and federated credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
from pulumi_kubernetes.core.v1 import Namespace
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from components.child_names import Component
from components.outputs import KaitoSummary
from components.roles import GPU_PROVISIONER_AGENT_POOLS, custom_role_guid
from components.workload_identity import IdentityHome, RoleGrant, WorkloadIdentity, WorkloadIdentityArgs
from config import versions
from config.schema import KaitoConfig
from facts.kaito_versions import MANAGED_KAITO_VERSION
from facts.namespaces import GPU_PROVISIONER_NAMESPACE, KAITO_NAMESPACE
from facts.role_actions import GPU_PROVISIONER_ROLE
from facts.tags import k8s_labels
from renderers.helm_values import (
    GPU_PROVISIONER_ENV,
    GPU_PROVISIONER_SERVICE_ACCOUNT,
    SYSTEM_POOL_TOLERATION,
    gpu_provisioner_values,
    workspace_values,
)

__all__ = ["SYSTEM_POOL_TOLERATION", "Kaito", "KaitoArgs", "kaito_summary", "workspace_values"]

KAITO_CHARTS = versions.chart("kaito-workspace").repository
GPU_PROVISIONER_CHARTS = versions.chart("gpu-provisioner").repository
UPSTREAM_KAITO = versions.chart(
    "kaito-workspace"
).version  # the upstream release the facts and CRDs of this project describe


def kaito_summary(settings: KaitoConfig) -> KaitoSummary:
    """What the plan says about KAITO: the mode, the version it brings, and the caveat."""
    if settings.mode == "managed":
        return {
            "mode": "managed",
            "version": f"v{MANAGED_KAITO_VERSION}",
            "note": (
                f"the AKS add-on runs KAITO {MANAGED_KAITO_VERSION} (ai-toolchain-operator.md; upstream "
                f"chart is v{UPSTREAM_KAITO}): Workspaces only, no InferenceSet, so no autoscaling; its "
                "feature gates are set by AKS"
            ),
        }
    provisioner = settings.node_provisioner
    return {
        "mode": "helm",
        "version": f"v{settings.chart_version}",
        "note": (
            f"upstream chart kaito/workspace {settings.chart_version}; node provisioner: {provisioner}"
            + (
                " (deprecated upstream; self-hosted, with its own identity)"
                if provisioner == "gpu-provisioner"
                else ""
            )
        ),
    }


@dataclass(frozen=True)
class KaitoArgs:
    """KAITO's settings and, for helm mode, the cluster and identity home of the gpu-provisioner."""

    settings: KaitoConfig
    identity_name: str
    home: IdentityHome
    node_resource_group: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    cluster_id: pulumi.Input[str]
    gfd_values: dict[str, Any] | None = None  # the GFD subchart's values (nodeProvisioner: none)


class Kaito(Component):
    """Nothing but a summary in managed mode; the charts (and gpu-provisioner identity) in helm mode."""

    summary: KaitoSummary
    gpu_provisioner: WorkloadIdentity | None
    # Helm mode: the atomic workspace release (KAITO's CRDs, its controller and its validating webhook,
    # failurePolicy Fail at chart 0.12.0 templates/webhooks.yaml). Every Workspace and InferenceSet
    # depends on it: created before the webhook has a ready pod, the API server refuses them ("failed
    # calling webhook") and pulumi-kubernetes does not retry that (pitfalls 29). Managed mode: None,
    # the cluster with the add-on enabled serves them (the models reach it through the provider).
    release: Release | None

    def __init__(self, name: str, args: KaitoArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:Kaito", name, opts)
        settings = args.settings
        self.summary = kaito_summary(settings)
        self.gpu_provisioner = None
        self.release = None
        if settings.mode == "helm":
            self._helm(args)
        self.register_outputs({"kaito": self.summary})

    def _helm(self, args: KaitoArgs) -> None:
        settings = args.settings
        namespace = Namespace(
            self.child_name("namespace"),
            metadata=ObjectMetaArgs(name=KAITO_NAMESPACE, labels=k8s_labels(KAITO_NAMESPACE, "kaito")),
            opts=self.child_opts(was="kaito-namespace"),
        )
        self.release = Release(
            self.child_name("workspace"),
            name="kaito-workspace",
            chart="workspace",
            version=settings.chart_version,
            repository_opts=RepositoryOptsArgs(repo=KAITO_CHARTS),
            namespace=KAITO_NAMESPACE,
            values=workspace_values(settings, args.cluster_name, args.gfd_values),
            atomic=True,
            opts=self.child_opts(was="kaito-workspace", depends_on=[namespace]),
        )
        if settings.node_provisioner == "gpu-provisioner":
            self._gpu_provisioner(args)

    def _agent_pool_role(self, args: KaitoArgs) -> tuple[authorization.RoleDefinition, pulumi.Output[str]]:
        """Exactly what gpu-provisioner v0.4.3 calls (facts/role_actions.py): read the cluster, manage its
        agent pools. Defined on the resource group (custom roles cannot name a single resource as their
        assignable scope) and assigned on the cluster only."""
        group = pulumi.Output.all(args.home.subscription_id, args.home.place.resource_group_name).apply(
            lambda v: f"/subscriptions/{v[0]}/resourceGroups/{v[1]}"
        )
        role = GPU_PROVISIONER_ROLE
        guid = group.apply(lambda g: custom_role_guid(g, role.name))
        definition = authorization.RoleDefinition(
            self.child_name("gpu-provisioner-role"),
            role_definition_id=guid,
            # Role names are unique in the tenant (RoleDefinitionWithSameNameExists otherwise), resource
            # group names only in a subscription: both make this one the stack's own.
            role_name=pulumi.Output.all(args.home.place.resource_group_name, args.home.subscription_id).apply(
                lambda v: f"{role.name} ({v[0]}, subscription {v[1]})"
            ),
            description="gpu-provisioner (KAITO): read the cluster, create/read/delete its agent pools",
            role_type="CustomRole",
            scope=group,
            assignable_scopes=[group],
            permissions=[authorization.PermissionArgs(actions=list(role.actions))],
            opts=self.child_opts(was="gpu-provisioner-role"),
        )
        return definition, guid

    def _gpu_provisioner(self, args: KaitoArgs) -> None:
        namespace = Namespace(
            self.child_name("gpu-provisioner-namespace"),
            metadata=ObjectMetaArgs(
                name=GPU_PROVISIONER_NAMESPACE, labels=k8s_labels(GPU_PROVISIONER_NAMESPACE, "kaito")
            ),
            opts=self.child_opts(was="gpu-provisioner-namespace"),
        )
        role, guid = self._agent_pool_role(args)
        # The subscription-level id a role assignment names (through role.id: it waits for the role).
        role_id = pulumi.Output.all(args.home.subscription_id, guid, role.id).apply(
            lambda v: f"/subscriptions/{v[0]}/providers/Microsoft.Authorization/roleDefinitions/{v[1]}"
        )
        self.gpu_provisioner = WorkloadIdentity(
            self.child_name("gpu-provisioner-identity"),
            WorkloadIdentityArgs(
                identity_name=args.identity_name,
                home=args.home,
                namespace=GPU_PROVISIONER_NAMESPACE,
                service_account=GPU_PROVISIONER_SERVICE_ACCOUNT,
                grants=[
                    RoleGrant(
                        GPU_PROVISIONER_AGENT_POOLS,  # names the assignment; the definition: role_id
                        args.cluster_id,
                        "gpu-provisioner creates, reads and deletes GPU agent pools",
                        definition_id=role_id,
                    )
                ],
                labels=k8s_labels(GPU_PROVISIONER_SERVICE_ACCOUNT, "kaito"),
                automount_api_token=True,  # a controller: it watches NodeClaims and creates Nodes
                depends_on=[namespace],
            ),
            opts=self.child_opts(was="gpu-provisioner-identity"),
        )
        env = dict(
            zip(
                GPU_PROVISIONER_ENV,
                [
                    args.home.subscription_id,
                    args.home.place.location,
                    args.cluster_name,
                    args.node_resource_group,
                    args.home.place.resource_group_name,
                ],
                strict=True,
            )
        )
        Release(
            self.child_name("gpu-provisioner"),
            name="gpu-provisioner",
            chart="gpu-provisioner",
            version=args.settings.gpu_provisioner_chart_version,
            repository_opts=RepositoryOptsArgs(repo=GPU_PROVISIONER_CHARTS),
            namespace=GPU_PROVISIONER_NAMESPACE,
            values=gpu_provisioner_values(
                self.gpu_provisioner.client_id, args.home.tenant_id, args.cluster_name, env
            ),
            atomic=True,
            opts=self.child_opts(was="gpu-provisioner", depends_on=[namespace, self.gpu_provisioner]),
        )
