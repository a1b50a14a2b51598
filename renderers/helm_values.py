"""Every Helm release the program declares, with the values it passes (pure, no Pulumi).

The components (``components/gpu_pools.py``, ``components/kaito.py``, ``components/keda.py``) build
their ``Release`` values with these functions, and the offline plan renders the same charts with the
same functions (``tools/charts.py``), so what is checked is what is installed. Values that are Pulumi
outputs at run time (the cluster name, an identity's client id) are parameters; the renderer passes
placeholder strings for them (they never decide where a pod runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from config import versions
from config.catalog import Catalog
from config.schema import KaitoConfig, KedaHttpAddonConfig, StackConfig
from facts.namespaces import (
    DEVICE_PLUGIN_NAMESPACE,
    GPU_OPERATOR_NAMESPACE,
    GPU_PROVISIONER_NAMESPACE,
    HTTP_ADDON_NAMESPACE,
    KAITO_NAMESPACE,
)
from facts.platform import system_pool_selector, system_pool_toleration
from renderers.gpu_software import (
    DEVICE_PLUGIN_CHART,
    GPU_OPERATOR_CHART,
    device_plugin_values,
    kaito_gfd_values,
    operator_values,
)
from sizing.autoscaling import wake_up_sources
from sizing.deployments import ModelPlan, plan_models
from sizing.workloads import http_cold_start_wait_seconds

SYSTEM_POOL_TOLERATION = [system_pool_toleration()]
_CHART_PROVISIONER = {"gpu-provisioner": "azure-gpu-provisioner", "karpenter": "karpenter"}

GPU_PROVISIONER_SERVICE_ACCOUNT = "gpu-provisioner"  # fixed in the chart's Deployment
HTTP_ADDON_RELEASE = "keda-add-ons-http"


@dataclass(frozen=True)
class ReleaseSpec:
    """One Helm release: what the component installs and what the plan renders."""

    release: str  # Helm release name
    chart_key: str  # the key under ``charts:`` in versions.yaml
    chart: str  # chart name in its repository
    version: str
    repository: str
    namespace: str
    values: Mapping[str, Any] = field(default_factory=dict)
    config_path: str = ""  # the stack-config key that turns this release on (for error messages)


def workspace_values(
    settings: KaitoConfig, cluster_name: Any, gfd: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Helm values of the KAITO workspace chart (paths checked against charts/kaito/workspace @v0.12.0).

    ``nvidiaDevicePlugin.enabled: false``: the chart's DaemonSet (templates/nvidia-device-plugin-ds.yaml)
    lands on every Azure Linux node and tolerates the GPU taints, with no affinity value to narrow it,
    so it would be a second device plugin next to the GPU Operator's or the program's own; the
    program's device plugin serves the nodes KAITO provisions instead
    (``sizing.gpu_software.kaito_node_labels``).
    ``gfd``: values of the gpu-feature-discovery subchart, installed with disableNodeAutoProvisioning
    (``renderers.gpu_software.kaito_gfd_values``).
    """
    values: dict[str, Any] = {
        "clusterName": cluster_name,
        "featureGates": {
            "enableInferenceSetController": settings.feature_gates.inference_set,
            "enableMIG": settings.feature_gates.mig,
            "disableNodeAutoProvisioning": settings.node_provisioner == "none",
        },
        # The controller runs on the (tainted) system pool; GPU nodes are for models.
        "tolerations": SYSTEM_POOL_TOLERATION,
        "nvidiaDevicePlugin": {"enabled": False},
    }
    if settings.node_provisioner in _CHART_PROVISIONER:
        values["nodeProvisioner"] = _CHART_PROVISIONER[settings.node_provisioner]
    if settings.node_provisioner == "none" and gfd is not None:
        values["gpu-feature-discovery"] = gfd
    return values


def gpu_provisioner_values(
    client_id: Any, tenant_id: Any, cluster_name: Any, env: Mapping[str, Any]
) -> dict[str, Any]:
    """Helm values of the gpu-provisioner chart (KAITO helm mode, ``nodeProvisioner: gpu-provisioner``)."""
    return {
        # The ServiceAccount (with its client-id annotation) is ours, from WorkloadIdentity.
        "serviceAccount": {"create": False, "name": GPU_PROVISIONER_SERVICE_ACCOUNT},
        "workloadIdentity": {"clientId": client_id, "tenantId": tenant_id},
        "settings": {"azure": {"clusterName": cluster_name}},
        "controller": {"env": [{"name": k, "value": v} for k, v in env.items()]},
    }


GPU_PROVISIONER_ENV = (
    "ARM_SUBSCRIPTION_ID",
    "LOCATION",
    "AZURE_CLUSTER_NAME",
    "AZURE_NODE_RESOURCE_GROUP",
    "ARM_RESOURCE_GROUP",
)


# Where the HTTP add-on's pods run: the system pool. Its three components are small (chart 0.15.0
# requests 250m CPU / 20Mi each), the interceptor is on the request path of every model it fronts
# and must keep running while every GPU pool is at zero (it is what wakes them), which is what the
# system pool's CriticalAddonsOnly taint is for; a CPU user pool of its own would add a VM that never
# scales to zero, its quota and its upgrades, for under one vCPU of pods. Chart 0.15.0 defaults
# `tolerations: []` and `nodeSelector: {}` (values.yaml lines 72-74, 110-112, 204-206), and every
# node here is tainted, so both are set for operator, scaler and interceptor (templates/*/deployment.yaml
# read `.Values.<component>.tolerations|nodeSelector|affinity`).
SYSTEM_POOL_PLACEMENT = {
    "nodeSelector": system_pool_selector(),
    "tolerations": [system_pool_toleration()],
}
HTTP_ADDON_REPLICAS = 3  # the chart's default for the interceptor (replicas.min) and the scaler
INTERCEPTORS_PER_SYSTEM_NODE = 3  # 3 x 250m of a 4-vCPU system node at the interceptor's maximum


def _spread(component: str) -> dict[str, Any]:
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
) -> dict[str, Any]:
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
    interceptor: dict[str, Any] = {
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


def http_readiness_timeout_seconds(config: StackConfig, plans: Sequence[ModelPlan]) -> int | None:
    """The interceptor-wide readiness wait: the longest cold-start wait of the models it fronts
    (each route also carries its own); None when it fronts none (the chart's default, no limit)."""
    http = config.addons.keda.http_addon
    if not http.enabled:
        return None
    waits = [
        http_cold_start_wait_seconds(plan, http.cold_start_timeout_seconds)
        for plan in plans
        if "http" in wake_up_sources(plan, http_addon=True, queue=False)
    ]
    return max(waits, default=None)


def _placeholder(name: str) -> str:
    return f"<{name}>"


def release_specs(
    config: StackConfig, catalog: Catalog, plans: Sequence[ModelPlan] | None = None
) -> list[ReleaseSpec]:
    """Every Helm release the stack installs, in the order the program declares them (``plans``: the
    stack's model plans when the caller has them, planned here otherwise)."""
    specs: list[ReleaseSpec] = []
    gpu_nodes = "nodeProvisioning.nodePools" if config.node_provisioning.mode == "nap" else "gpuPools"
    op = operator_values(config, catalog)
    if op is not None:
        pin = versions.chart("gpu-operator")
        specs.append(
            ReleaseSpec(
                "gpu-operator", "gpu-operator", GPU_OPERATOR_CHART, pin.version, pin.repository,
                GPU_OPERATOR_NAMESPACE, op, gpu_nodes,
            )
        )  # fmt: skip
    dp = device_plugin_values(config)
    if dp is not None:
        pin = versions.chart("nvidia-device-plugin")
        specs.append(
            ReleaseSpec(
                "nvidia-device-plugin", "nvidia-device-plugin", DEVICE_PLUGIN_CHART, pin.version,
                pin.repository, DEVICE_PLUGIN_NAMESPACE, dp, gpu_nodes,
            )
        )  # fmt: skip
    kaito = config.addons.kaito
    if kaito.mode == "helm":
        pin = versions.chart("kaito-workspace")
        specs.append(
            ReleaseSpec(
                "kaito-workspace", "kaito-workspace", "workspace", kaito.chart_version, pin.repository,
                KAITO_NAMESPACE,
                workspace_values(kaito, _placeholder("clusterName"), kaito_gfd_values(config)),
                "addons.kaito",
            )
        )  # fmt: skip
        if kaito.node_provisioner == "gpu-provisioner":
            pin = versions.chart("gpu-provisioner")
            env = {k: _placeholder(k) for k in GPU_PROVISIONER_ENV}
            values = gpu_provisioner_values(
                _placeholder("clientId"), _placeholder("tenantId"), _placeholder("clusterName"), env
            )
            specs.append(
                ReleaseSpec(
                    "gpu-provisioner", "gpu-provisioner", "gpu-provisioner",
                    kaito.gpu_provisioner_chart_version, pin.repository, GPU_PROVISIONER_NAMESPACE,
                    values, "addons.kaito.nodeProvisioner",
                )
            )  # fmt: skip
    http = config.addons.keda.http_addon
    if http.enabled:
        pin = versions.chart("keda-add-ons-http")
        timeout = http_readiness_timeout_seconds(
            config, plan_models(config, catalog) if plans is None else plans
        )
        specs.append(
            ReleaseSpec(
                HTTP_ADDON_RELEASE, "keda-add-ons-http", "keda-add-ons-http", http.chart_version,
                pin.repository, HTTP_ADDON_NAMESPACE, http_addon_values(
                    http, config.cluster.system_pool.count, timeout
                ),
                "addons.keda.httpAddon",
            )
        )  # fmt: skip
    return specs
