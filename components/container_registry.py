"""The stack's container registry (the queue worker's image lives here) and the cluster's right to
pull from it: Entra ID only (admin user off, anonymous pull off), AcrPull for the kubelet identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.containerregistry as containerregistry

from components.azure_place import AzurePlace
from components.child_names import Component
from components.roles import ACR_PULL, ACR_PUSH, assignment_name, role_definition_id


@dataclass(frozen=True)
class ContainerRegistryArgs:
    registry_name: pulumi.Input[str]
    place: AzurePlace
    subscription_id: pulumi.Input[str]
    kubelet_object_id: pulumi.Input[str]  # the cluster's kubelet identity (identityProfile.kubeletidentity)
    # Whoever runs `pulumi up` (the CI's OIDC identity) also runs the worker-image workflow: AcrPush.
    deployer_object_id: pulumi.Input[str]
    deployer_principal_type: str = "ServicePrincipal"
    # Reached by a private endpoint (issue 23): Premium (private endpoints need it) and public access off.
    private: bool = False


def kubelet_object_id(identity_profile: Any) -> str:
    """The kubelet identity's object id from a ManagedCluster's ``identity_profile`` output."""
    kubelet = (identity_profile or {}).get("kubeletidentity")
    if kubelet is None:
        return ""
    value = getattr(kubelet, "object_id", None)
    if value is None and isinstance(kubelet, dict):
        value = kubelet.get("object_id", kubelet.get("objectId"))
    return str(value or "")


class ContainerRegistry(Component):
    """Azure Container Registry (Basic: one small image; admin user and anonymous pull off) with
    AcrPull for the nodes; the worker-image workflow pushes to it (OIDC, AcrPush on this registry)."""

    login_server: pulumi.Output[str]
    registry_id: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:ContainerRegistry", name, opts)
        self.registry = containerregistry.Registry(
            self.child_name("registry"),
            registry_name=args.registry_name,
            resource_group_name=args.place.resource_group_name,
            location=args.place.location,
            sku=containerregistry.SkuArgs(
                name=containerregistry.SkuName.PREMIUM if args.private else containerregistry.SkuName.BASIC
            ),
            public_network_access=containerregistry.PublicNetworkAccess.DISABLED if args.private else None,
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            tags=dict(args.place.tags),
            opts=self.child_opts(was="registry"),
        )
        scope = self.registry.id
        self.acr_pull = authorization.RoleAssignment(
            self.child_name("kubelet-acr-pull"),
            role_assignment_name=scope.apply(lambda s: assignment_name(s, ACR_PULL, "kubelet")),
            scope=scope,
            role_definition_id=role_definition_id(args.subscription_id, ACR_PULL),
            principal_id=args.kubelet_object_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=f"{ACR_PULL.name}: the cluster's nodes pull the queue worker's image",
            opts=self.child_opts(was="kubelet-acr-pull"),
        )
        deployer = pulumi.Output.from_input(args.deployer_object_id)
        self.acr_push = authorization.RoleAssignment(
            self.child_name("deployer-acr-push"),
            role_assignment_name=pulumi.Output.all(scope, deployer).apply(
                lambda v: assignment_name(v[0], ACR_PUSH, f"deployer-{v[1]}")
            ),
            scope=scope,
            role_definition_id=role_definition_id(args.subscription_id, ACR_PUSH),
            principal_id=deployer,
            principal_type=authorization.PrincipalType(args.deployer_principal_type),
            description=f"{ACR_PUSH.name}: the deployer's workflow pushes the queue worker's image",
            opts=self.child_opts(was="deployer-acr-push"),
        )
        self.login_server = pulumi.Output.concat(args.registry_name, ".azurecr.io")
        self.registry_id = self.registry.id
        self.register_outputs({"loginServer": self.login_server})
