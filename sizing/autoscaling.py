"""KEDA scaling of a model: its ScaledObject spec and triggers (pure, no Pulumi).

- ``prometheus`` on the model's load, running + waiting requests summed over its pods
  (``vllm:num_requests_running`` + ``vllm:num_requests_waiting``), against a per-replica target of 90 %
  of max-num-seqs (``AverageValue``), from Azure Managed Prometheus through the workload-identity
  TriggerAuthentication (see ``load_query`` for why this signal and not the queue alone);
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
from sizing.deployments import ModelPlan
from sizing.schedule import parse_days
from sizing.workloads import KAITO_PORT, cooldown_seconds, replica_floor

# The load signal. vLLM's gauges (vllm/v1/metrics/loggers.py, v0.11.0: `vllm:num_requests_running`,
# "Number of requests in model execution batches", and `vllm:num_requests_waiting`, "Number of requests
# waiting to be processed") split one quantity: the requests a replica holds. The queue alone is 0 on a
# server running up to max-num-seqs requests (KEDA would read it as idle and scale it to zero), and it
# drops to 0 as soon as a new replica absorbs it (the HPA would then remove that replica again, and the
# queue would come back: oscillation). Running + waiting, summed over the model's pods, is the offered
# concurrency, which does not change when replicas are added or removed; divided by a per-replica
# target it gives a replica count that holds while the load holds (``hpa_desired_replicas``).
# Target: 90 % of one replica's batch, so a replica scales out before its batch is full and the queue
# grows, and the HPA's 10 % tolerance cannot leave a full batch plus a queue in place.
LOAD_TARGET_FRACTION_OF_BATCH = 0.90
LOAD_METRICS = ("vllm:num_requests_running", "vllm:num_requests_waiting")
# KEDA's Prometheus scaler is active when the value is strictly above activationThreshold
# (kedacore/keda pkg/scalers/prometheus_scaler.go GetMetricsAndActivity: `val > ActivationThreshold`):
# 0 keeps the model active while any request runs or waits.
LOAD_ACTIVATION_THRESHOLD = 0
# The HPA's arithmetic the design is checked against (kubernetes/kubernetes
# pkg/controller/podautoscaler/replica_calculator.go GetExternalPerPodMetricReplicas, an External metric
# with an AverageValue target: usageRatio = total / (target x current replicas); replicas change to
# ceil(total / target) only when |1 - usageRatio| > tolerance; --horizontal-pod-autoscaler-tolerance 0.1).
HPA_TOLERANCE = 0.10
POLLING_SECONDS = 30
# Scale up by at most one replica a minute (a GPU replica takes minutes to start; adding faster only
# over-provisions), down by one replica per cooldown (KAITO's own scaler is as slow to shrink).
SCALE_UP_PERIOD_SECONDS = 60
HTTP_ADDON_SCALED_OBJECT_SUFFIX = "-http"
# The HPA API's limits (autoscaling/v2 validation): a policy period <= 1800 s, a window <= 3600 s.
HPA_MAX_PERIOD_SECONDS, HPA_MAX_WINDOW_SECONDS = 1800, 3600


def load_target(plan: ModelPlan) -> int:
    """Requests (running + waiting) per replica the autoscaler aims at: 90 % of max-num-seqs, >= 1."""
    return max(1, math.floor(plan.sizing.max_num_seqs * LOAD_TARGET_FRACTION_OF_BATCH))


def load_query(namespace: str, model: str) -> str:
    """PromQL: running + waiting requests over every pod of the model, one number (KEDA refuses a query
    returning several series). One selector on ``__name__`` sums both gauges, so a missing gauge cannot
    turn the sum empty (``a + b`` is empty when either side is); the scrape jobs label series with
    ``aks_llm_model``."""
    names = "|".join(LOAD_METRICS)
    return f'sum({{__name__=~"{names}",namespace="{namespace}",aks_llm_model="{model}"}})'


def prometheus_trigger(plan: ModelPlan, namespace: str, server_address: Any, auth: str) -> dict[str, Any]:
    return {
        "type": "prometheus",
        "name": "load",
        # AverageValue: the HPA divides the total by the target per replica (KEDA's default for this
        # scaler, stated so a default change cannot turn it into a cluster-wide Value target).
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": server_address,
            "query": load_query(namespace, plan.config.name),
            "threshold": str(load_target(plan)),
            "activationThreshold": str(LOAD_ACTIVATION_THRESHOLD),
            "ignoreNullValues": "true",  # no pods (scaled to zero): no series, read as 0
        },
        "authenticationRef": {"name": auth},
    }


# --- the HPA's arithmetic, to check the design against (pure) ---------------------------------------


def keda_active(value: float, activation_threshold: float = LOAD_ACTIVATION_THRESHOLD) -> bool:
    """KEDA's Prometheus activity test: ``val > activationThreshold`` (prometheus_scaler.go)."""
    return value > activation_threshold


def hpa_desired_replicas(
    current: int, metric_total: float, target: float, tolerance: float = HPA_TOLERANCE
) -> int:
    """The HPA's recommendation for an External ``AverageValue`` metric: ``ceil(total / target)``,
    unless the usage ratio ``total / (target x current)`` is within the tolerance of 1."""
    if current == 0:
        return math.ceil(metric_total / target)
    ratio = metric_total / (target * current)
    if abs(ratio - 1.0) <= tolerance:
        return current
    return math.ceil(metric_total / target)


def simulate_hpa(
    loads: list[float],
    *,
    target: float,
    max_num_seqs: int,
    min_replicas: int,
    max_replicas: int,
    start: int,
    step_seconds: int,
    scale_down_window_seconds: int,
    scale_up_pods_per_minute: int = 1,
    signal: str = "load",
) -> list[int]:
    """Replica counts, one per step, of an HPA following ``loads`` (offered concurrent requests per step).

    ``signal`` is what the metric reads given the load and the replicas serving it: ``"load"`` (running
    + waiting: the load itself) or ``"waiting"`` (the old queue-only signal: what does not fit in the
    replicas' batches). Scale-down uses the highest recommendation of the stabilisation window and at
    most one pod per window (the ScaledObject's policy); scale-up at most ``scale_up_pods_per_minute``.
    """
    replicas = start
    history: list[int] = []
    out: list[int] = []
    since_down = scale_down_window_seconds
    since_up = 60
    window = max(1, scale_down_window_seconds // step_seconds)
    for load in loads:
        metric = load if signal == "load" else max(0.0, load - replicas * max_num_seqs)
        wanted = hpa_desired_replicas(replicas, metric, target)
        wanted = max(min_replicas, min(max_replicas, wanted))
        history = [*history, wanted][-window:]
        since_down += step_seconds
        since_up += step_seconds
        if wanted > replicas:
            if since_up >= 60:  # the scale-up policy: at most N pods per 60 s
                replicas = min(wanted, replicas + scale_up_pods_per_minute)
                since_up = 0
        elif max(history) < replicas and since_down >= scale_down_window_seconds:
            replicas -= 1  # the scale-down policy: one pod per window, after the window's highest
            since_down = 0
        out.append(replicas)
    return out


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
        # the leader (pod index 0) of a StatefulSet replica, or a Deployment pod (no index: KAITO 0.6.0)
        f".+;{KAITO_PORT};(0|)",
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
