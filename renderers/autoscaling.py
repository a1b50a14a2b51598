"""A model's KEDA ScaledObject spec and triggers, rendered from its ``ModelPlan`` (pure, no Pulumi).

- ``prometheus`` on the model's load, running + waiting requests summed over its pods
  (``vllm:num_requests_running`` + ``vllm:num_requests_waiting``, summed per model by the recording
  rule ``load_recording_rule`` that ``components/prometheus_rules.py`` puts on the Azure Monitor
  workspace), against a per-replica target of 90 % of max-num-seqs (``AverageValue``), from Azure
  Managed Prometheus through the workload-identity TriggerAuthentication (``sizing/autoscaling.py``
  says why this signal and not the queue alone);
- ``cron`` pre-warming ``schedule.minReplicas`` in business hours;
- the async queue's triggers for the model its worker calls (``renderers/queue_worker.py``; added by
  ``components/model_common.scaled_object``);
- ``external-push`` to the KEDA HTTP add-on's scaler, for serving vLLM models when it is on.
"""

from __future__ import annotations

from typing import Any

from config.schema import ScheduleConfig
from renderers.scrape import MODEL_LABEL
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


# Azure Monitor's Prometheus query API takes exactly one `__name__` matcher per query ("Any time-series
# fetch queries ... must contain a __name__ label matcher ... There can be only one __name__ label matcher
# in a query": MicrosoftDocs/azure-monitor-docs articles/azure-monitor/metrics/prometheus-api-promql.md,
# "API limitations"), so the KEDA trigger cannot sum two gauges with a `{__name__=~"a|b"}` selector. A
# recording rule on the workspace sums them per model (prometheus-rule-groups.md: "store their result as
# a new set of time series ... ingested back to your Azure Monitor workspace"), and the trigger reads
# the one recorded metric by its name. The rule-groups page says nothing of `__name__` regexes in rule
# expressions, and its examples select each series by its metric name: the rule does the same. So do
# Microsoft's own recommended recording rules for AKS (read at Azure/prometheus-collector@00351e12
# AddonBicepTemplate/FullAzureMonitorMetricsProfile.bicep, kubernetesRecordingRuleGroup): several metric
# names per expression, `a or (b + c)`, `sum by (cluster, ...)`, clusterName, interval PT1M.
LOAD_RECORD = "aks_llm_model:vllm_requests_running_waiting:sum"
# The labels the rule keeps (its `sum by`): what the trigger may select on. `namespace` and the model
# label come from the scrape jobs (renderers/scrape.py); `cluster` is the label the metrics add-on puts
# on every series (the rule group's clusterName matches it: prometheus-rule-groups.md).
LOAD_RULE_LABELS = ("cluster", "namespace", MODEL_LABEL)
# The rule group's evaluation interval (ISO 8601; Azure allows 1 to 15 minutes, default PT1M): the
# recorded load lags the scrape by up to a minute.
RULE_INTERVAL = "PT1M"


def _load_side(first: str, other: str) -> str:
    """One gauge summed per model, or 0 for each model that only has the other gauge: ``a + b`` is
    empty where either side is, and a missing gauge must not read as no load."""
    by = ", ".join(LOAD_RULE_LABELS)
    selector = f'{{{MODEL_LABEL}!=""}}'
    return f"(sum by ({by}) ({first}{selector}) or 0 * sum by ({by}) ({other}{selector}))"


def load_rule_expression() -> str:
    """PromQL of the recording rule: running + waiting requests per model, over the model's pods (each
    selector names one metric; only series the scrape jobs labelled with the model)."""
    running, waiting = LOAD_METRICS
    return f"{_load_side(running, waiting)} + {_load_side(waiting, running)}"


def load_recording_rule() -> dict[str, str]:
    """The recording rule (``record`` + ``expression``) the KEDA load query reads."""
    return {"record": LOAD_RECORD, "expression": load_rule_expression()}


def load_query(namespace: str, model: str) -> str:
    """PromQL of the KEDA trigger: the recorded load of the model, one number (KEDA refuses a query
    returning several series); one selector, one metric name, as Azure Monitor's query API requires."""
    return f'sum({LOAD_RECORD}{{namespace="{namespace}",{MODEL_LABEL}="{model}"}})'


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
