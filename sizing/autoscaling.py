"""KEDA scaling of a model: its ScaledObject spec and triggers (pure, no Pulumi).

- ``prometheus`` on ``vllm:num_requests_waiting`` (requests vLLM could not fit in its running batch)
  from Azure Managed Prometheus, through the workload-identity TriggerAuthentication;
- ``cron`` pre-warming ``schedule.minReplicas`` in business hours;
- the async queue's triggers for the model its worker calls (``sizing/queue_worker.py``; added by
  ``components/model_common.scaled_object``);
- ``external-push`` to the KEDA HTTP add-on's scaler, for serving vLLM models when it is on.

A model at zero replicas has no pods and so no metrics: only the schedule, the queue or the HTTP
add-on (which holds the first request) can wake it. ``wake_up_sources`` names which apply.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from config.schema import ScheduleConfig
from cost.schedule import parse_days
from sizing.deployments import ModelPlan
from sizing.workloads import KAITO_PORT, cooldown_seconds, replica_floor

# Scale out when more than a tenth of one replica's batch is queued: vLLM queues a request only when
# max-num-seqs sequences already run or their KV cache is full, so a short queue already adds a whole
# generation's latency. At least 1.
WAITING_FRACTION_OF_BATCH = 0.10
POLLING_SECONDS = 30
# Scale up by at most one replica a minute (a GPU replica takes minutes to start; adding faster only
# over-provisions), down by one replica per cooldown (KAITO's own scaler is as slow to shrink).
SCALE_UP_PERIOD_SECONDS = 60
HTTP_ADDON_SCALED_OBJECT_SUFFIX = "-http"
# The HPA API's limits (autoscaling/v2 validation): a policy period <= 1800 s, a window <= 3600 s.
HPA_MAX_PERIOD_SECONDS, HPA_MAX_WINDOW_SECONDS = 1800, 3600


def waiting_threshold(plan: ModelPlan) -> int:
    """Queued requests per replica that trigger a scale-out."""
    return max(1, math.ceil(plan.sizing.max_num_seqs * WAITING_FRACTION_OF_BATCH))


def waiting_query(namespace: str, model: str) -> str:
    """PromQL over the series the model-metrics scrape jobs label with ``aks_llm_model``."""
    return f'sum(vllm:num_requests_waiting{{namespace="{namespace}",aks_llm_model="{model}"}})'


def prometheus_trigger(plan: ModelPlan, namespace: str, server_address: Any, auth: str) -> dict[str, Any]:
    return {
        "type": "prometheus",
        "name": "queue",
        "metadata": {
            "serverAddress": server_address,
            "query": waiting_query(namespace, plan.config.name),
            "threshold": str(waiting_threshold(plan)),
            "activationThreshold": "0",
            "ignoreNullValues": "true",  # no pods (scaled to zero): no series, read as 0
        },
        "authenticationRef": {"name": auth},
    }


def _cron(hhmm: str, days: str) -> str:
    hours, minutes = hhmm.split(":")
    return f"{int(minutes)} {int(hours)} * * {days}"


def cron_window(schedule: ScheduleConfig) -> tuple[str, str]:
    """KEDA cron ``start``/``end`` of the business-hours window; a window ending at or before its
    start ends the next day."""
    if schedule.end > schedule.start:
        return _cron(schedule.start, schedule.days), _cron(schedule.end, schedule.days)
    next_days = ",".join(str(d) for d in sorted({(d + 1) % 7 for d in parse_days(schedule.days)}))
    return _cron(schedule.start, schedule.days), _cron(schedule.end, next_days)


def cron_trigger(schedule: ScheduleConfig) -> dict[str, Any]:
    start, end = cron_window(schedule)
    return {
        "type": "cron",
        "name": "business-hours",
        "metadata": {
            "timezone": schedule.timezone,
            "start": start,
            "end": end,
            "desiredReplicas": str(schedule.min_replicas),
        },
    }


def http_trigger(plan: ModelPlan, scaler_address: str) -> dict[str, Any]:
    return {
        "type": "external-push",
        "name": "http",
        "metadata": {
            "scalerAddress": scaler_address,
            "httpScaledObject": plan.config.name + HTTP_ADDON_SCALED_OBJECT_SUFFIX,
        },
    }


def scaled_object_spec(
    plan: ModelPlan, target: dict[str, str], triggers: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ScaledObject ``spec``: floor and ceiling from the plan, a cooldown longer than the longest
    generation, and a scale-down of one replica per cooldown."""
    cooldown = cooldown_seconds(plan)
    return {
        "scaleTargetRef": target,
        "minReplicaCount": replica_floor(plan),
        "maxReplicaCount": plan.replicas_max,
        "pollingInterval": POLLING_SECONDS,
        "cooldownPeriod": cooldown,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": 0,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": SCALE_UP_PERIOD_SECONDS}],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": min(cooldown, HPA_MAX_WINDOW_SECONDS),
                        "policies": [
                            {
                                "type": "Pods",
                                "value": 1,
                                "periodSeconds": min(cooldown, HPA_MAX_PERIOD_SECONDS),
                            }
                        ],
                    },
                }
            }
        },
        "triggers": triggers,
    }


def wake_up_sources(plan: ModelPlan, *, http_addon: bool, queue: bool) -> list[str]:
    """What can scale the model up from zero replicas (empty when it never sits at zero).
    ``queue``: the async queue's worker calls this model (``sizing.queue_worker.queue_target``)."""
    cfg = plan.config
    sources = []
    if cfg.schedule is not None:
        sources.append("schedule")
    if queue and cfg.purpose == "batch":
        sources.append("queue")
    if http_addon and cfg.runtime == "vllm" and cfg.purpose == "serving":
        sources.append("http")
    return sources


# --- getting the metric into Azure Managed Prometheus ------------------------------------------------

# The metrics add-on (ama-metrics) reads custom scrape jobs from the ConfigMap
# `ama-metrics-prometheus-config` (key `prometheus-config`) in kube-system and applies them cluster-wide
# (Microsoft Learn, "Customize scraping of Prometheus metrics in Azure Monitor managed service for
# Prometheus", prometheus-metrics-scrape-configuration). It is one object per cluster: add further jobs
# to ``scrape_jobs`` rather than declaring a second ConfigMap.
AMA_METRICS_CONFIG_MAP = "ama-metrics-prometheus-config"
AMA_METRICS_KEY = "prometheus-config"
SCRAPE_INTERVAL = "15s"


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
        {"source_labels": ["__meta_kubernetes_pod_label_aks_llm_model"], "target_label": "aks_llm_model"}
    )
    kaito = _pod_job(
        "aks-llm-kaito",
        namespace,
        [
            "__meta_kubernetes_pod_label_kaito_sh_workspace",
            "__meta_kubernetes_pod_container_port_number",
            "__meta_kubernetes_pod_label_apps_kubernetes_io_pod_index",
        ],
        f".+;{KAITO_PORT};0",
    )
    kaito["relabel_configs"] += [
        {
            "source_labels": ["__meta_kubernetes_pod_label_kaito_sh_workspace"],
            "regex": "(.+)-ws",
            "replacement": "$1",
            "target_label": "aks_llm_model",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_label_inferenceset_kaito_sh_created_by"],
            "regex": "(.+)",
            "replacement": "$1",
            "target_label": "aks_llm_model",
        },
    ]
    return [vllm, kaito]


def prometheus_config(namespace: str) -> str:
    """The ``prometheus-config`` text of the ama-metrics ConfigMap."""
    return yaml.safe_dump({"scrape_configs": scrape_jobs(namespace)}, sort_keys=False)
