"""KEDA (the AKS add-on) authenticated to Azure by workload identity, its TriggerAuthentications,
and the optional KEDA HTTP add-on for scale-from-zero of synchronous endpoints."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import Namespace
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from components.inference_namespace import labels
from components.roles import MONITORING_DATA_READER, SERVICE_BUS_DATA_OWNER
from components.workload_identity import IdentityHome, RoleGrant, WorkloadIdentity, WorkloadIdentityArgs
from config import versions
from config.schema import KedaHttpAddonConfig

# The AKS add-on runs KEDA in kube-system under this ServiceAccount (not keda/keda-operator as with
# the upstream chart): the federated credential's subject must name it.
KEDA_NAMESPACE = "kube-system"
KEDA_SERVICE_ACCOUNT = "keda-operator"
PROMETHEUS_TRIGGER_AUTH = "keda-prometheus"
SERVICE_BUS_TRIGGER_AUTH = "keda-servicebus"
HTTP_ADDON_NAMESPACE = "keda"
HTTP_ADDON_RELEASE = "keda-add-ons-http"
KEDA_CHARTS = versions.chart("keda-add-ons-http").repository


# Where the HTTP add-on's pods run: the system pool. Its three components are small (chart 0.15.0
# requests 250m CPU / 20Mi each), the interceptor is on the request path of every model it fronts
# and must keep running while every GPU pool is at zero (it is what wakes them), which is what the
# system pool's CriticalAddonsOnly taint is for; a CPU user pool of its own would add a VM that never
# scales to zero, its quota and its upgrades, for under one vCPU of pods. Chart 0.15.0 defaults
# `tolerations: []` and `nodeSelector: {}` (values.yaml lines 72-74, 110-112, 204-206), and every
# node here is tainted, so both are set for operator, scaler and interceptor (templates/*/deployment.yaml
# read `.Values.<component>.tolerations|nodeSelector|affinity`).
SYSTEM_POOL_PLACEMENT = {
    "nodeSelector": {"kubernetes.azure.com/mode": "system"},
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
}
HTTP_ADDON_REPLICAS = 3  # the chart's default for the interceptor (replicas.min) and the scaler
INTERCEPTORS_PER_SYSTEM_NODE = 3  # 3 x 250m of a 4-vCPU system node at the interceptor's maximum


def _spread(component: str) -> dict[str, object]:
    """Preferred (not required) anti-affinity: one pod per system node while there are enough nodes,
    and still schedulable on a one-node system pool (dev) when the interceptor scales out."""
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {
                            "matchLabels": {
                                "app.kubernetes.io/component": component,
                                "app.kubernetes.io/name": "http-add-on",
                            }
                        },
                    },
                }
            ]
        }
    }


def http_addon_values(
    settings: KedaHttpAddonConfig, system_nodes: int, readiness_timeout_seconds: int | None
) -> dict[str, object]:
    """Helm values of the KEDA HTTP add-on chart 0.15.0 (paths checked against its templates).

    Replicas: the chart's 3 for the interceptor and the scaler, but never more than the system pool
    has nodes (dev has one); the interceptor's PodDisruptionBudget keeps the chart's
    ``maxUnavailable: 1`` (templates/interceptor/poddisruptionbudget.yaml), so a one-node drain is
    never blocked. ``readinessTimeout`` (KEDA_HTTP_READINESS_TIMEOUT, templates/interceptor/
    deployment.yaml lines 63-67) replaces the deprecated ``replicas.waitTimeout``; each
    HTTPScaledObject's own ``conditionWait`` overrides it per route
    (interceptor/middleware/endpoint_resolver.go lines 47-51 @v0.15.0), so it is only the fallback.
    """
    replicas = max(1, min(HTTP_ADDON_REPLICAS, system_nodes))
    interceptor: dict[str, object] = {
        **SYSTEM_POOL_PLACEMENT,
        "affinity": _spread("interceptor"),
        "replicas": {"min": replicas, "max": max(replicas, INTERCEPTORS_PER_SYSTEM_NODE * system_nodes)},
        "pdb": {"enabled": True, "maxUnavailable": 1},
        # The chart's code default is 300 s; set explicitly (a non-streamed completion can take minutes).
        "responseHeaderTimeout": f"{settings.response_header_timeout_seconds}s",
    }
    if readiness_timeout_seconds is not None:
        interceptor["readinessTimeout"] = f"{readiness_timeout_seconds}s"
    return {
        "operator": {**SYSTEM_POOL_PLACEMENT},  # one replica (chart default)
        "scaler": {**SYSTEM_POOL_PLACEMENT, "replicas": replicas, "affinity": _spread("scaler")},
        "interceptor": interceptor,
    }


@dataclass(frozen=True)
class HttpAddonRefs:
    """Where the HTTP add-on listens: route traffic to the interceptor, point scalers at the scaler."""

    namespace: str
    interceptor_service: str
    interceptor_port: int
    external_scaler_address: str


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


class KedaAutoscaling(pulumi.ComponentResource):
    """KEDA's identity (Prometheus reader; queue reader when the queue is on) and trigger auths."""

    prometheus_trigger_auth: str
    service_bus_trigger_auth: str | None
    http_addon: HttpAddonRefs | None

    def __init__(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:KedaAutoscaling", name, None, opts)
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
            "keda-identity",
            WorkloadIdentityArgs(
                identity_name=args.identity_name,
                home=args.home,
                namespace=KEDA_NAMESPACE,
                service_account=KEDA_SERVICE_ACCOUNT,
                grants=grants,
                service_account_mode="annotate",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s = pulumi.ResourceOptions(
            parent=self, provider=args.home.kube_provider, depends_on=[args.inference_namespace_resource]
        )
        self.prometheus_trigger_auth = self._trigger_auth(PROMETHEUS_TRIGGER_AUTH, args, k8s)
        self.service_bus_trigger_auth = (
            self._trigger_auth(SERVICE_BUS_TRIGGER_AUTH, args, k8s) if args.queue_id is not None else None
        )
        self.http_addon = self._http_addon(args) if args.http_addon.enabled else None
        self.register_outputs({"clientId": self.identity.client_id})

    def _trigger_auth(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions) -> str:
        CustomResource(
            name,
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata=ObjectMetaArgs(
                name=name, namespace=args.inference_namespace, labels=labels("autoscaling", name)
            ),
            # identityId pins KEDA's own identity (the one federated to kube-system/keda-operator).
            spec={"podIdentity": {"provider": "azure-workload", "identityId": self.identity.client_id}},
            opts=opts,
        )
        return name

    def _http_addon(self, args: KedaArgs) -> HttpAddonRefs:
        settings = args.http_addon
        k8s = pulumi.ResourceOptions(parent=self, provider=args.home.kube_provider)
        namespace = Namespace(
            "http-addon-namespace",
            metadata=ObjectMetaArgs(
                name=HTTP_ADDON_NAMESPACE, labels=labels("autoscaling", "keda-http-add-on")
            ),
            opts=k8s,
        )
        Release(
            "http-addon",
            name=HTTP_ADDON_RELEASE,
            chart="keda-add-ons-http",
            version=settings.chart_version,
            repository_opts=RepositoryOptsArgs(repo=KEDA_CHARTS),
            namespace=HTTP_ADDON_NAMESPACE,
            values=http_addon_values(settings, args.system_nodes, args.readiness_timeout_seconds),
            atomic=True,
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[namespace])),
        )
        return HttpAddonRefs(
            namespace=HTTP_ADDON_NAMESPACE,
            interceptor_service=f"{HTTP_ADDON_RELEASE}-interceptor-proxy",
            interceptor_port=8080,
            external_scaler_address=f"{HTTP_ADDON_RELEASE}-external-scaler.{HTTP_ADDON_NAMESPACE}:9090",
        )
