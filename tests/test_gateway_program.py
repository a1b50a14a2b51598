"""The gateway as the program declares it (issue 23): prod's plan has the Istio add-on, the Gateway API
CRDs, the Gateway and routes validated against those very CRDs, the TLS certificate synced from Key
Vault by an identity holding exactly Key Vault Secrets User, a generated key per consumer in the vault,
vLLM checking the keys with no key in the pod spec, and the NetworkPolicy admitting the gateway; the
rules refuse each bad gateway setting with its key, value and what is accepted."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalog import load_catalog
from facts.gateway_api import crd_documents
from facts.istio import REVISIONS
from planning.stack_plan import plan_stack
from renderers.api_keys import API_KEYS_SECRET, VLLM_KEYS_FILE, VLLM_KEYS_SECRET, vllm_keys_yaml
from renderers.gateway import gateway_address, gateway_notes
from rules.gateway import istio_revision_supported
from tests.conftest import by_type, one, parse_values, planned, run_with, value_problems
from tools.mocks import ProgramRun

CLUSTER = "azure-native:containerservice:ManagedCluster"
CR = "kubernetes:gateway.networking.k8s.io/v1:{}"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
GATEWAY = {"hostname": "llm.internal.example.com", "certificateName": "llm-tls", "consumers": ["app"]}
A100 = {"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"min": 0, "max": 2}}
VLLM = {
    "name": "qwen",
    "model": "qwen2.5-7b-instruct",
    "pool": "a100",
    "runtime": "vllm",
    "scaleToZero": False,
    "replicas": {"min": 1},
}
KAITO = {
    "name": "phi4",
    "model": "phi-4",
    "pool": "a100",
    "runtime": "kaito",
    "scaleToZero": False,
    "replicas": {"min": 1},
}


def _schema(kind: str) -> dict[str, Any]:
    crd = next(d for d in crd_documents() if d["spec"]["names"]["kind"] == kind)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _prod() -> ProgramRun:
    return planned("prod")[1]


def test_prod_runs_the_istio_add_on_at_a_supported_revision() -> None:
    mesh = one(_prod(), CLUSTER).inputs["serviceMeshProfile"]
    assert mesh == {"mode": "Istio", "istio": {"revisions": ["asm-1-30"]}}
    for stack in ("dev", "nap"):
        assert "serviceMeshProfile" not in one(planned(stack)[1], CLUSTER).inputs


def test_prod_installs_the_gateway_api_crds_it_validates_against_and_keeps_them_on_destroy() -> None:
    crds = by_type(_prod(), "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
    assert sorted(c.inputs["metadata"]["name"] for c in crds) == sorted(
        d["metadata"]["name"] for d in crd_documents()
    )
    for crd in crds:
        assert crd.inputs["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] == "v1.5.1"
        assert crd.inputs["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "standard"
        assert crd.options.get("retainOnDelete") is True


def test_prods_gateway_and_routes_validate_against_the_installed_crds() -> None:
    run = _prod()
    (gateway,) = by_type(run, CR.format("Gateway"))
    routes = by_type(run, CR.format("HTTPRoute"))
    assert [r.inputs["metadata"]["name"] for r in routes] == ["qwen7b"]  # phi4 (KAITO) is excluded
    for res, kind in [(gateway, "Gateway"), *((r, "HTTPRoute") for r in routes)]:
        schema = _schema(kind)
        body = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind, "spec": res.inputs["spec"]}
        validator = jsonschema.Draft7Validator(
            {**schema, "properties": {**schema["properties"], "metadata": {}}}
        )
        assert [e.message for e in validator.iter_errors(body)] == [], kind
    spec = gateway.inputs["spec"]
    assert gateway.inputs["metadata"]["namespace"] == "llm-gateway"
    assert spec["infrastructure"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
        "service.beta.kubernetes.io/azure-load-balancer-internal-subnet": "snet-gateway",
        # a fixed frontend (the subnet 10.224.6.0/24's first usable address): the DNS record can be written
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": "10.224.6.4",
        # the LB probes the gateway pods' readiness, not "/" of the TLS listener (renderers/gateway.py)
        "service.beta.kubernetes.io/port_443_health-probe_protocol": "http",
        "service.beta.kubernetes.io/port_443_health-probe_port": "15021",
        "service.beta.kubernetes.io/port_443_health-probe_request-path": "/healthz/ready",
    }
    assert run.outputs["gateway"]["address"] == "10.224.6.4"
    (listener,) = spec["listeners"]
    assert listener["hostname"] == "llm.prod.internal.example.com"
    assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "models-tls"}]
    assert routes[0].inputs["metadata"]["namespace"] == "inference"


def test_the_tls_certificate_is_synced_into_a_tls_secret_by_an_identity_with_secrets_user_only() -> None:
    run = _prod()
    spc = next(r for r in by_type(run, SPC) if r.inputs["metadata"]["name"] == "gateway-tls")
    assert spc.inputs["metadata"]["namespace"] == "llm-gateway"
    (obj,) = spc.inputs["spec"]["secretObjects"]
    assert obj["secretName"] == "models-tls" and obj["type"] == "kubernetes.io/tls"
    assert {d["key"] for d in obj["data"]} == {"tls.key", "tls.crt"}
    objects = spc.inputs["spec"]["parameters"]["objects"]
    assert "objectName: llm-gateway-tls" in objects and "objectType: secret" in objects
    assert "objectType: cert" not in objects  # the certificates API needs more than Secrets User
    sync = next(
        r
        for r in by_type(run, "kubernetes:apps/v1:Deployment")
        if r.inputs["metadata"]["name"] == "gateway-tls-sync"
    )
    pod = sync.inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "gateway-tls-sync"
    # The certificate is the user's, put in the vault after the first `up` created it: `pulumi up` must not
    # wait 10 minutes for a mount that cannot succeed yet, then fail. The HF token's pods are awaited (the
    # program writes that secret itself).
    assert sync.inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    others = [
        r
        for r in by_type(run, "kubernetes:apps/v1:Deployment")
        if r.inputs["metadata"]["name"].endswith("-sync") and r is not sync
    ]
    assert others and all(not r.inputs["metadata"].get("annotations") for r in others)
    assert pod["volumes"][0]["csi"]["volumeAttributes"] == {"secretProviderClass": "gateway-tls"}
    grants = [
        r
        for r in by_type(run, "azure-native:authorization:RoleAssignment")
        if "gateway" in r.inputs["principalId"]
    ]
    assert len(grants) == 1
    assert grants[0].inputs["roleDefinitionId"].endswith("4633458b-17de-408a-b874-0445c86b69e6")


def test_each_consumer_gets_a_generated_key_in_the_vault_and_nothing_shows_it() -> None:
    run = _prod()
    secrets = {r.inputs["secretName"]: r for r in by_type(run, "azure-native:keyvault:Secret")}
    assert set(secrets) == {"model-key-chat-app", VLLM_KEYS_SECRET}
    assert len(by_type(run, "random:index/randomPassword:RandomPassword")) == 1
    spc = next(r for r in by_type(run, SPC) if r.inputs["metadata"]["name"] == "model-api-keys")
    objects = spc.inputs["spec"]["parameters"]["objects"]
    assert f"objectName: {VLLM_KEYS_SECRET}" in objects and "objectAlias: api-keys.yaml" in objects
    (obj,) = spc.inputs["spec"]["secretObjects"]
    assert obj["secretName"] == API_KEYS_SECRET
    assert obj["data"] == [{"objectName": "model-key-chat-app", "key": "key-chat-app"}]


def test_the_keys_file_is_what_vllms_config_loader_reads() -> None:
    text = vllm_keys_yaml(["k1", "k2"])
    assert yaml.safe_load(text) == {"api-key": ["k1", "k2"]}
    assert VLLM_KEYS_FILE.endswith(
        ".yaml"
    )  # load_config_file refuses other extensions (argparse_utils.py:591)


def test_vllm_checks_the_keys_with_no_key_in_the_pod_spec_or_its_environment() -> None:
    run = _prod()
    deployment = next(
        r for r in by_type(run, "kubernetes:apps/v1:Deployment") if r.inputs["metadata"]["name"] == "qwen7b"
    )
    pod = deployment.inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[args.index("--config") + 1] == "/mnt/api-keys/api-keys.yaml"
    assert not any("secretKeyRef" in e.get("valueFrom", {}) for e in container["env"])
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/mnt/api-keys")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["csi"]["volumeAttributes"] == {"secretProviderClass": "model-api-keys"}
    assert pod["serviceAccountName"] == "inference"  # its identity may read the vault
    # the probes stay on /health, which vLLM's key check does not guard (authenticate.py:11)
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"


def test_the_models_network_policy_admits_only_the_gateways_pods_of_its_namespace() -> None:
    run = _prod()
    policy = next(
        r
        for r in by_type(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.inputs["metadata"]["name"] == "qwen7b"
    )
    peers = policy.inputs["spec"]["ingress"][0]["from"]
    gateway = [p for p in peers if "llm-gateway" in json.dumps(p.get("namespaceSelector", {}))]
    assert gateway == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "llm-gateway"}},
            "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "models"}},
        }
    ]
    namespaces = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in peers
        if "namespaceSelector" in p and "podSelector" not in p
    }
    assert namespaces == {"kube-system"}  # the metrics scraper; no HTTP add-on, no callers in prod


def test_the_outputs_tell_the_caller_the_url_the_key_names_and_the_limits() -> None:
    run = _prod()
    out = run.outputs["gateway"] if hasattr(run, "outputs") else None
    if out is None:
        pytest.skip("the mocks do not record outputs")
    assert out["baseUrl"] == "https://llm.prod.internal.example.com/v1"
    assert out["apiKeySecrets"] == {"chat-app": "model-key-chat-app"}
    model = out["models"]["qwen7b"]
    assert model["header"] == "x-model: qwen7b" and model["backend"] == "service"
    assert model["maxModelLen"] > 0 and model["maxNumSeqs"] > 0
    assert out["notBehindGateway"] == ["phi4"]
    assert "chat-app" not in json.dumps(out["models"])


def _problems(
    gateway: dict[str, Any], models: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, str]:
    values = {"gpuPools": [A100], "models": models or [VLLM], "gateway": gateway, **extra}
    return {p.path: f"{p.message} | accepted: {p.accepted} | got {p.value}" for p in value_problems(values)}


def test_a_kaito_model_behind_keys_is_refused_unless_excluded() -> None:
    got = _problems(GATEWAY, [VLLM, KAITO], addons={"kaito": {"mode": "helm"}})
    assert (
        "plain ConfigMap" in got["models[1].runtime"] and "gateway.excludeModels" in got["models[1].runtime"]
    )
    parse_values(
        {
            "gpuPools": [A100],
            "models": [VLLM, KAITO],
            "addons": {"kaito": {"mode": "helm"}},
            "gateway": {**GATEWAY, "excludeModels": ["phi4"]},
        }
    )


def test_keys_without_consumers_unknown_exclusions_and_a_taken_namespace_are_refused() -> None:
    got = _problems({**GATEWAY, "consumers": [], "excludeModels": ["nope"], "namespace": "kube-system"})
    assert "no consumer is listed" in got["gateway.consumers"]
    assert (
        "not a model of this stack" in got["gateway.excludeModels[0]"]
        and "qwen" in got["gateway.excludeModels[0]"]
    )
    assert "belongs to Kubernetes" in got["gateway.namespace"]


def test_a_kubernetes_version_the_bundle_does_not_pair_with_is_refused() -> None:
    got = _problems(GATEWAY, cluster={"apiServer": {"privateCluster": True}, "kubernetesVersion": "1.35"})
    assert "v1.5.1" in got["cluster.kubernetesVersion"] and "1.36" in got["cluster.kubernetesVersion"]


def test_an_istio_revision_unknown_unsupported_or_past_end_of_life_is_refused() -> None:
    got = _problems({**GATEWAY, "istioRevision": "asm-1-99"})
    assert "not an AKS Istio add-on revision" in got["gateway.istioRevision"]
    assert "asm-1-30" in got["gateway.istioRevision"]
    got = _problems({**GATEWAY, "istioRevision": "asm-1-28"})  # supports 1.30-1.35, not 1.36
    assert "does not support cluster.kubernetesVersion" in got["gateway.istioRevision"]
    config = parse_values({"gpuPools": [A100], "models": [VLLM], "gateway": GATEWAY})
    catalog = load_catalog()
    assert list(istio_revision_supported(plan_stack(config, catalog, on=date(2026, 12, 31)))) == []
    (late,) = istio_revision_supported(plan_stack(config, catalog, on=date(2027, 1, 1)))
    assert "end of life in December 2026" in late.message and "none" in late.accepted


@pytest.mark.parametrize("field", ["hostname", "certificateName"])
def test_a_malformed_hostname_or_certificate_name_is_refused_in_words(field: str) -> None:
    got = _problems({**GATEWAY, field: "Not Valid!"})
    (key,) = [k for k in got if k.startswith("gateway.")]
    assert "^" not in got[key]  # words, not a bare regex


HTTP_GATEWAY = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}, kubernetesVersion: "1.36"}
  aks-llm:addons: {keda: {httpAddon: {enabled: true}}}
  aks-llm:gpuPools:
    - {name: a100, vmSize: Standard_NC24ads_A100_v4, onDemand: {min: 0, max: 2}}
  aks-llm:models:
    - {name: small, model: phi-4-mini-instruct, pool: a100}
  aks-llm:gateway: {hostname: llm.internal.example.com, certificateName: llm-tls, consumers: [app]}
"""


def test_a_model_woken_by_http_is_routed_through_the_interceptor_and_waits_for_its_release(
    tmp_path: Path,
) -> None:
    """Scale from zero through the gateway (issue 23 item 6): the route goes to the KEDA HTTP add-on's
    interceptor (which holds the request while the model wakes, its wait the cold-start prediction in
    the HTTPScaledObject), a ReferenceGrant admits it, and both wait for the add-on's release."""
    run = run_with(tmp_path, HTTP_GATEWAY)
    assert run.exit_code == 0
    (route,) = by_type(run, CR.format("HTTPRoute"))
    for rule in route.inputs["spec"]["rules"]:
        (backend,) = rule["backendRefs"]
        assert backend["namespace"] == "keda" and backend["name"].startswith("keda-add-ons-http-interceptor")
    (grant,) = by_type(run, "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant")
    assert grant.inputs["metadata"]["namespace"] == "keda"
    assert grant.inputs["spec"]["from"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "inference"}
    ]
    release = next(
        r.urn for r in by_type(run, "kubernetes:helm.sh/v3:Release") if "http" in r.inputs["chart"]
    )
    for res in (route, grant):
        assert release in res.options["dependencies"], res.name
    assert run.outputs["gateway"]["models"]["small"]["backend"] == "interceptor"
    wait = next(
        r for r in run.resources if r.type == "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject"
    ).inputs["spec"]["timeouts"]["conditionWait"]
    assert wait.endswith("s") and int(wait[:-1]) > 60  # the cold-start prediction, not a default


@settings(max_examples=60)
@given(
    revision=st.sampled_from(sorted(REVISIONS)),
    minor=st.sampled_from(["1.33", "1.34", "1.35", "1.36"]),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 6, 30)),
)
def test_a_revision_is_accepted_exactly_when_aks_supports_it_for_the_minor_on_the_day(
    revision: str, minor: str, day: date
) -> None:
    config = parse_values({"gpuPools": [A100], "models": [VLLM], "gateway": GATEWAY})
    config = config.model_copy(
        update={
            "gateway": config.gateway.model_copy(update={"istio_revision": revision}),  # type: ignore[union-attr]
            "cluster": config.cluster.model_copy(update={"kubernetes_version": minor}),
        }
    )
    supported = minor in REVISIONS[revision].kubernetes and day <= REVISIONS[revision].ends()
    problems = list(istio_revision_supported(plan_stack(config, load_catalog(), on=day)))
    assert (problems == []) == supported
    for p in problems:
        assert p.path == "gateway.istioRevision" and p.value == revision and p.accepted


def test_the_plan_notes_the_crds_ownership_and_an_end_of_life_near_the_plan_date() -> None:
    config = parse_values({"gpuPools": [A100], "models": [VLLM], "gateway": GATEWAY})
    notes = gateway_notes(config, date(2026, 12, 1))
    assert len(notes) == 2
    assert "Managed Gateway API" in notes[0] and "asm-1-30" in notes[1] and "December 2026" in notes[1]
    assert len(gateway_notes(config, date(2026, 8, 1))) == 1  # more than 90 days before its end
    assert any("Gateway API CRDs v1.5.1" in n for n in _prod().outputs["notes"])


def test_the_gateway_address_is_the_first_usable_one_of_its_subnet() -> None:
    assert gateway_address("10.224.6.0/24") == "10.224.6.4"
    assert gateway_address("10.50.8.128/27") == "10.50.8.132"
    assert gateway_address(None) is None


def _pools(run: ProgramRun) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each node pool of the run: its taints (AKS ``key=value:Effect``) and the labels its nodes carry
    (its nodeLabels and AKS's ``kubernetes.azure.com/mode``)."""
    profiles = [*one(run, CLUSTER).inputs["agentPoolProfiles"]]
    profiles += [
        {**r.inputs, "name": r.name} for r in by_type(run, "azure-native:containerservice:AgentPool")
    ]
    return {
        p["name"]: (
            list(p.get("nodeTaints") or []),
            {**(p.get("nodeLabels") or {}), "kubernetes.azure.com/mode": str(p.get("mode", "User")).lower()},
        )
        for p in profiles
    }


def _fits(pod: dict[str, Any], taints: list[str], labels: dict[str, str]) -> bool:
    """The scheduler's taint/toleration and nodeSelector checks for one pod on one pool."""
    tolerated = []
    for taint in taints:
        key, rest = taint.split("=", 1)
        value, effect = rest.split(":")
        tolerated.append(
            any(
                t["key"] == key
                and t.get("effect", effect) == effect
                and (t["operator"] == "Exists" or t.get("value") == value)
                for t in pod.get("tolerations", [])
            )
        )
    selected = all(labels.get(k) == v for k, v in pod.get("nodeSelector", {}).items())
    return all(tolerated) and selected


def test_the_gateways_pods_have_a_pool_they_can_run_on() -> None:
    """Istio renders the gateway's pods with no toleration (istio 1.30.3 kube-gateway.yaml) and every pool
    of prod is tainted: the Gateway names a ConfigMap of its namespace whose deployment overlay lets them
    onto the system pool (renderers.gateway.gateway_options); without it no pool fits."""
    run = _prod()
    (gateway,) = by_type(run, CR.format("Gateway"))
    ref = gateway.inputs["spec"]["infrastructure"]["parametersRef"]
    assert (ref["group"], ref["kind"]) == ("", "ConfigMap")
    (options,) = [
        r
        for r in by_type(run, "kubernetes:core/v1:ConfigMap")
        if r.inputs["metadata"]["name"] == ref["name"]
        and r.inputs["metadata"]["namespace"] == gateway.inputs["metadata"]["namespace"]
    ]
    overlay = yaml.safe_load(options.inputs["data"]["deployment"])
    assert set(options.inputs["data"]) <= {
        "deployment",
        "service",
        "serviceAccount",
        "horizontalPodAutoscaler",
        "podDisruptionBudget",
    }
    # Istio renders no HPA/PDB without an overlay: the gateway would be one pod, none kept through a drain
    assert yaml.safe_load(options.inputs["data"]["horizontalPodAutoscaler"])["spec"]["minReplicas"] >= 2
    assert yaml.safe_load(options.inputs["data"]["podDisruptionBudget"])["spec"]["minAvailable"] == 1
    pod = overlay["spec"]["template"]["spec"]
    pools = _pools(run)
    assert not any(_fits({}, *pool) for pool in pools.values())  # what Istio renders alone
    assert [name for name, pool in pools.items() if _fits(pod, *pool)] == ["system"]
