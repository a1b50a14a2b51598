"""The values the program passes to the KEDA HTTP add-on chart 0.15.0 and the KAITO workspace chart
0.12.0, rendered by the real Helm engine (helm-python-sdk) from the upstream chart sources in
``../shared/charts``: the HTTP add-on's pods land on the tainted system pool, KAITO's chart brings
no second device plugin, NFD or GFD."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.schema import KaitoConfig, KedaHttpAddonConfig, StackConfig
from renderers.gpu_software import device_plugin_values, kaito_gfd_values
from renderers.helm_values import http_addon_values, workspace_values
from sizing.gpu_software import kaito_node_labels, kaito_provisions_nodes
from tests.conftest import ROOT

CHARTS = ROOT.parent / "shared" / "charts"
HTTP_CHART = CHARTS / "keda-add-ons-http-0.15.0"
KAITO_CHART = CHARTS / "kaito-workspace-0.12.0"
requires_charts = pytest.mark.skipif(
    not CHARTS.is_dir() or importlib.util.find_spec("helm_python") is None,
    reason="../shared/charts (upstream chart sources) or helm-python-sdk is missing: the charts are on "
    "team machines only",
)

SYSTEM_NODE = {
    "labels": {"kubernetes.azure.com/mode": "system", "kubernetes.io/os": "linux"},
    "taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
}


def render(chart: Path, values: dict[str, Any], name: str, namespace: str) -> list[dict[str, Any]]:
    """Every object the chart renders (a fresh Chart per render: SOURCES.md, stale re-renders)."""
    import helm_python

    files = helm_python.Chart.load(str(chart)).render(values, name=name, namespace=namespace)
    docs: list[dict[str, Any]] = []
    for path, text in files.items():
        if path.endswith(".txt"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    """Kubernetes' toleration match (pkg/apis/core/v1/helper ToleratesTaint), for NoSchedule taints."""
    for t in tolerations:
        if t.get("effect") not in (None, "", taint["effect"]):
            continue
        if t.get("key") not in (None, "", taint["key"]) or (
            not t.get("key") and t.get("operator") != "Exists"
        ):
            continue
        if t.get("operator", "Equal") == "Exists" or t.get("value") == taint["value"]:
            return True
    return False


def schedules_on(spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """nodeSelector, required node affinity (In / Exists / DoesNotExist) and taints of one node."""
    labels = node["labels"]
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (
        (spec.get("affinity") or {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution")
    )
    if required:

        def matches(expr: dict[str, Any]) -> bool:
            op, key, values = str(expr["operator"]), str(expr["key"]), list(expr.get("values") or [])
            if op == "In":
                return labels.get(key) in values
            if op == "NotIn":
                return labels.get(key) not in values
            return (key in labels) == (op == "Exists")

        if not any(
            all(matches(e) for e in term.get("matchExpressions", []))
            for term in required["nodeSelectorTerms"]
        ):
            return False
    return all(tolerates(spec.get("tolerations") or [], taint) for taint in node["taints"])


# --- KEDA HTTP add-on --------------------------------------------------------------------------------


def http_docs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return render(HTTP_CHART, values, "keda-add-ons-http", "keda")


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@requires_charts
def test_chart_defaults_leave_the_http_add_on_unschedulable_on_tainted_nodes() -> None:
    """The defect: chart 0.15.0 renders no tolerations (values.yaml lines 74, 112, 206)."""
    deployments = by_kind(http_docs({}), "Deployment")
    assert len(deployments) == 3
    assert not any(schedules_on(pod_spec(d), SYSTEM_NODE) for d in deployments.values())


@requires_charts
@pytest.mark.parametrize("system_nodes", [1, 3])
def test_http_add_on_runs_on_the_system_pool_with_replicas_it_can_hold(system_nodes: int) -> None:
    values = http_addon_values(KedaHttpAddonConfig(), system_nodes, readiness_timeout_seconds=1980)
    docs = http_docs(values)
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {
        "keda-add-ons-http-controller-manager",
        "keda-add-ons-http-external-scaler",
        "keda-add-ons-http-interceptor",
    }
    for deployment in deployments.values():
        assert schedules_on(pod_spec(deployment), SYSTEM_NODE), deployment["metadata"]["name"]
    replicas = min(3, system_nodes)
    assert deployments["keda-add-ons-http-external-scaler"]["spec"]["replicas"] == replicas
    (interceptor_scaling,) = by_kind(docs, "ScaledObject").values()
    assert interceptor_scaling["spec"]["minReplicaCount"] == replicas  # not the chart's 3 on one node
    assert interceptor_scaling["spec"]["maxReplicaCount"] == 3 * system_nodes
    (pdb,) = by_kind(docs, "PodDisruptionBudget").values()
    assert pdb["spec"] == {**pdb["spec"], "maxUnavailable": 1} and "minAvailable" not in pdb["spec"]
    spread = pod_spec(deployments["keda-add-ons-http-interceptor"])["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in spread  # a one-node pool still scales
    env = {
        e["name"]: e.get("value")
        for e in pod_spec(deployments["keda-add-ons-http-interceptor"])["containers"][0]["env"]
    }
    assert env["KEDA_HTTP_READINESS_TIMEOUT"] == "1980s"
    assert env["KEDA_HTTP_RESPONSE_HEADER_TIMEOUT"] == "300s"
    assert (
        "KEDA_CONDITION_WAIT_TIMEOUT" not in env
    )  # the deprecated variable (interceptor/config/timeouts.go)


@requires_charts
def test_no_readiness_timeout_when_no_model_is_fronted() -> None:
    values = http_addon_values(KedaHttpAddonConfig(), 1, readiness_timeout_seconds=None)
    interceptor = by_kind(http_docs(values), "Deployment")["keda-add-ons-http-interceptor"]
    env = {e["name"] for e in pod_spec(interceptor)["containers"][0]["env"]}
    assert "KEDA_HTTP_READINESS_TIMEOUT" not in env


# --- KAITO workspace chart ---------------------------------------------------------------------------

BASE = {"location": "swedencentral"}
MANAGED_POOL = {"name": "a10", "vmSize": "Standard_NV36ads_A10_v5", "onDemand": {"min": 0, "max": 1}}
OPERATOR_POOL = {**MANAGED_POOL, "name": "op", "driver": "operator"}
KAITO_MODEL = {"name": "k", "model": "phi-4-mini-instruct", "runtime": "kaito", "pool": "a10"}


def stack(kaito: dict[str, Any], pools: list[dict[str, Any]]) -> StackConfig:
    return StackConfig.model_validate(
        {**BASE, "gpuPools": pools, "models": [KAITO_MODEL], "addons": {"kaito": kaito}}
    )


def kaito_docs(config: StackConfig) -> list[dict[str, Any]]:
    values = workspace_values(config.addons.kaito, "aks", kaito_gfd_values(config))
    return render(KAITO_CHART, values, "kaito-workspace", "kaito-workspace")


def daemonsets(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return by_kind(docs, "DaemonSet")


@requires_charts
def test_kaito_chart_defaults_bring_a_device_plugin_to_every_node() -> None:
    """The defect: nvidiaDevicePlugin.enabled defaults to true (values.yaml line 79)."""
    docs = render(KAITO_CHART, {}, "kaito-workspace", "kaito-workspace")
    assert "nvidia-device-plugin-daemonset" in daemonsets(docs)


@requires_charts
@pytest.mark.parametrize("provisioner", ["gpu-provisioner", "none"])
def test_kaito_chart_renders_no_device_plugin(provisioner: str) -> None:
    config = stack({"mode": "helm", "nodeProvisioner": provisioner}, [MANAGED_POOL])
    docs = kaito_docs(config)
    names = set(daemonsets(docs))
    assert "nvidia-device-plugin-daemonset" not in names
    # and the gpu-feature-discovery subchart's own device plugin stays off (its devicePlugin.enabled)
    assert not [n for n in names if "device-plugin" in n], names


@requires_charts
def test_kaito_gfd_on_byo_nodes_beside_the_gpu_operator_has_no_nfd_and_only_managed_nodes() -> None:
    config = stack({"mode": "helm", "nodeProvisioner": "none"}, [MANAGED_POOL, OPERATOR_POOL])
    docs = kaito_docs(config)
    sets = daemonsets(docs)
    assert not [n for n in sets if "node-feature-discovery" in n or "nfd" in n], set(sets)
    assert not by_kind(docs, "Deployment").keys() & {"kaito-workspace-node-feature-discovery-master"}
    (gfd,) = [d for n, d in sets.items() if "gpu-feature-discovery" in n]
    spec = pod_spec(gfd)
    gpu_taint = {"key": "sku", "value": "gpu", "effect": "NoSchedule"}
    managed = {"labels": {"aks-llm/gpu-driver": "managed"}, "taints": [gpu_taint]}
    operator = {
        "labels": {
            "aks-llm/gpu-driver": "operator",
            "nvidia.com/gpu.present": "true",
            "feature.node.kubernetes.io/pci-10de.present": "true",
        },
        "taints": [gpu_taint],
    }
    assert schedules_on(spec, managed)  # where no other GFD runs (the device plugin's gfd is off)
    assert not schedules_on(spec, operator)  # the GPU Operator's GFD is there


@requires_charts
def test_kaito_gfd_without_the_gpu_operator_brings_the_only_nfd_to_the_gpu_nodes() -> None:
    config = stack({"mode": "helm", "nodeProvisioner": "none"}, [MANAGED_POOL])
    docs = kaito_docs(config)
    workers = [d for n, d in daemonsets(docs).items() if "worker" in n]
    assert len(workers) == 1
    gpu_node = {
        "labels": {"aks-llm/gpu-driver": "managed"},
        "taints": [{"key": "sku", "value": "gpu", "effect": "NoSchedule"}],
    }
    assert schedules_on(pod_spec(workers[0]), gpu_node)
    masters = [d for n, d in by_kind(docs, "Deployment").items() if "master" in n]
    assert masters and all(schedules_on(pod_spec(m), SYSTEM_NODE) for m in masters)


def test_program_device_plugin_serves_the_nodes_kaito_provisions() -> None:
    """With KAITO's device plugin off, the nodes KAITO's chart provisions get the program's: KAITO
    labels its nodes with resource.labelSelector, which carries the managed-driver label the device
    plugin's affinity selects, and the GPU Operator's opt-out."""
    for provisioner in ("gpu-provisioner", "karpenter"):
        config = stack({"mode": "helm", "nodeProvisioner": provisioner}, [OPERATOR_POOL | {"name": "a10"}])
        assert kaito_provisions_nodes(config)
        values = device_plugin_values(config)
        assert values is not None  # even with no managed-driver pool
        labels = kaito_node_labels(config)
        assert labels == {"aks-llm/gpu-driver": "managed", "nvidia.com/gpu.deploy.operands": "false"}
        taints = [{"key": "sku", "value": "gpu", "effect": "NoSchedule"}]
        if provisioner == "karpenter":  # KAITO's NodeClaims (the chart's device plugin tolerated it)
            taints.append({"key": "karpenter.kaito.sh/workspace", "value": "", "effect": "NoSchedule"})
        assert schedules_on(values, {"labels": labels, "taints": taints})
    managed = stack({}, [OPERATOR_POOL | {"name": "a10"}])
    assert kaito_node_labels(managed) == {} and device_plugin_values(managed) is None
    assert KaitoConfig().mode == "managed"
