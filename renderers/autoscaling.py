"""A model's KEDA ScaledObject spec and triggers, rendered from its ``ModelPlan`` (pure, no Pulumi).

- ``prometheus`` on the model's load, running + waiting requests summed over its pods
  (``vllm:num_requests_running`` + ``vllm:num_requests_waiting``), against a per-replica target of 90 %
  of max-num-seqs (``AverageValue``), from Azure Managed Prometheus through the workload-identity
  TriggerAuthentication (``sizing/autoscaling.py`` says why this signal and not the queue alone);
- ``cron`` pre-warming ``schedule.minReplicas`` in business hours;
- the async queue's triggers for the model its worker calls (``renderers/queue_worker.py``; added by
  ``components/model_common.scaled_object``);
- ``external-push`` to the KEDA HTTP add-on's scaler, for serving vLLM models when it is on.
"""

from __future__ import annotations

from typing import Any

from config.schema import ScheduleConfig
from sizing.autoscaling import (
    HTTP_ADDON_SCALED_OBJECT_SUFFIX,
    LOAD_ACTIVATION_THRESHOLD,
    LOAD_METRICS,
    load_target,
)
from sizing.business_hours import parse_days
from sizing.deployments import ModelPlan
from sizing.workloads import cooldown_seconds, replica_floor

POLLING_SECONDS = 30
# Scale up by at most one replica a minute (a GPU replica takes minutes to start; adding faster only
# over-provisions), down by one replica per cooldown (KAITO's own scaler is as slow to shrink).
SCALE_UP_PERIOD_SECONDS = 60
# The HPA API's limits (autoscaling/v2 validation): a policy period <= 1800 s, a window <= 3600 s.
HPA_MAX_PERIOD_SECONDS, HPA_MAX_WINDOW_SECONDS = 1800, 3600


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
