"""Cache-aware routing for one vLLM model (issue 23; pure, no Pulumi): the Gateway API Inference
Extension's InferencePool over the model's pods and its endpoint picker (EPP), with the hook that turns
the model's HTTPRoute backend (``renderers.gateway``) into the pool.

The gateway sends each request to the EPP (Envoy ext_proc, gRPC on 9002) which scores the pool's pods
and names the one to use: ``prefix-cache-scorer`` (the replica that already holds the longest part of
the prompt's prefix), ``queue-scorer`` (fewest waiting requests) and ``kv-cache-utilization-scorer``
(most free KV cache), weighted, the highest total wins (the default ``max-score-picker``).

Versions (read at kubernetes-sigs/gateway-api-inference-extension tag v1.0.0, commit ffea2632): the
InferencePool ``inference.networking.k8s.io/v1``; the EPP's flags ``cmd/epp/runner/runner.go`` lines
77-108 and their defaults ``pkg/epp/server/runserver.go`` lines 69-86; the plugin config
``apix/config/v1alpha1/endpointpickerconfig_types.go`` (``weight``: line 111); the Deployment, probes,
Service and RBAC follow the project's chart ``config/charts/inferencepool/templates`` at that tag.

Not declared by the program: ``rules.inference_pool`` refuses the switch until the gateway can route to
an InferencePool (docs/inference-routing.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from config import versions
from config.schema import InferencePoolConfig
from facts.metrics import VLLM_KV_CACHE_USAGE, VLLM_REQUESTS_WAITING
from facts.platform import system_pool_selector, system_pool_toleration
from facts.tags import k8s_labels
from sizing.deployments import ModelPlan
from sizing.workloads import MODEL_LABEL, VLLM_PORT

POOL_GROUP = "inference.networking.k8s.io"
POOL_API = f"{POOL_GROUP}/v1"
POOL_KIND = "InferencePool"
OBJECTIVE_GROUP = "inference.networking.x-k8s.io"  # InferenceObjective v1alpha2, watched by every EPP
EPP_CONFIG_API = f"{OBJECTIVE_GROUP}/v1alpha1"  # EndpointPickerConfig (a file the EPP reads, not a CRD)
READ = ("get", "watch", "list")
METRICS_NAMESPACE = "kube-system"  # the metrics scraper (ama-metrics), as for the models' NetworkPolicy
DNS_NAMESPACE = "kube-system"
EPP_GRPC_PORT = 9002  # ext_proc (runserver.go:69)
EPP_HEALTH_PORT = 9003  # gRPC health (runserver.go:70)
EPP_METRICS_PORT = 9090  # Prometheus (runserver.go:71)
EPP_UID = 65532  # the image's base, gcr.io/distroless/static:nonroot (Dockerfile at v1.0.0, line 4)
EPP_CONFIG_FILE = "plugins.yaml"
EPP_CONFIG_DIR = "/config"
# The chart's grace period: "this timeout should mirror the longest grace period of the pods within the
# pool" (templates/epp-deployment.yaml at v1.0.0).
EPP_GRACE_SECONDS = 130
PREFIX_CACHE_SCORER = "prefix-cache-scorer"  # plugins/multi/prefix/plugin.go:57
QUEUE_SCORER = "queue-scorer"  # plugins/scorer/queue.go:30
KV_CACHE_SCORER = "kv-cache-utilization-scorer"  # plugins/scorer/kvcache_utilization.go:29
# vLLM's KV-cache block: CacheConfig.DEFAULT_BLOCK_SIZE (vllm/config/cache.py:71 in the v0.31.0 wheel;
# an attention backend may prefer another, platforms/interface.py:687-697). The EPP hashes prompts in
# blocks of 64 characters, "vLLM default token block size is 16, and a good guess of average characters
# per token is 4" (plugins/multi/prefix/plugin.go:39-40): one index entry per vLLM block.
VLLM_BLOCK_TOKENS = 16


@dataclass(frozen=True)
class PoolSpec:
    """One model's pool: its name (the model's), namespace, pod selector and scoring weights."""

    model: str
    namespace: str
    settings: InferencePoolConfig
    target_port: int = VLLM_PORT
    gateway_namespace: str | None = None  # where the gateway's pods run; None: the model's namespace
    kv_cache_blocks: int | None = None  # one replica's KV cache in vLLM blocks (``kv_cache_blocks``)

    @property
    def epp(self) -> str:
        return f"{self.model}-epp"

    @property
    def selector(self) -> dict[str, str]:
        """The label every pod of the vLLM model carries (the Service selects by it too)."""
        return {MODEL_LABEL: self.model}

    @property
    def epp_selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.model, "app.kubernetes.io/component": "endpoint-picker"}

    def labels(self, component: str) -> dict[str, str]:
        return k8s_labels(self.model, component, instance=self.model)

    def epp_metadata(self) -> dict[str, Any]:
        """The metadata of every namespaced object of the picker (all named ``<model>-epp``)."""
        return {"name": self.epp, "namespace": self.namespace, "labels": self.labels("endpoint-picker")}


def kv_cache_blocks(plan: ModelPlan) -> int:
    """How many prefix blocks one replica can hold: its KV-cache budget in tokens (each GPU of a
    tensor-parallel replica holds its slice of every token) over vLLM's block size. The EPP's
    ``lruCapacityPerServer`` (default 31,250, sized for Llama 3 8B on an H100: plugin.go:47-55) should
    match it: larger, it believes in blocks the replica has evicted; smaller, it forgets ones it holds."""
    sizing = plan.sizing
    tokens = int(sizing.kv_budget_per_gpu_gib * 2**30) // max(1, sizing.kv_bytes_per_token_per_gpu)
    return max(1, tokens // VLLM_BLOCK_TOKENS)


def pool_spec(plan: ModelPlan, namespace: str, gateway_namespace: str | None = None) -> PoolSpec:
    """The pool of a planned vLLM model with ``inferencePool`` set."""
    settings = plan.config.inference_pool
    if settings is None:
        raise ValueError(f"model {plan.config.name} has no inferencePool")
    return PoolSpec(
        plan.config.name,
        namespace,
        settings,
        gateway_namespace=gateway_namespace,
        kv_cache_blocks=kv_cache_blocks(plan),
    )


def inference_pool(spec: PoolSpec) -> dict[str, Any]:
    """The InferencePool: the model's pods on vLLM's port, its EPP Service, fail closed (no EPP, no
    request: a pod chosen without scores would defeat the routing silently)."""
    return {
        "apiVersion": POOL_API,
        "kind": POOL_KIND,
        "metadata": {
            "name": spec.model,
            "namespace": spec.namespace,
            "labels": spec.labels("inference-pool"),
        },
        "spec": {
            "selector": {"matchLabels": spec.selector},
            "targetPorts": [{"number": spec.target_port}],
            "endpointPickerRef": {
                "name": spec.epp,
                "port": {"number": EPP_GRPC_PORT},
                "failureMode": "FailClose",
            },
        },
    }


def epp_plugins(settings: InferencePoolConfig, kv_cache_blocks: int | None = None) -> dict[str, Any]:
    """The EPP's EndpointPickerConfig: the scorers with a weight above 0, one profile; the EPP adds the
    ``max-score-picker`` and the single-profile handler itself (config/loader/defaults.go at v1.0.0).
    With ``kv_cache_blocks`` the prefix index holds as many blocks per replica as the replica does
    (parameter ``lruCapacityPerServer``, plugin.go:74)."""
    weights = {
        PREFIX_CACHE_SCORER: settings.prefix_cache_weight,
        QUEUE_SCORER: settings.queue_weight,
        KV_CACHE_SCORER: settings.kv_cache_weight,
    }
    used = [(name, weight) for name, weight in weights.items() if weight > 0]
    plugins: list[dict[str, Any]] = [{"type": name} for name, _ in used]
    for plugin in plugins:
        if plugin["type"] == PREFIX_CACHE_SCORER and kv_cache_blocks is not None:
            plugin["parameters"] = {"lruCapacityPerServer": kv_cache_blocks}
    return {
        "apiVersion": EPP_CONFIG_API,
        "kind": "EndpointPickerConfig",
        "plugins": plugins,
        "schedulingProfiles": [
            {"name": "default", "plugins": [{"pluginRef": name, "weight": weight} for name, weight in used]}
        ],
    }


def epp_args(spec: PoolSpec) -> list[str]:
    """The EPP's command line. vLLM v0.31.0 names its KV-cache gauge ``vllm:kv_cache_usage_perc``
    (vllm/v1/metrics/loggers.py:577 in the wheel); the EPP's default, ``vllm:gpu_cache_usage_perc``
    (runserver.go:80), no longer exists, so the KV-cache scorer would see nothing without the flag."""
    return [
        "--pool-name",
        spec.model,
        "--pool-namespace",
        spec.namespace,
        "--pool-group",
        POOL_GROUP,
        "--config-file",
        f"{EPP_CONFIG_DIR}/{EPP_CONFIG_FILE}",
        "--total-queued-requests-metric",
        VLLM_REQUESTS_WAITING,
        "--kv-cache-usage-percentage-metric",
        VLLM_KV_CACHE_USAGE,
        "--lora-info-metric",
        "",  # no LoRA adapters are served: do not scrape for them
        "--zap-encoder",
        "json",
        "--v",
        "1",
    ]


def _grpc_probe(initial: int) -> dict[str, Any]:
    # Without leader election the chart probes the "inference-extension" gRPC health service on 9003.
    return {
        "grpc": {"port": EPP_HEALTH_PORT, "service": "inference-extension"},
        "initialDelaySeconds": initial,
        "periodSeconds": 10,
    }


def epp_deployment(spec: PoolSpec) -> dict[str, Any]:
    """One EPP replica (no leader election: two would score independently) on the system pool."""
    labels = spec.labels("endpoint-picker")
    container = {
        "name": "epp",
        "image": versions.image("epp").reference,
        "imagePullPolicy": "IfNotPresent",
        "args": epp_args(spec),
        "ports": [
            {"name": "grpc", "containerPort": EPP_GRPC_PORT},
            {"name": "grpc-health", "containerPort": EPP_HEALTH_PORT},
            {"name": "metrics", "containerPort": EPP_METRICS_PORT},
        ],
        "livenessProbe": _grpc_probe(5),
        "readinessProbe": _grpc_probe(5),
        "resources": {
            "requests": {"cpu": "200m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": EPP_UID,
            "runAsGroup": EPP_UID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "plugins", "mountPath": EPP_CONFIG_DIR, "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": spec.epp_metadata(),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": spec.epp_selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": spec.epp,
                    "terminationGracePeriodSeconds": EPP_GRACE_SECONDS,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "nodeSelector": system_pool_selector(),
                    "tolerations": [dict(system_pool_toleration())],
                    "containers": [container],
                    "volumes": [{"name": "plugins", "configMap": {"name": spec.epp}}],
                },
            },
        },
    }


def epp_config_map(spec: PoolSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": spec.epp_metadata(),
        "data": {
            EPP_CONFIG_FILE: yaml.safe_dump(epp_plugins(spec.settings, spec.kv_cache_blocks), sort_keys=False)
        },
    }


def epp_service(spec: PoolSpec) -> dict[str, Any]:
    """The Service the InferencePool's ``endpointPickerRef`` names (ext_proc and metrics)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": spec.epp_metadata(),
        "spec": {
            "type": "ClusterIP",
            "selector": spec.epp_selector,
            "ports": [
                {
                    "name": "grpc-ext-proc",
                    "protocol": "TCP",
                    "port": EPP_GRPC_PORT,
                    "targetPort": EPP_GRPC_PORT,
                },
                {
                    "name": "http-metrics",
                    "protocol": "TCP",
                    "port": EPP_METRICS_PORT,
                    "targetPort": EPP_METRICS_PORT,
                },
            ],
        },
    }


def epp_rbac(spec: PoolSpec) -> list[dict[str, Any]]:
    """The EPP's ServiceAccount; in its namespace, read what its manager caches: pods, its InferencePool
    and InferenceObjectives, which it watches whether or not any exist (pkg/epp/server/
    controller_manager.go:52-79, runserver.go:114-134 at v1.0.0; templates/rbac.yaml); cluster-wide,
    create TokenReviews and SubjectAccessReviews, with which its metrics endpoint authenticates and
    authorises scrapers (runner.go:188, ``filters.WithAuthenticationAndAuthorization``)."""
    labels = spec.labels("endpoint-picker")
    meta = spec.epp_metadata()
    subject = [{"kind": "ServiceAccount", "name": spec.epp, "namespace": spec.namespace}]
    cluster_name = f"{spec.namespace}-{spec.epp}"  # ClusterRoles share one namespace-less name space
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta,
            "automountServiceAccountToken": True,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {"apiGroups": [POOL_GROUP], "resources": ["inferencepools"], "verbs": list(READ)},
                {"apiGroups": [OBJECTIVE_GROUP], "resources": ["inferenceobjectives"], "verbs": list(READ)},
                {"apiGroups": [""], "resources": ["pods"], "verbs": list(READ)},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": spec.epp},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": cluster_name, "labels": labels},
            "rules": [
                {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["subjectaccessreviews"],
                    "verbs": ["create"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": cluster_name, "labels": labels},
            "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_name},
        },
    ]


def epp_destination_rule(spec: PoolSpec) -> dict[str, Any]:
    """For the Istio gateway: TLS to the EPP without verifying its certificate. The EPP serves gRPC over
    TLS by default with a self-signed certificate (``--secure-serving``, runserver.go:76; no
    ``--cert-path`` given), so the gateway must originate TLS and cannot verify it; the project's own
    Istio manifest does the same (gateway-api-inference-extension@v1.0.0/config/manifests/gateway/
    istio/destination-rule.yaml)."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": spec.epp_metadata(),
        "spec": {
            "host": f"{spec.epp}.{spec.namespace}.svc.cluster.local",
            "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True}},
        },
    }


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _tcp(port: int) -> dict[str, Any]:
    return {"port": port, "protocol": "TCP"}


def epp_network_policy(spec: PoolSpec) -> dict[str, Any]:
    """Ingress: ext_proc from the gateway's namespace, metrics from the scraper's. Egress: DNS, the
    model's pods on vLLM's port (the EPP scrapes their /metrics) and 443 (the API server it watches)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": spec.epp_metadata(),
        "spec": {
            "podSelector": {"matchLabels": spec.epp_selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [_namespace(spec.gateway_namespace or spec.namespace)],
                    "ports": [_tcp(EPP_GRPC_PORT)],
                },
                {"from": [_namespace(METRICS_NAMESPACE)], "ports": [_tcp(EPP_METRICS_PORT)]},
            ],
            "egress": [
                {
                    "to": [_namespace(DNS_NAMESPACE)],
                    "ports": [{"port": 53, "protocol": "UDP"}, _tcp(53)],
                },
                {"to": [{"podSelector": {"matchLabels": spec.selector}}], "ports": [_tcp(spec.target_port)]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [_tcp(443)]},
            ],
        },
    }


def inference_pool_objects(spec: PoolSpec) -> list[dict[str, Any]]:
    """Everything one model's cache-aware routing needs, in apply order: RBAC, config, the pool and the
    policies before the EPP's Deployment. Without leader election the EPP's liveness and readiness are
    both "has the pool synced" (cmd/epp/runner/health.go:47-56 at v1.0.0): an EPP started long before
    its InferencePool exists is restarted by its liveness probe."""
    return [
        *epp_rbac(spec),
        epp_config_map(spec),
        epp_service(spec),
        inference_pool(spec),
        epp_network_policy(spec),
        epp_destination_rule(spec),
        epp_deployment(spec),
    ]


def pool_backend(pool: str, namespace: str | None = None) -> dict[str, Any]:
    """An HTTPRoute backendRef to an InferencePool (no port: the pool's ``targetPorts`` say it)."""
    ref: dict[str, Any] = {"group": POOL_GROUP, "kind": POOL_KIND, "name": pool}
    if namespace is not None:
        ref["namespace"] = namespace
    return ref


def route_through_pool(route: dict[str, Any], pool: str) -> dict[str, Any]:
    """The hook for ``renderers.gateway``: a copy of a model's HTTPRoute whose every rule sends to the
    model's InferencePool instead of its Service (the header and path matches and the path rewrite stay).
    A rule that goes to the KEDA HTTP add-on's interceptor (a model that scales from zero) is refused:
    the pool routes to ready pods only, so the interceptor's hold-until-ready would be bypassed."""
    rules = []
    for rule in route["spec"]["rules"]:
        (backend,) = rule["backendRefs"]
        if any(f.get("urlRewrite", {}).get("hostname") for f in rule.get("filters", [])):
            raise ValueError(f"route {route['metadata']['name']}: a model woken from zero cannot use a pool")
        rules.append({**rule, "backendRefs": [pool_backend(pool, backend.get("namespace"))]})
    return {**route, "spec": {**route["spec"], "rules": rules}}
