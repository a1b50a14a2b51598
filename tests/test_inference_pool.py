"""Cache-aware routing (issue 23): one vLLM model's InferencePool and endpoint picker validate against
the InferencePool CRD KAITO's chart installs (bundle v1.0.1, tests/data; its one owner) and the core
Kubernetes schemas; the route hook validates against the Gateway API CRDs; the switch is refused with
one message per root cause while the AKS Istio add-on cannot route to an InferencePool."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from config.catalog import load_catalog
from config.schema import InferencePoolConfig, ModelConfig
from facts.metrics import VLLM_KV_CACHE_USAGE, VLLM_REQUESTS_WAITING
from planning.stack_plan import plan_stack
from renderers.gateway import GatewaySpec, ModelRoute, http_route
from renderers.inference_pool import (
    EPP_GRPC_PORT,
    PoolSpec,
    epp_args,
    epp_plugins,
    inference_pool_objects,
    pool_spec,
    route_through_pool,
)
from rules.inference_pool import pool_runtime
from sizing.deployments import plan_models
from tests.conftest import parse_values, rules_refusal, run_with, value_problems
from tests.k8s_schemas import manifest_errors, requires_crds, strictify

DATA = Path(__file__).parent / "data"
V1_0_1 = DATA / "gateway-api-inference-extension-v1.0.1" / "inference.networking.k8s.io_inferencepools.yaml"
ISTIO_DESTINATION_RULE = DATA / "istio-1.29.6" / "networking.istio.io_destinationrules.yaml"
# the Gateway API bundle the program installs (facts/gateway_api_v1_5_1/SOURCES.md)
GATEWAY_V1_5_1 = (
    DATA.parent.parent / "facts" / "gateway_api_v1_5_1" / "gateway.networking.k8s.io_httproutes.yaml"
)
KAITO_CHART_CRD = (
    Path(__file__).parents[2]
    / "shared"
    / "charts"
    / "kaito-workspace-0.12.0"
    / "crds"
    / "inference.networking.k8s.io_inferencepools.yaml"
)

SPEC = PoolSpec("qwen7b", "inference", InferencePoolConfig())


@functools.cache
def _pool_crd() -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(V1_0_1.read_text())
    return crd


@functools.cache
def _crd(path: Path) -> dict[str, Any]:
    crd: dict[str, Any] = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return crd


def _crd_errors(path: Path, doc: dict[str, Any]) -> list[str]:
    crd = _crd(path)
    (version,) = [
        v for v in crd["spec"]["versions"] if f"{crd['spec']['group']}/{v['name']}" == doc["apiVersion"]
    ]
    schema = strictify(version["schema"]["openAPIV3Schema"])
    # metadata, apiVersion and kind are the API server's (Istio's CRDs do not declare the last two)
    meta = {"metadata": {}, "apiVersion": {"type": "string"}, "kind": {"type": "string"}}
    body = {k: v for k, v in doc.items() if k != "metadata"}
    validator = jsonschema.Draft7Validator({**schema, "properties": {**schema["properties"], **meta}})
    return [e.message for e in validator.iter_errors(body)]


def _objects(kind: str) -> list[dict[str, Any]]:
    return [d for d in inference_pool_objects(SPEC) if d["kind"] == kind]


def test_the_pool_validates_against_the_v1_0_1_crd_kaitos_chart_installs() -> None:
    assert _pool_crd()["metadata"]["annotations"]["inference.networking.k8s.io/bundle-version"] == "v1.0.1"
    (pool,) = _objects("InferencePool")
    assert _crd_errors(V1_0_1, pool) == []
    # The CRD's one CEL rule (not evaluated here): a Service endpoint picker names its port.
    (rule,) = _pool_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]["endpointPickerRef"]["x-kubernetes-validations"]
    assert rule["rule"] == "self.kind != 'Service' || has(self.port)"
    assert "kind" not in pool["spec"]["endpointPickerRef"]  # defaults to Service, so the port must be there
    assert pool["spec"]["endpointPickerRef"]["port"] == {"number": EPP_GRPC_PORT}


def test_the_gateway_reaches_the_picker_over_tls_without_verifying_it() -> None:
    """The EPP serves TLS with a self-signed certificate: Istio's DestinationRule (validated against the
    upstream 1.29.6 CRD of the add-on's asm-1-29 revision) originates TLS to its Service."""
    (rule,) = _objects("DestinationRule")
    assert _crd_errors(ISTIO_DESTINATION_RULE, rule) == []
    (service,) = _objects("Service")
    assert rule["spec"]["host"] == f"{service['metadata']['name']}.inference.svc.cluster.local"
    assert rule["spec"]["trafficPolicy"]["tls"] == {"mode": "SIMPLE", "insecureSkipVerify": True}
    assert "--cert-path" not in epp_args(SPEC) and "--secure-serving" not in epp_args(SPEC)


def test_the_vendored_crd_is_the_one_in_kaitos_chart() -> None:
    if not KAITO_CHART_CRD.is_file():
        pytest.skip("../shared/charts is not beside this checkout")
    assert KAITO_CHART_CRD.read_bytes() == V1_0_1.read_bytes()


@requires_crds
def test_the_pool_also_validates_against_the_v1_6_0_crd() -> None:
    (pool,) = _objects("InferencePool")
    assert manifest_errors(pool) == []


# What EPP v1.0.0's manager caches (pkg/epp/server/controller_manager.go:52-79): (group, version, kind).
EPP_WATCHES = [
    ("", "v1", "Pod"),
    ("inference.networking.k8s.io", "v1", "InferencePool"),
    ("inference.networking.x-k8s.io", "v1alpha2", "InferenceObjective"),
]


def test_every_kind_the_picker_watches_is_readable_and_installed_by_the_crd_owner() -> None:
    """An informer on a kind the Role does not grant, or whose CRD is missing, never syncs: the EPP would
    stay unready. KAITO's chart (the owner) installs both inference CRDs (tests/data, its crds/)."""
    (role,) = _objects("Role")
    installed = {}
    for path in V1_0_1.parent.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            if version["served"]:
                installed[(crd["spec"]["group"], version["name"], crd["spec"]["names"]["kind"])] = crd
    for group, version, kind in EPP_WATCHES:
        plural = kind.lower() + "s"
        assert any(
            group in rule["apiGroups"]
            and plural in rule["resources"]
            and {"get", "list", "watch"} <= set(rule["verbs"])
            for rule in role["rules"]
        ), kind
        if group:
            assert (group, version, kind) in installed, kind
            if KAITO_CHART_CRD.parent.is_dir():
                name = f"{group}_{plural}.yaml"
                assert (KAITO_CHART_CRD.parent / name).read_bytes() == (V1_0_1.parent / name).read_bytes()


def test_the_pool_selects_the_models_pods_on_vllms_port_and_names_its_picker() -> None:
    (pool,) = _objects("InferencePool")
    assert pool["spec"]["selector"] == {"matchLabels": {"aks-llm/model": "qwen7b"}}
    assert pool["spec"]["targetPorts"] == [{"number": 8000}]
    assert pool["spec"]["endpointPickerRef"]["name"] == "qwen7b-epp"
    (service,) = _objects("Service")
    assert service["metadata"]["name"] == "qwen7b-epp"
    assert EPP_GRPC_PORT in [p["port"] for p in service["spec"]["ports"]]
    (deployment,) = _objects("Deployment")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize(
    "kind",
    [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "NetworkPolicy",
        "Service",
        "Deployment",
    ],
)
def test_every_core_object_validates_against_kubernetes_1_36(kind: str) -> None:
    for doc in _objects(kind):
        assert manifest_errors(doc) == [], kind


def test_the_pickers_network_policy_admits_the_gateway_and_reaches_the_models_metrics() -> None:
    spec = PoolSpec("qwen7b", "inference", InferencePoolConfig(), gateway_namespace="gateways")
    (policy,) = [d for d in inference_pool_objects(spec) if d["kind"] == "NetworkPolicy"]
    (deployment,) = [d for d in inference_pool_objects(spec) if d["kind"] == "Deployment"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    grpc, metrics = policy["spec"]["ingress"]
    assert grpc["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateways"}}}
    ]
    assert grpc["ports"] == [{"port": EPP_GRPC_PORT, "protocol": "TCP"}]
    assert metrics["ports"] == [{"port": 9090, "protocol": "TCP"}]
    (pool,) = [d for d in inference_pool_objects(spec) if d["kind"] == "InferencePool"]
    models = policy["spec"]["egress"][1]
    assert models["to"] == [{"podSelector": pool["spec"]["selector"]}]
    assert models["ports"] == [{"port": pool["spec"]["targetPorts"][0]["number"], "protocol": "TCP"}]


def test_the_pool_comes_before_the_picker_whose_liveness_is_the_pools_sync() -> None:
    kinds = [d["kind"] for d in inference_pool_objects(SPEC)]
    assert kinds.index("InferencePool") < kinds.index("Deployment")
    assert kinds.index("Role") < kinds.index("Deployment") and kinds[-1] == "Deployment"


def test_the_picker_is_pinned_hardened_and_probed() -> None:
    (deployment,) = _objects("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "@sha256:" in container["image"]
    assert container["image"].startswith("registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0@")
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["livenessProbe"]["grpc"]["port"] == container["readinessProbe"]["grpc"]["port"] == 9003
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert not security["allowPrivilegeEscalation"] and security["capabilities"] == {"drop": ["ALL"]}
    assert pod["serviceAccountName"] == "qwen7b-epp"
    for doc in inference_pool_objects(SPEC):
        labels = doc["metadata"]["labels"]
        assert (
            labels["app.kubernetes.io/part-of"] == "aks-llm" and labels["app.kubernetes.io/name"] == "qwen7b"
        )


def test_the_picker_reads_the_metrics_vllm_0_31_0_exports() -> None:
    """EPP v1.0.0's default KV-cache metric, vllm:gpu_cache_usage_perc, is gone from vLLM 0.31.0: the
    flags name the ones facts/metrics.py holds (checked against the wheel's registry by the contract tier)."""
    args = epp_args(SPEC)
    assert args[args.index("--kv-cache-usage-percentage-metric") + 1] == VLLM_KV_CACHE_USAGE
    assert args[args.index("--total-queued-requests-metric") + 1] == VLLM_REQUESTS_WAITING
    assert args[args.index("--pool-name") + 1] == "qwen7b"
    assert args[args.index("--pool-namespace") + 1] == "inference"
    (config_map,) = _objects("ConfigMap")
    mounted = args[args.index("--config-file") + 1]
    assert mounted == "/config/" + next(iter(config_map["data"]))


def test_the_scorers_and_their_weights() -> None:
    plugins = epp_plugins(InferencePoolConfig())
    assert [p["type"] for p in plugins["plugins"]] == [
        "prefix-cache-scorer",
        "queue-scorer",
        "kv-cache-utilization-scorer",
    ]
    (profile,) = plugins["schedulingProfiles"]
    assert {p["pluginRef"]: p["weight"] for p in profile["plugins"]} == {
        "prefix-cache-scorer": 3,
        "queue-scorer": 2,
        "kv-cache-utilization-scorer": 2,
    }
    only_prefix = epp_plugins(InferencePoolConfig.model_validate({"queueWeight": 0, "kvCacheWeight": 0}))
    assert only_prefix["plugins"] == [{"type": "prefix-cache-scorer"}]
    (config_map,) = _objects("ConfigMap")
    assert yaml.safe_load(next(iter(config_map["data"].values()))) == plugins


@given(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10))
def test_weights_are_accepted_exactly_when_one_scorer_is_on_and_only_those_are_configured(
    prefix: int, queue: int, kv: int
) -> None:
    values = {"prefixCacheWeight": prefix, "queueWeight": queue, "kvCacheWeight": kv}
    if prefix == queue == kv == 0:
        with pytest.raises(ValueError, match="every scorer weight is 0"):
            InferencePoolConfig.model_validate(values)
        return
    (profile,) = epp_plugins(InferencePoolConfig.model_validate(values))["schedulingProfiles"]
    wanted = {"prefix-cache-scorer": prefix, "queue-scorer": queue, "kv-cache-utilization-scorer": kv}
    assert {p["pluginRef"]: p["weight"] for p in profile["plugins"]} == {k: w for k, w in wanted.items() if w}


def test_no_scorer_at_all_is_refused() -> None:
    problems = value_problems(
        {
            "models": [
                {
                    "name": "m",
                    "model": "phi-4",
                    "pool": "p",
                    "inferencePool": {"prefixCacheWeight": 0, "queueWeight": 0, "kvCacheWeight": 0},
                }
            ]
        }
    )
    assert any(p.path.endswith("inferencePool.prefixCacheWeight") for p in problems), problems


GATEWAY = GatewaySpec("models", "inference", "llm.internal.example.com", "models-tls")


def test_the_route_hook_sends_every_rule_to_the_pool_and_validates() -> None:
    route = route_through_pool(http_route(GATEWAY, ModelRoute("qwen7b", "qwen7b", 80)), "qwen7b")
    for rule in route["spec"]["rules"]:
        assert rule["backendRefs"] == [
            {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "qwen7b"}
        ]
    assert route["spec"]["rules"][1]["filters"][0]["type"] == "URLRewrite"  # the path prefix still rewritten
    assert _crd_errors(GATEWAY_V1_5_1, route) == []


@requires_crds
def test_the_routed_httproute_validates_against_gateway_api_v1_6_1() -> None:
    route = route_through_pool(http_route(GATEWAY, ModelRoute("qwen7b", "qwen7b", 80)), "qwen7b")
    assert manifest_errors(route) == []


def test_a_route_through_the_wake_up_interceptor_cannot_use_a_pool() -> None:
    cold = ModelRoute("phi4", "phi4", 80, interceptor=("keda", "keda-add-ons-http-interceptor-proxy", 8080))
    with pytest.raises(ValueError, match="woken from zero"):
        route_through_pool(http_route(GATEWAY, cold), "phi4")


HEAD = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools:
    - {name: a100, vmSize: Standard_NC24ads_A100_v4, onDemand: {min: 0, max: 4}}
"""


def _stack(model: str, extra: str = "") -> str:
    return HEAD + extra + f"  aks-llm:models:\n    - {model}\n"


QWEN = "model: qwen2.5-7b-instruct, pool: a100, inferencePool: {}"
POOLED = f"{{name: q, {QWEN}, replicas: {{min: 1, max: 3}}, scaleToZero: false}}"
HELM = "  aks-llm:addons: {kaito: {mode: helm}}\n"


def test_the_switch_is_refused_because_the_gateway_cannot_route_to_a_pool(tmp_path: Path) -> None:
    err = rules_refusal(tmp_path, _stack(POOLED, HELM))
    assert "Traceback" not in err
    assert "models[0].inferencePool" in err
    assert "ENABLE_GATEWAY_API_INFERENCE_EXTENSION" in err and "MeshConfig only" in err
    assert "docs/inference-routing.md" in err
    assert err.count("cannot route to an InferencePool") == 1
    # the only root cause of this stack: enough replicas, awake, vLLM, the CRD's owner installed
    assert "scaleToZero" not in err and "addons.kaito.mode" not in err and "nothing to choose" not in err


def test_the_program_exits_2_with_the_refusal_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(tmp_path, _stack(POOLED, HELM))
    err = capsys.readouterr().err
    assert run.exit_code == 2, err
    assert run.resources == []
    assert "Traceback" not in err and "cannot route to an InferencePool" in err


def test_one_replica_scale_to_zero_and_no_crd_owner_are_each_said(tmp_path: Path) -> None:
    one = f"{{name: a, {QWEN}, replicas: {{min: 1, max: 1}}, scaleToZero: false}}"
    asleep = (
        "{name: b, model: qwen2.5-7b-instruct, pool: a100, replicas: {min: 0, max: 2}, inferencePool: {}}"
    )
    text = HEAD + f"  aks-llm:models:\n    - {one}\n    - {asleep}\n"
    err = rules_refusal(tmp_path, text)
    assert "models[0].inferencePool" in err and "at most 1 replica at peak" in err
    assert "models[1].scaleToZero" in err
    assert "addons.kaito.mode" in err and "bundle v1.0.1" in err
    assert err.count("cannot route to an InferencePool") == 1


def test_a_kaito_model_is_refused_its_own_pool() -> None:
    config = parse_values(
        {"gpuPools": [{"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"max": 2}}]}
    )
    model = ModelConfig.model_validate(
        {"name": "k", "model": "qwen2.5-7b-instruct", "pool": "a100", "runtime": "kaito", "inferencePool": {}}
    )
    plan = plan_stack(config.model_copy(update={"models": [model]}), load_catalog())
    (problem,) = pool_runtime(plan)
    assert problem.path == "models[0].inferencePool"
    assert "pinned by tag only" in problem.message and problem.accepted.startswith("runtime: vllm")


def test_the_prefix_index_holds_as_many_blocks_as_one_replica_caches() -> None:
    """Qwen2.5-7B on one A100 80GB: 2 (K, V) x 28 layers x 4 KV heads x 128 x 2 bytes = 57,344 bytes a
    token; the index is sized to the replica's KV budget in 16-token vLLM blocks, not EPP's default 31,250."""
    config = parse_values(
        {
            "gpuPools": [{"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"max": 4}}],
            "models": [
                {
                    "name": "q",
                    "model": "qwen2.5-7b-instruct",
                    "pool": "a100",
                    "replicas": {"min": 1, "max": 3},
                    "scaleToZero": False,
                }
            ],
        }
    )  # accepted without the switch (refused today); the pool's figures come from the same plan
    pooled = config.models[0].model_copy(update={"inference_pool": InferencePoolConfig()})
    (plan,) = plan_models(config.model_copy(update={"models": [pooled]}), load_catalog())
    spec = pool_spec(plan, "inference")
    assert plan.sizing.kv_bytes_per_token_per_gpu == 2 * 28 * 4 * 128 * 2
    budget = plan.sizing.kv_budget_per_gpu_gib * 2**30
    assert spec.kv_cache_blocks is not None
    assert spec.kv_cache_blocks * 16 * 57344 <= budget < (spec.kv_cache_blocks + 1) * 16 * 57344
    assert spec.kv_cache_blocks > 31250  # a 7B model on 80 GB caches more than EPP's default assumes
    (config_map,) = [d for d in inference_pool_objects(spec) if d["kind"] == "ConfigMap"]
    (prefix, *_) = yaml.safe_load(next(iter(config_map["data"].values())))["plugins"]
    assert prefix == {
        "type": "prefix-cache-scorer",
        "parameters": {"lruCapacityPerServer": spec.kv_cache_blocks},
    }
