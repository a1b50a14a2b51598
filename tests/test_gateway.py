"""The Gateway API objects in front of the models (issue 23 item 3, renderer only): they validate
against the Gateway API v1.6.1 CRDs (../shared/crds) and v1.5.1 (facts/gateway_api_v1_5_1: what
the program installs, the bundle AKS pairs with Kubernetes 1.36), structural schema only (the CRDs'
CEL rules are not evaluated here); each model is selected by header or path prefix, and a model that
wakes from zero goes through the KEDA HTTP add-on's interceptor."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from facts.gateway_api import crd_documents
from renderers.gateway import (
    HEALTH_PROBE,
    INTERNAL_LB,
    INTERNAL_LB_SUBNET,
    GatewaySpec,
    ModelRoute,
    client_urls,
    gateway_objects,
)
from tests.k8s_schemas import manifest_errors, requires_crds, strictify


@functools.cache
def _v1_5_1_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for crd in crd_documents():
        for version in crd["spec"]["versions"]:
            if version["served"]:
                api = f"{crd['spec']['group']}/{version['name']}"
                schemas[(api, crd["spec"]["names"]["kind"])] = strictify(version["schema"]["openAPIV3Schema"])
    return schemas


SPEC = GatewaySpec(
    name="models",
    namespace="inference",
    hostname="llm.internal.example.com",
    tls_secret="models-tls",
    subnet="snet-gateway",
    labels=(("app.kubernetes.io/part-of", "aks-llm"),),
)
WARM = ModelRoute("qwen7b", "qwen7b", 80)
COLD = ModelRoute("phi4", "phi4", 80, interceptor=("keda", "keda-add-ons-http-interceptor-proxy", 8080))


@requires_crds
def test_every_object_validates_against_the_gateway_api_crds() -> None:
    docs = gateway_objects(SPEC, [WARM, COLD])
    assert [d["kind"] for d in docs] == ["Gateway", "HTTPRoute", "HTTPRoute", "ReferenceGrant"]
    for doc in docs:
        assert manifest_errors(doc) == [], doc["kind"]


@pytest.mark.parametrize("index", range(4))
def test_every_object_validates_against_the_v1_5_1_crds_aks_installs_on_1_36(index: int) -> None:
    doc = gateway_objects(SPEC, [WARM, COLD])[index]
    schema = _v1_5_1_schemas()[(doc["apiVersion"], doc["kind"])]
    body = {k: v for k, v in doc.items() if k != "metadata"}
    validator = jsonschema.Draft7Validator({**schema, "properties": {**schema["properties"], "metadata": {}}})
    assert [e.message for e in validator.iter_errors(body)] == []


def test_the_gateway_is_internal_in_its_subnet_and_terminates_tls() -> None:
    gateway = gateway_objects(SPEC, [WARM])[0]["spec"]
    assert gateway["gatewayClassName"] == "istio"
    assert gateway["infrastructure"]["annotations"] == {
        INTERNAL_LB: "true",
        INTERNAL_LB_SUBNET: "snet-gateway",
        **HEALTH_PROBE,
    }
    (listener,) = gateway["listeners"]
    assert listener["protocol"] == "HTTPS" and listener["tls"]["certificateRefs"] == [
        {"kind": "Secret", "name": "models-tls"}
    ]


def _istio_service_ports(gateway: dict[str, Any]) -> list[dict[str, Any]]:
    """The ports Istio gives the Service it deploys for a Gateway: the status port, then one per listener
    port, appProtocol = the listener's protocol in lower case (istio/istio@1.30.3
    pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go:911-938)."""
    ports = [{"name": "status-port", "port": 15021, "appProtocol": "tcp"}]
    for listener in gateway["spec"]["listeners"]:
        if all(p["port"] != listener["port"] for p in ports):
            ports.append(
                {
                    "name": listener["name"],
                    "port": listener["port"],
                    "appProtocol": listener["protocol"].lower(),
                }
            )
    return ports


def _azure_probe(port: dict[str, Any], annotations: dict[str, str]) -> tuple[str, str, str | None]:
    """(protocol, port, path) of the Azure LB probe for one Service port of an externalTrafficPolicy
    Cluster Service on AKS >= 1.24 (configure-load-balancer-standard.md lines 400-403, 427, 435-438):
    appProtocol http/https probes "/" of the port itself unless the port_{port}_health-probe_* annotations
    say otherwise; tcp probes a TCP connect."""
    key = f"service.beta.kubernetes.io/port_{port['port']}_health-probe_"
    protocol = annotations.get(key + "protocol", port["appProtocol"]).lower()
    probe_port = annotations.get(key + "port", str(port["port"]))
    path = annotations.get(key + "request-path", "/") if protocol in ("http", "https") else None
    return protocol, probe_port, path


@pytest.mark.parametrize("internal", [True, False])
def test_the_load_balancer_probes_the_gateways_readiness_not_its_tls_listener(internal: bool) -> None:
    """An HTTPS probe of "/" on the TLS listener (no SNI, no route for "/") would mark every node down:
    each listener port is probed on Istio's readiness endpoint, which its gateway pods serve
    (kube-gateway.yaml lines 112, 228-239: /healthz/ready on 15021, a Service port of its own)."""
    doc = gateway_objects(replace(SPEC, internal=internal), [WARM])[0]
    annotations = doc["spec"]["infrastructure"]["annotations"]
    ports = _istio_service_ports(doc)
    assert [p["appProtocol"] for p in ports] == ["tcp", "https"]
    service_ports = {str(p["port"]) for p in ports}
    for port in ports[1:]:
        protocol, probe_port, path = _azure_probe(port, annotations)
        assert (protocol, probe_port, path) == ("http", "15021", "/healthz/ready")
        assert probe_port in service_ports  # cloud-provider-azure resolves it to that port's NodePort


def test_a_model_is_selected_by_its_header_or_its_path_prefix() -> None:
    route = gateway_objects(SPEC, [WARM])[1]["spec"]
    by_header, by_path = route["rules"]
    assert by_header["matches"][0]["headers"] == [{"type": "Exact", "name": "x-model", "value": "qwen7b"}]
    assert by_header["backendRefs"] == [{"name": "qwen7b", "port": 80}]
    assert by_path["matches"][0]["path"] == {"type": "PathPrefix", "value": "/models/qwen7b/v1"}
    assert by_path["filters"][0]["urlRewrite"]["path"] == {
        "type": "ReplacePrefixMatch",
        "replacePrefixMatch": "/v1",
    }
    assert client_urls(SPEC, WARM) == {
        "baseUrl": "https://llm.internal.example.com/v1",
        "header": "x-model: qwen7b",
        "pathBaseUrl": "https://llm.internal.example.com/models/qwen7b/v1",
    }


def test_a_model_that_wakes_from_zero_goes_through_the_interceptor_with_its_host() -> None:
    docs = gateway_objects(SPEC, [WARM, COLD])
    route = next(d for d in docs if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == "phi4")["spec"]
    for rule in route["rules"]:
        assert rule["backendRefs"] == [
            {"name": "keda-add-ons-http-interceptor-proxy", "namespace": "keda", "port": 8080}
        ]
        rewrite = next(f["urlRewrite"] for f in rule["filters"] if f["type"] == "URLRewrite")
        assert rewrite["hostname"] == "phi4.inference.svc.cluster.local"
    (grant,) = [d for d in docs if d["kind"] == "ReferenceGrant"]
    assert grant["metadata"]["namespace"] == "keda"
    assert grant["spec"]["from"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "inference"}
    ]
    assert grant["spec"]["to"] == [
        {"group": "", "kind": "Service", "name": "keda-add-ons-http-interceptor-proxy"}
    ]
    assert not [d for d in gateway_objects(SPEC, [WARM]) if d["kind"] == "ReferenceGrant"]


def test_only_v1_paths_reach_a_model() -> None:
    """vLLM guards /v1 but not /invocations, /metrics, /tokenize (v0.31.0 authenticate.py:11): the routes
    forward /v1 only, by header or by the model's path prefix."""
    for rule in gateway_objects(SPEC, [WARM])[1]["spec"]["rules"]:
        (match,) = rule["matches"]
        assert match["path"]["value"].endswith("/v1")
        for f in rule.get("filters", []):
            assert f["urlRewrite"]["path"]["replacePrefixMatch"] == "/v1"


SPLIT = GatewaySpec(
    name="models", namespace="llm-gateway", hostname="llm.internal.example.com", tls_secret="models-tls",
    routes_namespace="inference",
)  # fmt: skip


def test_routes_beside_the_services_attach_to_a_gateway_in_its_own_namespace() -> None:
    gateway, route, grant = gateway_objects(SPLIT, [COLD])
    assert gateway["metadata"]["namespace"] == "llm-gateway"
    assert gateway["spec"]["listeners"][0]["allowedRoutes"] == {
        "namespaces": {
            "from": "Selector",
            "selector": {"matchLabels": {"kubernetes.io/metadata.name": "inference"}},
        }
    }
    assert route["metadata"]["namespace"] == "inference"
    assert route["spec"]["parentRefs"] == [
        {"name": "models", "namespace": "llm-gateway", "sectionName": "https"}
    ]
    assert grant["spec"]["from"][0]["namespace"] == "inference"
    for doc in gateway_objects(SPLIT, [WARM, COLD]):
        schema = _v1_5_1_schemas()[(doc["apiVersion"], doc["kind"])]
        body = {k: v for k, v in doc.items() if k != "metadata"}
        validator = jsonschema.Draft7Validator(
            {**schema, "properties": {**schema["properties"], "metadata": {}}}
        )
        assert [e.message for e in validator.iter_errors(body)] == []
