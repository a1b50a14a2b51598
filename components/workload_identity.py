"""One workload identity: a user-assigned managed identity, its federated credential for one
Kubernetes ServiceAccount, that ServiceAccount (created, or an existing one annotated) and role
assignments each scoped to a single resource."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.managedidentity as managedidentity
from pulumi_kubernetes.core.v1 import ServiceAccount, ServiceAccountPatch
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs, ObjectMetaPatchArgs

from components.azure_place import AzurePlace
from components.child_names import Component
from components.roles import BuiltInRole, assignment_name, role_definition_id

AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"


def subject(namespace: str, service_account: str) -> str:
    """The token subject Kubernetes issues for a ServiceAccount."""
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class RoleGrant:
    """A role on exactly one resource (never a subscription or resource group): built in, or custom."""

    role: BuiltInRole
    scope: pulumi.Input[str]
    description: str
    # A custom role: its role definition's resource id (``role`` then only names the assignment).
    definition_id: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class IdentityHome:
    """What every workload identity of a stack shares: where the identities live (the stack's
    ``AzurePlace``), the cluster whose OIDC issuer they trust, the subscription and tenant of their roles
    (the Kubernetes provider comes through the components' ``providers`` option)."""

    place: AzurePlace
    oidc_issuer_url: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str]


@dataclass(frozen=True)
class WorkloadIdentityArgs:
    """Who (namespace/ServiceAccount) gets which Azure identity, with which roles."""

    identity_name: str
    home: IdentityHome
    namespace: str
    service_account: str
    grants: Sequence[RoleGrant] = ()
    # "create": this component owns the ServiceAccount. "annotate": the ServiceAccount belongs to
    # someone else (an AKS add-on); only the client-id annotation is applied to it.
    service_account_mode: Literal["create", "annotate"] = "create"
    labels: Mapping[str, str] = field(default_factory=dict)
    # Kubernetes API token for pods of this ServiceAccount: only controllers that call the API need it.
    automount_api_token: bool = False
    depends_on: Sequence[pulumi.Resource] = ()


class WorkloadIdentity(Component):
    """A Kubernetes ServiceAccount that authenticates to Azure as a user-assigned identity."""

    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:WorkloadIdentity", name, opts)
        self.identity = managedidentity.UserAssignedIdentity(
            self.child_name("uami"),
            resource_name_=args.identity_name,
            resource_group_name=args.home.place.resource_group_name,
            location=args.home.place.location,
            tags=dict(args.home.place.tags),
            opts=self.child_opts(was=f"{self.was}-uami"),
        )
        self.client_id = self.identity.client_id
        self.principal_id = self.identity.principal_id
        self.subject = subject(args.namespace, args.service_account)
        self.federated_credential = managedidentity.FederatedIdentityCredential(
            self.child_name("federated"),
            federated_identity_credential_resource_name=f"{args.namespace}-{args.service_account}",
            resource_name_=self.identity.name,
            resource_group_name=args.home.place.resource_group_name,
            issuer=args.home.oidc_issuer_url,
            subject=self.subject,
            audiences=[AUDIENCE],
            opts=self.child_opts(was=f"{self.was}-federated"),
        )
        self.role_assignments = [self._grant(i, grant, args) for i, grant in enumerate(args.grants)]
        self.service_account = self._service_account(args)
        self.register_outputs({"clientId": self.client_id, "principalId": self.principal_id})

    def _grant(
        self, index: int, grant: RoleGrant, args: WorkloadIdentityArgs
    ) -> authorization.RoleAssignment:
        scope = pulumi.Output.from_input(grant.scope)
        suffix = f"role-{index}-{grant.role.guid[:8]}"
        return authorization.RoleAssignment(
            self.child_name(suffix),
            role_assignment_name=scope.apply(lambda s: assignment_name(s, grant.role, args.identity_name)),
            scope=scope,
            role_definition_id=grant.definition_id
            if grant.definition_id is not None
            else role_definition_id(args.home.subscription_id, grant.role),
            principal_id=self.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            description=f"{grant.role.name}: {grant.description}",
            opts=self.child_opts(was=f"{self.was}-{suffix}"),
        )

    def _service_account(self, args: WorkloadIdentityArgs) -> pulumi.CustomResource:
        annotations = {
            CLIENT_ID_ANNOTATION: self.client_id,
            TENANT_ID_ANNOTATION: args.home.tenant_id,
        }
        if args.service_account_mode == "annotate":
            # The ServiceAccount is created and owned by an AKS add-on (e.g. kube-system/keda-operator):
            # we must not create, replace or delete it. A server-side-apply patch owns only the fields
            # it sets (the annotations) under Pulumi's field manager; deleting this resource gives
            # those fields up and leaves the ServiceAccount itself in place.
            return ServiceAccountPatch(
                self.child_name("sa-patch"),
                metadata=ObjectMetaPatchArgs(
                    name=args.service_account, namespace=args.namespace, annotations=annotations
                ),
                opts=self.child_opts(was=f"{self.was}-sa-patch", depends_on=list(args.depends_on)),
            )
        return ServiceAccount(
            self.child_name("sa"),
            metadata=ObjectMetaArgs(
                name=args.service_account,
                namespace=args.namespace,
                labels=dict(args.labels),
                annotations=annotations,
            ),
            # The workload identity webhook projects its own (Azure) token whatever this says.
            automount_service_account_token=args.automount_api_token,
            opts=self.child_opts(was=f"{self.was}-sa", depends_on=list(args.depends_on)),
        )
