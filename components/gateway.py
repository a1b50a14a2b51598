"""The gateway in front of the models (issue 23): the Gateway API CRDs, the TLS certificate synced
from Key Vault, the Gateway and one HTTPRoute per model (``renderers/gateway.py``).

The AKS Istio add-on (``serviceMeshProfile``, set on the cluster) implements ``gatewayClassName: istio``
and deploys the gateway's pods and LoadBalancer Service itself (Istio's automated deployment, AKS
``istio-gateway-api.md`` line 15). The Gateway API CRDs are installed here, from the vendored v1.5.1
bundle (``facts/gateway_api.py``): pulumi-azure-native 3.29.0 has no field for AKS's Managed Gateway
API, and AKS adopts self-installed standard-channel CRDs of the bundle it pairs with the cluster's
Kubernetes version (``managed-gateway-api.md`` lines 24-27, 39-44). They are kept when the stack is
destroyed (``retain_on_delete``): deleting a CRD deletes every object of its kind cluster-wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apiextensions.v1 import CustomResourceDefinition, CustomResourceDefinitionSpecArgs
from pulumi_kubernetes.core.v1 import ConfigMap, Namespace
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from components.child_names import Component
from components.inference_namespace import (
    SecretSync,
    secret_provider_class,
    secret_provider_parameters,
    secret_sync_pod,
)
from components.roles import KEY_VAULT_SECRETS_USER
from components.workload_identity import IdentityHome, RoleGrant, WorkloadIdentity, WorkloadIdentityArgs
from config.schema import GatewayConfig
from facts.gateway_api import crd_documents
from facts.tags import k8s_labels
from renderers.gateway import GatewaySpec, ModelRoute, gateway_objects, gateway_options, gateway_options_name

TLS_SERVICE_ACCOUNT = "gateway-tls-sync"
TLS_SECRET_PROVIDER_CLASS = "gateway-tls"
# The certificate is read once, as a secret (Key Vault Secrets User suffices: "objectType: cert" would
# call the certificates API, which that role does not grant): for a PEM certificate the secret holds the
# private key and the chain. The driver splits it for a kubernetes.io/tls Secret: tls.crt gets the
# CERTIFICATE blocks, tls.key the private key (kubernetes-sigs/secrets-store-csi-driver
# pkg/util/secretutil/secret.go GetSecretData -> GetCertPart, read at 021e6f58). The certificate's
# content type must therefore be PEM (application/x-pem-file), not PKCS#12.
TLS_OBJECT = "tls-pem"


def tls_secret_name(gateway: str) -> str:
    """The kubernetes.io/tls Secret the Gateway's listener names (``certificateRefs``)."""
    return f"{gateway}-tls"


@dataclass(frozen=True)
class ModelGatewayArgs:
    settings: GatewayConfig
    name: str  # the Gateway's name
    routes_namespace: str  # the models' namespace: routes live beside their Services
    routes: Sequence[ModelRoute]
    identity_name: str
    home: IdentityHome
    vault_name: pulumi.Input[str]
    vault_id: pulumi.Input[str]
    subnet: str | None = None  # the gateway subnet's name (internal load balancer); None: node subnet
    address: str | None = (
        None  # its fixed frontend address in that subnet (renderers.gateway.gateway_address)
    )
    after: Sequence[pulumi.Resource] = ()  # e.g. the KEDA HTTP add-on's release (the interceptor)


class ModelGateway(Component):
    """Gateway API CRDs, the gateway's namespace, its TLS sync, the Gateway and the routes."""

    def __init__(self, name: str, args: ModelGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:ModelGateway", name, opts)
        settings = args.settings
        self.crds = [self._crd(doc) for doc in crd_documents()]
        self.namespace = Namespace(
            self.child_name("namespace"),
            metadata=ObjectMetaArgs(
                name=settings.namespace,
                labels={
                    **k8s_labels(settings.namespace, "gateway"),
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.identity = WorkloadIdentity(
            self.child_name("identity"),
            WorkloadIdentityArgs(
                identity_name=args.identity_name,
                home=args.home,
                namespace=settings.namespace,
                service_account=TLS_SERVICE_ACCOUNT,
                grants=[
                    RoleGrant(
                        KEY_VAULT_SECRETS_USER,
                        args.vault_id,
                        "read the gateway's TLS certificate (certificates are read as secrets)",
                    )
                ],
                labels=k8s_labels(TLS_SERVICE_ACCOUNT, "gateway"),
                depends_on=[self.namespace],
            ),
            # new: its children's aliases name "gateway-identity-*", never deployed (components.child_names)
            opts=self.child_opts(was="gateway-identity"),
        )
        self.tls_secret = tls_secret_name(args.name)
        self._sync_tls(args)
        spec = GatewaySpec(
            name=args.name,
            namespace=settings.namespace,
            hostname=settings.hostname,
            tls_secret=self.tls_secret,
            internal=settings.internal,
            subnet=args.subnet,
            address=args.address,
            labels=tuple(k8s_labels(args.name, "gateway").items()),
            routes_namespace=args.routes_namespace,
        )
        self.spec = spec
        # Where Istio runs the gateway's pods (renderers.gateway.gateway_options): before the Gateway.
        self.options = ConfigMap(
            self.child_name("options"),
            metadata=ObjectMetaArgs(
                name=gateway_options_name(args.name),
                namespace=settings.namespace,
                labels=k8s_labels(args.name, "gateway"),
            ),
            data=gateway_options(spec),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.objects = [self._object(doc, args) for doc in gateway_objects(spec, args.routes)]
        self.register_outputs({"hostname": settings.hostname})

    def _crd(self, doc: dict[str, Any]) -> CustomResourceDefinition:
        meta = doc["metadata"]
        return CustomResourceDefinition(
            self.child_name(f"crd-{meta['name'].split('.')[0]}"),
            metadata=ObjectMetaArgs(name=meta["name"], annotations=meta.get("annotations")),
            spec=cast(CustomResourceDefinitionSpecArgs, doc["spec"]),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )

    def _sync_tls(self, args: ModelGatewayArgs) -> None:
        settings = args.settings
        parameters = pulumi.Output.all(self.identity.client_id, args.vault_name, args.home.tenant_id).apply(
            # the certificate as one PEM secret object, mounted under TLS_OBJECT
            lambda v: secret_provider_parameters(
                v[0], v[1], v[2], settings.certificate_name, aliases={settings.certificate_name: TLS_OBJECT}
            )
        )
        synced = {
            "secretName": self.tls_secret,
            "type": "kubernetes.io/tls",
            "data": [
                {"objectName": TLS_OBJECT, "key": "tls.key"},
                {"objectName": TLS_OBJECT, "key": "tls.crt"},
            ],
        }
        opts = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        spc = secret_provider_class(
            self,
            "tls-secret-provider-class",
            TLS_SECRET_PROVIDER_CLASS,
            settings.namespace,
            parameters,
            synced,
            opts,
            component="gateway",
        )
        sync = SecretSync(
            "gateway-tls-sync",
            settings.namespace,
            TLS_SERVICE_ACCOUNT,
            TLS_SECRET_PROVIDER_CLASS,
            TLS_OBJECT,
        )
        # The certificate is the user's: it can be put in the vault only once the first `up` created the
        # vault, so `pulumi up` must not wait (10 minutes, then fail) for a mount that cannot succeed yet;
        # the pod retries the mount until the certificate is there (docs/reach-the-models.md).
        secret_sync_pod(
            self, sync, was=None, depends_on=[self.namespace, self.identity, spc], skip_await=True
        )

    def _object(self, doc: dict[str, Any], args: ModelGatewayArgs) -> CustomResource:
        meta = doc["metadata"]
        kind = doc["kind"]
        return CustomResource(
            self.child_name(f"{kind.lower()}-{meta['namespace']}-{meta['name']}"),
            api_version=doc["apiVersion"],
            kind=kind,
            metadata=ObjectMetaArgs(name=meta["name"], namespace=meta["namespace"], labels=meta["labels"]),
            spec=doc["spec"],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self.crds, self.namespace, self.options, *args.after]
            ),
        )
