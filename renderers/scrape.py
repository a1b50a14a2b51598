"""The scrape jobs that get the models' metrics into Azure Managed Prometheus (pure, no Pulumi).

``components/model_services.py`` puts ``prometheus_config`` in the ama-metrics ConfigMap; the series
carry ``aks_llm_model``, which the load recording rule keeps and the KEDA load query selects on
(``renderers/autoscaling.py``).
"""

from __future__ import annotations

from typing import Any

import yaml

from facts.namespaces import GPU_OPERATOR_NAMESPACE
from sizing.workloads import KAITO_PORT

# The metrics add-on (ama-metrics) reads custom scrape jobs from the ConfigMap
# `ama-metrics-prometheus-config` (key `prometheus-config`) in kube-system and applies them cluster-wide
# (Microsoft Learn, "Customize scraping of Prometheus metrics in Azure Monitor managed service for
# Prometheus", prometheus-metrics-scrape-configuration). It is one object per cluster: add further jobs
# to ``scrape_jobs`` rather than declaring a second ConfigMap.
AMA_METRICS_CONFIG_MAP = "ama-metrics-prometheus-config"
AMA_METRICS_KEY = "prometheus-config"
SCRAPE_INTERVAL = "15s"
MODEL_LABEL = "aks_llm_model"  # the stack's model name on every series of the model's pods


def _pod_job(name: str, namespace: str, keep_labels: list[str], keep_regex: str) -> dict[str, Any]:
    return {
        "job_name": name,
        "scrape_interval": SCRAPE_INTERVAL,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
        "relabel_configs": [
            {"source_labels": keep_labels, "regex": keep_regex, "action": "keep"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }


def scrape_jobs(namespace: str) -> list[dict[str, Any]]:
    """Two pod jobs in the inference namespace, each labelling series with the model's stack name
    (``aks_llm_model``) so one query shape serves both runtimes.

    vLLM pods: label ``aks-llm/model``, container port ``http`` (8000). KAITO pods: label
    ``kaito.sh/workspace``, container port number 5000 (KAITO declares it without a name,
    pkg/workspace/inference/preset_inferences.go), leader pod (index 0) only; the model is the
    InferenceSet's name (``inferenceset.kaito.sh/created-by``) or the Workspace name less ``-ws``.
    """
    vllm = _pod_job(
        "aks-llm-vllm",
        namespace,
        ["__meta_kubernetes_pod_label_aks_llm_model", "__meta_kubernetes_pod_container_port_name"],
        ".+;http",
    )
    vllm["relabel_configs"].append(
        {"source_labels": ["__meta_kubernetes_pod_label_aks_llm_model"], "target_label": MODEL_LABEL}
    )
    kaito = _pod_job(
        "aks-llm-kaito",
        namespace,
        [
            "__meta_kubernetes_pod_label_kaito_sh_workspace",
            "__meta_kubernetes_pod_container_port_number",
            "__meta_kubernetes_pod_label_apps_kubernetes_io_pod_index",
        ],
        # the leader (pod index 0) of a StatefulSet replica, or a Deployment pod (no index: KAITO 0.6.0)
        f".+;{KAITO_PORT};(0|)",
    )
    kaito["relabel_configs"] += [
        {
            "source_labels": ["__meta_kubernetes_pod_label_kaito_sh_workspace"],
            "regex": "(.+)-ws",
            "replacement": "$1",
            "target_label": MODEL_LABEL,
        },
        {
            "source_labels": ["__meta_kubernetes_pod_label_inferenceset_kaito_sh_created_by"],
            "regex": "(.+)",
            "replacement": "$1",
            "target_label": MODEL_LABEL,
        },
    ]
    return [vllm, kaito]


# The GPU Operator's DCGM exporter: DaemonSet `nvidia-dcgm-exporter`, pods labelled
# `app: nvidia-dcgm-exporter`, container port `metrics` 9400, the collectors file
# /etc/dcgm-exporter/dcp-metrics-included.csv, and DCGM_EXPORTER_KUBERNETES=true (each GPU's series
# carry the pod, namespace and container using it): read at NVIDIA/gpu-operator@06faaf0c
# assets/state-dcgm-exporter/0800_daemonset.yaml lines 13-17 and 41-54. The operator's own
# ServiceMonitor (chart values.yaml:326, monitoring.coreos.com) is not read by the metrics add-on,
# which only reads its azmonitoring.coreos.com CRDs and this ConfigMap: hence a job here.
DCGM_EXPORTER_APP = "nvidia-dcgm-exporter"
DCGM_EXPORTER_PORT_NAME = "metrics"


def dcgm_exporter_job() -> dict[str, Any]:
    """The GPU Operator's DCGM exporter pods (operator-driver nodes only), with the node they run on."""
    return {
        "job_name": "aks-llm-dcgm-exporter",
        "scrape_interval": SCRAPE_INTERVAL,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [GPU_OPERATOR_NAMESPACE]}}],
        "relabel_configs": [
            {
                "source_labels": [
                    "__meta_kubernetes_pod_label_app",
                    "__meta_kubernetes_pod_container_port_name",
                ],
                "regex": f"{DCGM_EXPORTER_APP};{DCGM_EXPORTER_PORT_NAME}",
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "node"},
        ],
    }


def prometheus_config(namespace: str, *, gpu_operator: bool = False) -> str:
    """The ``prometheus-config`` text of the ama-metrics ConfigMap; ``gpu_operator``: the stack runs the
    GPU Operator, whose DCGM exporter is scraped too (managed-driver pools have no DCGM exporter: AKS
    runs one only on its opt-in fully managed GPU pools, ``sizing/node_groups.py``)."""
    jobs = scrape_jobs(namespace) + ([dcgm_exporter_job()] if gpu_operator else [])
    return yaml.safe_dump({"scrape_configs": jobs}, sort_keys=False)
