"""The Kubernetes Gateway API objects in front of the models (issue 23 item 3; pure, no Pulumi).

One internal Gateway (``gatewayClassName: istio``: the AKS Istio add-on's Gateway API
implementation, AKS docs ``articles/aks/istio-gateway-api.md``) terminating TLS, and one HTTPRoute
per model. An OpenAI request names its model in the JSON body, which an HTTPRoute cannot match (it
matches paths, headers, query parameters and methods only: Gateway API ``HTTPRouteMatch``), so each
model is selected one of two ways, both on one route:

- a header the client sets on every call, ``x-model: <name>``, with the one base URL
  ``https://<hostname>/v1`` (the OpenAI SDKs take ``default_headers``); the primary way;
- a per-model path prefix, ``https://<hostname>/models/<name>/v1``, rewritten to ``/v1`` before
  the backend, for clients that cannot set a header.

Only paths under ``/v1`` reach a model: vLLM checks API keys on ``/v1`` (and ``/v2``, ``/inference``,
``/cohere``) only, while ``/invocations`` serves the same inference unauthenticated (vLLM v0.31.0
vllm/entrypoints/launchers/cli_args.py:321-327), so the gateway never forwards anything else.

A model's backend may become an InferencePool instead of its Service: ``renderers.inference_pool.
route_through_pool`` rewrites a rendered route (the Gateway API Inference Extension's endpoint picker).

A model that scales from zero through the KEDA HTTP add-on is routed to the add-on's interceptor
(which holds the request until a replica is ready) with the Host rewritten to the model's Service
name, the key the interceptor routes by; the interceptor's namespace grants the routes that reference
(ReferenceGrant).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from config.schema import StackConfig
from facts.gateway_api import BUNDLE_VERSION
from facts.istio import REVISIONS
from facts.platform import SYSTEM_POOL_TAINT, system_pool_selector, system_pool_toleration
from sizing.autoscaling import wake_up_sources
from sizing.deployments import ModelPlan
from sizing.workloads import SERVICE_PORT, replica_floor

GATEWAY_API = "gateway.networking.k8s.io/v1"
REFERENCE_GRANT_API = "gateway.networking.k8s.io/v1beta1"
GATEWAY_NAME = "models"  # the one Gateway of a stack
GATEWAY_CLASS = "istio"  # the AKS Istio add-on's GatewayClass (istio-gateway-api.md)
MODEL_HEADER = "x-model"
MODEL_PATH_PREFIX = "/models"
# Azure cloud-provider annotations of the gateway's Service: an internal load balancer in the named
# subnet (AKS docs istio-gateway-api.md lines 407-415, internal-lb.md).
INTERNAL_LB = "service.beta.kubernetes.io/azure-load-balancer-internal"
INTERNAL_LB_SUBNET = "service.beta.kubernetes.io/azure-load-balancer-internal-subnet"
# A fixed frontend address, so the hostname's DNS record can be written before the first request (AKS
# internal-lb.md lines 72-87: the annotation, not the deprecated loadBalancerIP).
LB_IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
LISTENER_PORT = 443
# Istio names the Service port of a listener after it with appProtocol = the listener's protocol in lower
# case ("https"), beside "status-port" 15021 (istio/istio@1.30.3
# pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go:911-938). On AKS >= 1.24 an appProtocol
# http/https port of an externalTrafficPolicy Cluster Service gets an HTTP(S) probe on "/" of that port
# (AKS configure-load-balancer-standard.md lines 427, 437): Envoy answers "/" without the listener's
# hostname with no TLS chain or a 404, so every node would read as down. The probe goes to the gateway
# pod's readiness endpoint instead (kube-gateway.yaml lines 112, 228-239: /healthz/ready on 15021), as
# the add-on does for port 80 only (istio-gateway-api.md lines 492-501; nothing there covers 443).
STATUS_PORT = 15021
HEALTH_PROBE = {
    f"service.beta.kubernetes.io/port_{LISTENER_PORT}_health-probe_protocol": "http",
    f"service.beta.kubernetes.io/port_{LISTENER_PORT}_health-probe_port": str(STATUS_PORT),
    f"service.beta.kubernetes.io/port_{LISTENER_PORT}_health-probe_request-path": "/healthz/ready",
}

# Istio's gateway pods carry no toleration (istio/istio@1.30.3 manifests/charts/istio-control/
# istio-discovery/files/kube-gateway.yaml has none), and every pool here is tainted: the system pool
# CriticalAddonsOnly, the GPU pools sku=gpu. Without more they stay Pending and the Gateway is never
# Programmed. The Gateway names a ConfigMap (spec.infrastructure.parametersRef, a local ConfigMap: Istio
# deploymentcontroller.go:761-776; a missing one stops the deployment, lines 618-628, so it is created
# first) whose "deployment" entry Istio merges into the Deployment it renders (strategic merge patch,
# lines 667-759): they run on the system pool like the program's other CPU pods.
# AKS's add-on webhook admits exactly these fields (istio-gateway-api.md lines 471-473: nodeSelector,
# tolerations).


def gateway_options_name(gateway: str) -> str:
    return f"{gateway}-gateway-options"


def gateway_options(spec: GatewaySpec) -> dict[str, str]:
    """The data of the Gateway's parameters ConfigMap: the overlay of the Deployment Istio renders."""
    toleration = {**system_pool_toleration(), "effect": SYSTEM_POOL_TAINT.effect}
    pod = {"nodeSelector": system_pool_selector(), "tolerations": [toleration]}
    return {
        "deployment": json.dumps({"spec": {"template": {"spec": pod}}}, sort_keys=True),
        # Istio renders the HPA and PDB only from an overlay (deploymentcontroller.go:675-678, 729-731):
        # without one the gateway is a single pod. AKS's class defaults (managed installation only, not
        # here) are 2-5 replicas and minAvailable 1 (istio-gateway-api.md lines 438-446); the same here.
        "horizontalPodAutoscaler": json.dumps({"spec": {"minReplicas": 2, "maxReplicas": 5}}, sort_keys=True),
        "podDisruptionBudget": json.dumps({"spec": {"minAvailable": 1}}, sort_keys=True),
    }


@dataclass(frozen=True)
class ModelRoute:
    """One model behind the gateway: its name, its Service, and the interceptor when it wakes from zero."""

    name: str
    service: str
    port: int
    interceptor: tuple[str, str, int] | None = None  # (namespace, Service, port) of the KEDA HTTP add-on

    def backend(self) -> dict[str, Any]:
        if self.interceptor is None:
            return {"name": self.service, "port": self.port}
        namespace, service, port = self.interceptor
        return {"name": service, "namespace": namespace, "port": port}


@dataclass(frozen=True)
class GatewaySpec:
    name: str
    namespace: str
    hostname: str
    tls_secret: str  # the Kubernetes TLS Secret synced from the Key Vault certificate
    internal: bool = True
    subnet: str | None = None  # the gateway subnet's name; None: the node subnet
    address: str | None = None  # the internal frontend's fixed IPv4 address; None: Azure picks one
    labels: tuple[tuple[str, str], ...] = ()
    # Where the routes live, beside the models' Services (no ReferenceGrant for them); None: the
    # gateway's own namespace. The Gateway admits routes from that namespace only.
    routes_namespace: str | None = None

    @property
    def route_ns(self) -> str:
        return self.routes_namespace or self.namespace

    def allowed_routes(self) -> dict[str, Any]:
        if self.route_ns == self.namespace:
            return {"namespaces": {"from": "Same"}}
        selector = {"matchLabels": {"kubernetes.io/metadata.name": self.route_ns}}
        return {"namespaces": {"from": "Selector", "selector": selector}}

    def parent_ref(self) -> dict[str, Any]:
        ref: dict[str, Any] = {"name": self.name, "sectionName": "https"}
        if self.route_ns != self.namespace:
            ref["namespace"] = self.namespace
        return ref


def gateway(spec: GatewaySpec) -> dict[str, Any]:
    annotations = {INTERNAL_LB: "true"} if spec.internal else {}
    annotations.update(HEALTH_PROBE)
    if spec.internal and spec.subnet:
        annotations[INTERNAL_LB_SUBNET] = spec.subnet
    if spec.internal and spec.address:
        annotations[LB_IPV4] = spec.address
    doc: dict[str, Any] = {
        "apiVersion": GATEWAY_API,
        "kind": "Gateway",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": dict(spec.labels)},
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "listeners": [
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": LISTENER_PORT,
                    "hostname": spec.hostname,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "name": spec.tls_secret}],
                    },
                    "allowedRoutes": spec.allowed_routes(),
                }
            ],
        },
    }
    doc["spec"]["infrastructure"] = {
        "annotations": annotations,
        "parametersRef": {"group": "", "kind": "ConfigMap", "name": gateway_options_name(spec.name)},
    }
    return doc


def _host_rewrite(route: ModelRoute, namespace: str) -> list[dict[str, Any]]:
    if route.interceptor is None:
        return []
    return [
        {"type": "URLRewrite", "urlRewrite": {"hostname": f"{route.service}.{namespace}.svc.cluster.local"}}
    ]


def http_route(spec: GatewaySpec, route: ModelRoute) -> dict[str, Any]:
    """The model's route: the header match on ``/v1``, and ``/models/<name>/v1`` rewritten to ``/v1``."""
    backend = [route.backend()]
    host = _host_rewrite(route, spec.route_ns)
    by_header = {
        "matches": [
            {
                "path": {"type": "PathPrefix", "value": "/v1"},
                "headers": [{"type": "Exact", "name": MODEL_HEADER, "value": route.name}],
            }
        ],
        "backendRefs": backend,
    }
    if host:
        by_header["filters"] = host
    prefix = f"{MODEL_PATH_PREFIX}/{route.name}/v1"
    rewrite: dict[str, Any] = {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}}
    if route.interceptor is not None:
        rewrite["hostname"] = f"{route.service}.{spec.route_ns}.svc.cluster.local"
    by_path = {
        "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
        "filters": [{"type": "URLRewrite", "urlRewrite": rewrite}],
        "backendRefs": backend,
    }
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": {"name": route.name, "namespace": spec.route_ns, "labels": dict(spec.labels)},
        "spec": {
            "parentRefs": [spec.parent_ref()],
            "hostnames": [spec.hostname],
            "rules": [by_header, by_path],
        },
    }


def reference_grants(spec: GatewaySpec, routes: Sequence[ModelRoute]) -> list[dict[str, Any]]:
    """One ReferenceGrant per interceptor namespace: routes of the gateway's namespace may use its
    Service (a cross-namespace backendRef needs one: Gateway API ReferenceGrant)."""
    grants: dict[str, set[str]] = {}
    for route in routes:
        if route.interceptor is not None:
            namespace, service, _ = route.interceptor
            grants.setdefault(namespace, set()).add(service)
    return [
        {
            "apiVersion": REFERENCE_GRANT_API,
            "kind": "ReferenceGrant",
            "metadata": {"name": f"{spec.name}-routes", "namespace": namespace, "labels": dict(spec.labels)},
            "spec": {
                "from": [
                    {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": spec.route_ns}
                ],
                "to": [{"group": "", "kind": "Service", "name": name} for name in sorted(services)],
            },
        }
        for namespace, services in sorted(grants.items())
    ]


def gateway_objects(spec: GatewaySpec, routes: Sequence[ModelRoute]) -> list[dict[str, Any]]:
    """The Gateway, every model's HTTPRoute and the ReferenceGrants they need."""
    return [gateway(spec), *(http_route(spec, r) for r in routes), *reference_grants(spec, routes)]


def client_urls(spec: GatewaySpec, route: ModelRoute) -> dict[str, str]:
    """How an application calls one model through the gateway."""
    return {
        "baseUrl": f"https://{spec.hostname}/v1",
        "header": f"{MODEL_HEADER}: {route.name}",
        "pathBaseUrl": f"https://{spec.hostname}{MODEL_PATH_PREFIX}/{route.name}/v1",
    }


def model_routes(
    config: StackConfig, plans: Sequence[ModelPlan], interceptor: tuple[str, str, int] | None
) -> list[ModelRoute]:
    """One route per model behind the gateway (all but ``gateway.excludeModels``): a model that scales
    to zero and is woken by HTTP goes to the KEDA HTTP add-on's ``interceptor`` (namespace, Service,
    port), every other model to its Service."""
    excluded = set(config.gateway.exclude_models) if config.gateway is not None else set()
    routes = []
    for plan in plans:
        name = plan.config.name
        if name in excluded:
            continue
        cold = interceptor is not None and replica_floor(plan) == 0
        held = cold and "http" in wake_up_sources(plan, http_addon=True, queue=False)
        routes.append(ModelRoute(name, name, SERVICE_PORT, interceptor=interceptor if held else None))
    return routes


def gateway_notes(config: StackConfig, on: date) -> list[str]:
    """What the plan says of the gateway: the CRDs' ownership (outside AKS support until AKS manages
    them) and an Istio revision near its end of life (within 90 days of the plan's date)."""
    gw = config.gateway
    if gw is None:
        return []
    notes = [
        f"gateway: the program installs the Gateway API CRDs {BUNDLE_VERSION} itself (pulumi-azure-native "
        "3.29.0 has no field for AKS's Managed Gateway API); AKS supports the add-on's Gateway API only with "
        "its managed installation, so move to it once the SDK has the field (docs/reach-the-models.md)"
    ]
    rev = REVISIONS.get(gw.istio_revision)
    if rev is not None and on <= rev.ends() <= on + timedelta(days=90):
        notes.append(
            f"gateway: Istio add-on {rev.name} reaches its end of life in {rev.ends():%B %Y} (expected, AKS "
            "istio-support-policy.md): plan its upgrade to the next revision (gateway.istioRevision)"
        )
    return notes


def gateway_address(subnet_prefix: str | None) -> str | None:
    """The gateway's fixed internal address: the first one Azure lets a subnet use ("Azure reserves the
    first four and last IP addresses", AKS concepts-network-azure-cni-overlay.md line 65); the gateway
    subnet holds nothing else. None without a gateway subnet."""
    if subnet_prefix is None:
        return None
    return str(ipaddress.ip_network(subnet_prefix).network_address + 4)
