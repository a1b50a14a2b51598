"""Every Helm release the program declares, with the values it passes (pure, no Pulumi).

The components (``components/gpu_pools.py``, ``components/kaito.py``, ``components/keda.py``) build
their ``Release`` values with these functions, and the offline plan renders the same charts with the
same functions (``tools/charts.py``), so what is checked is what is installed. Values that are Pulumi
outputs at run time (the cluster name, an identity's client id) are parameters; the renderer passes
placeholder strings for them (they never decide where a pod runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config import versions
from config.catalog import Catalog
from config.gpu_software import (
    DEVICE_PLUGIN_CHART,
    GPU_OPERATOR_CHART,
    device_plugin_values,
    operator_values,
)
from config.namespaces import (
    DEVICE_PLUGIN_NAMESPACE,
    GPU_OPERATOR_NAMESPACE,
    GPU_PROVISIONER_NAMESPACE,
    HTTP_ADDON_NAMESPACE,
    KAITO_NAMESPACE,
)
from config.schema import KaitoConfig, KedaHttpAddonConfig, StackConfig

SYSTEM_POOL_TOLERATION = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
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


def workspace_values(settings: KaitoConfig, cluster_name: Any) -> dict[str, Any]:
    """Helm values of the KAITO workspace chart."""
    values: dict[str, Any] = {
        "clusterName": cluster_name,
        "featureGates": {
            "enableInferenceSetController": settings.feature_gates.inference_set,
            "enableMIG": settings.feature_gates.mig,
            "disableNodeAutoProvisioning": settings.node_provisioner == "none",
        },
        # The controller runs on the (tainted) system pool; GPU nodes are for models.
        "tolerations": SYSTEM_POOL_TOLERATION,
    }
    if settings.node_provisioner in _CHART_PROVISIONER:
        values["nodeProvisioner"] = _CHART_PROVISIONER[settings.node_provisioner]
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


def http_addon_values(settings: KedaHttpAddonConfig) -> dict[str, Any]:
    """Helm values of the KEDA HTTP add-on chart."""
    return {
        "interceptor": {
            # How long a request waits for the first replica (a GPU node from zero takes minutes).
            "replicas": {"waitTimeout": f"{settings.cold_start_timeout_seconds}s"},
            # The chart's 500 ms default fails any non-streamed completion.
            "responseHeaderTimeout": f"{settings.response_header_timeout_seconds}s",
        },
    }


def _placeholder(name: str) -> str:
    return f"<{name}>"


def release_specs(config: StackConfig, catalog: Catalog) -> list[ReleaseSpec]:
    """Every Helm release the stack installs, in the order the program declares them."""
    specs: list[ReleaseSpec] = []
    op = operator_values(config, catalog)
    if op is not None:
        pin = versions.chart("gpu-operator")
        specs.append(
            ReleaseSpec(
                "gpu-operator", "gpu-operator", GPU_OPERATOR_CHART, pin.version, pin.repository,
                GPU_OPERATOR_NAMESPACE, op, "gpuPools",
            )
        )  # fmt: skip
    dp = device_plugin_values(config)
    if dp is not None:
        pin = versions.chart("nvidia-device-plugin")
        specs.append(
            ReleaseSpec(
                "nvidia-device-plugin", "nvidia-device-plugin", DEVICE_PLUGIN_CHART, pin.version,
                pin.repository, DEVICE_PLUGIN_NAMESPACE, dp, "gpuPools",
            )
        )  # fmt: skip
    kaito = config.addons.kaito
    if kaito.mode == "helm":
        pin = versions.chart("kaito-workspace")
        specs.append(
            ReleaseSpec(
                "kaito-workspace", "kaito-workspace", "workspace", kaito.chart_version, pin.repository,
                KAITO_NAMESPACE, workspace_values(kaito, _placeholder("clusterName")), "addons.kaito",
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
        specs.append(
            ReleaseSpec(
                HTTP_ADDON_RELEASE, "keda-add-ons-http", "keda-add-ons-http", http.chart_version,
                pin.repository, HTTP_ADDON_NAMESPACE, http_addon_values(http), "addons.keda.httpAddon",
            )
        )  # fmt: skip
    return specs
