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

A model that scales from zero through the KEDA HTTP add-on is routed to the add-on's interceptor
(which holds the request until a replica is ready) with the Host rewritten to the model's Service
name, the key the interceptor routes by; the interceptor's namespace grants the routes that reference
(ReferenceGrant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GATEWAY_API = "gateway.networking.k8s.io/v1"
REFERENCE_GRANT_API = "gateway.networking.k8s.io/v1beta1"
GATEWAY_CLASS = "istio"  # the AKS Istio add-on's GatewayClass (istio-gateway-api.md)
MODEL_HEADER = "x-model"
MODEL_PATH_PREFIX = "/models"
# Azure cloud-provider annotations of the gateway's Service: an internal load balancer in the named
# subnet (AKS docs istio-gateway-api.md lines 407-415, internal-lb.md).
INTERNAL_LB = "service.beta.kubernetes.io/azure-load-balancer-internal"
INTERNAL_LB_SUBNET = "service.beta.kubernetes.io/azure-load-balancer-internal-subnet"


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
    labels: tuple[tuple[str, str], ...] = ()


def gateway(spec: GatewaySpec) -> dict[str, Any]:
    annotations = {INTERNAL_LB: "true"} if spec.internal else {}
    if spec.internal and spec.subnet:
        annotations[INTERNAL_LB_SUBNET] = spec.subnet
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
                    "port": 443,
                    "hostname": spec.hostname,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "name": spec.tls_secret}],
                    },
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            ],
        },
    }
    if annotations:
        doc["spec"]["infrastructure"] = {"annotations": annotations}
    return doc


def _host_rewrite(route: ModelRoute, namespace: str) -> list[dict[str, Any]]:
    if route.interceptor is None:
        return []
    return [
        {"type": "URLRewrite", "urlRewrite": {"hostname": f"{route.service}.{namespace}.svc.cluster.local"}}
    ]


def http_route(spec: GatewaySpec, route: ModelRoute) -> dict[str, Any]:
    """The model's route: the header match on ``/v1``, and the path prefix rewritten to ``/v1``."""
    backend = [route.backend()]
    host = _host_rewrite(route, spec.namespace)
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
    prefix = f"{MODEL_PATH_PREFIX}/{route.name}"
    rewrite: dict[str, Any] = {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}
    if route.interceptor is not None:
        rewrite["hostname"] = f"{route.service}.{spec.namespace}.svc.cluster.local"
    by_path = {
        "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
        "filters": [{"type": "URLRewrite", "urlRewrite": rewrite}],
        "backendRefs": backend,
    }
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": {"name": route.name, "namespace": spec.namespace, "labels": dict(spec.labels)},
        "spec": {
            "parentRefs": [{"name": spec.name, "sectionName": "https"}],
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
                    {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": spec.namespace}
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
