"""KEDA (the AKS add-on) authenticated to Azure by workload identity, its TriggerAuthentications,
and the optional KEDA HTTP add-on for scale-from-zero of synchronous endpoints."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import DeploymentPatch, DeploymentSpecPatchArgs
from pulumi_kubernetes.core.v1 import Namespace, PodTemplateSpecPatchArgs
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs, ObjectMetaPatchArgs

from components.child_names import Component
from components.roles import MONITORING_DATA_READER, SERVICE_BUS_DATA_OWNER
from components.workload_identity import IdentityHome, RoleGrant, WorkloadIdentity, WorkloadIdentityArgs
from config import versions
from config.schema import KedaHttpAddonConfig
from facts.namespaces import HTTP_ADDON_NAMESPACE
from facts.tags import k8s_labels
from renderers.helm_values import HTTP_ADDON_RELEASE, http_addon_values

# The AKS add-on runs KEDA in kube-system under this ServiceAccount (not keda/keda-operator as with
# the upstream chart): the federated credential's subject must name it.
KEDA_NAMESPACE = "kube-system"
KEDA_SERVICE_ACCOUNT = "keda-operator"
KEDA_OPERATOR_DEPLOYMENT = "keda-operator"  # kube-system/keda-operator (keda-workload-identity.md)
# On the operator's pod template: the workload identity client id its pods were started with.
RESTART_ANNOTATION = "aks-llm/workload-identity-client-id"
PROMETHEUS_TRIGGER_AUTH = "keda-prometheus"
SERVICE_BUS_TRIGGER_AUTH = "keda-servicebus"
KEDA_CHARTS = versions.chart("keda-add-ons-http").repository


@dataclass(frozen=True)
class HttpAddonRefs:
    """Where the HTTP add-on listens: route traffic to the interceptor, point scalers at the scaler."""

    namespace: str
    interceptor_service: str
    interceptor_port: int
    external_scaler_address: str
    # The (atomic) release that installs the HTTPScaledObject CRD and the add-on's operator: every
    # HTTPScaledObject depends on it, so none is sent before the CRD exists and the operator is ready.
    release: pulumi.Resource | None = None


@dataclass(frozen=True)
class KedaArgs:
    identity_name: str
    home: IdentityHome
    inference_namespace: str
    inference_namespace_resource: pulumi.Resource
    monitor_workspace_id: pulumi.Input[str]
    http_addon: KedaHttpAddonConfig
    queue_id: pulumi.Input[str] | None = None  # the async queue, when it is on
    system_nodes: int = 1  # nodes of the system pool, where the HTTP add-on runs
    # The interceptor-wide readiness wait: the longest predicted cold start of the models it fronts.
    readiness_timeout_seconds: int | None = None


class KedaAutoscaling(Component):
    """KEDA's identity (Prometheus reader; queue reader when the queue is on) and trigger auths."""

    prometheus_trigger_auth: str
    service_bus_trigger_auth: str | None
    http_addon: HttpAddonRefs | None

    def __init__(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:KedaAutoscaling", name, opts)
        grants = [
            RoleGrant(MONITORING_DATA_READER, args.monitor_workspace_id, "KEDA Prometheus scaler queries"),
        ]
        if args.queue_id is not None:
            grants.append(
                RoleGrant(
                    SERVICE_BUS_DATA_OWNER,
                    args.queue_id,
                    "KEDA Service Bus scaler reads the queue's message count (needs Manage)",
                )
            )
        self.identity = WorkloadIdentity(
            self.child_name("identity"),
            WorkloadIdentityArgs(
                identity_name=args.identity_name,
                home=args.home,
                namespace=KEDA_NAMESPACE,
                service_account=KEDA_SERVICE_ACCOUNT,
                grants=grants,
                service_account_mode="annotate",
            ),
            opts=self.child_opts(was="keda-identity"),
        )
        self.operator_restart = self._restart_operator()
        self.prometheus_trigger_auth = self._trigger_auth("prometheus", PROMETHEUS_TRIGGER_AUTH, args)
        self.service_bus_trigger_auth = (
            self._trigger_auth("servicebus", SERVICE_BUS_TRIGGER_AUTH, args)
            if args.queue_id is not None
            else None
        )
        self.http_addon = self._http_addon(args) if args.http_addon.enabled else None
        self.register_outputs({"clientId": self.identity.client_id})

    def _restart_operator(self) -> DeploymentPatch:
        """Restart the add-on's operator once its ServiceAccount carries the client id: the workload
        identity webhook injects AZURE_CLIENT_ID and the token volume only into pods created after the
        annotation (keda-workload-identity.md, "Enable Workload Identity on KEDA operator": annotate, then
        `kubectl rollout restart deploy keda-operator -n kube-system`). A pod-template annotation holding
        the client id is that restart, done declaratively: it rolls the operator when the id is first set
        and whenever it changes, and never otherwise. A server-side-apply patch owns only this one field."""
        template = PodTemplateSpecPatchArgs(
            metadata=ObjectMetaPatchArgs(annotations={RESTART_ANNOTATION: self.identity.client_id})
        )
        return DeploymentPatch(
            self.child_name("operator-restart"),
            metadata=ObjectMetaPatchArgs(name=KEDA_OPERATOR_DEPLOYMENT, namespace=KEDA_NAMESPACE),
            spec=DeploymentSpecPatchArgs(template=template),
            opts=self.child_opts(was="keda-operator-restart", depends_on=[self.identity.service_account]),
        )

    def _trigger_auth(self, suffix: str, name: str, args: KedaArgs) -> str:
        CustomResource(
            self.child_name(suffix),
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata=ObjectMetaArgs(
                name=name, namespace=args.inference_namespace, labels=k8s_labels(name, "autoscaling")
            ),
            # identityId pins KEDA's own identity (the one federated to kube-system/keda-operator).
            spec={"podIdentity": {"provider": "azure-workload", "identityId": self.identity.client_id}},
            opts=self.child_opts(was=name, depends_on=[args.inference_namespace_resource]),
        )
        return name

    def _http_addon(self, args: KedaArgs) -> HttpAddonRefs:
        settings = args.http_addon
        namespace = Namespace(
            self.child_name("http-addon-namespace"),
            metadata=ObjectMetaArgs(
                name=HTTP_ADDON_NAMESPACE, labels=k8s_labels("keda-http-add-on", "autoscaling")
            ),
            opts=self.child_opts(was="http-addon-namespace"),
        )
        release = Release(
            self.child_name("http-addon"),
            name=HTTP_ADDON_RELEASE,
            chart="keda-add-ons-http",
            version=settings.chart_version,
            repository_opts=RepositoryOptsArgs(repo=KEDA_CHARTS),
            namespace=HTTP_ADDON_NAMESPACE,
            values=http_addon_values(settings, args.system_nodes, args.readiness_timeout_seconds),
            atomic=True,
            opts=self.child_opts(was="http-addon", depends_on=[namespace]),
        )
        return HttpAddonRefs(
            namespace=HTTP_ADDON_NAMESPACE,
            interceptor_service=f"{HTTP_ADDON_RELEASE}-interceptor-proxy",
            interceptor_port=8080,
            external_scaler_address=f"{HTTP_ADDON_RELEASE}-external-scaler.{HTTP_ADDON_NAMESPACE}:9090",
            release=release,
        )
