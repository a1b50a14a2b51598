"""The stack's alerts, rendered from its config and model plans (pure, no Pulumi).

Two kinds of Azure resource carry them (``components/alerting.py`` and ``components/prometheus_rules.py``):

- Prometheus alert rules in a ``Microsoft.AlertsManagement/prometheusRuleGroups`` group on the Azure
  Monitor workspace, scoped to the cluster: KV-cache usage, requests waiting at max replicas, no ready
  replica while one is wanted, crash-looping containers, GPU XID errors, nodes not ready
  (``prometheus_alert_rules``);
- ``Microsoft.Insights/metricAlerts`` on the Service Bus namespace: messages dead-lettered or piling
  up (``queue_metric_alerts``; Service Bus publishes counts, not ages);

and the budget's forecast notifications (``Microsoft.Consumption/budgets``, already there) go to the same
``Microsoft.Insights/actionGroups`` group. Metric names come from ``facts/metrics.py``.

Azure Monitor's query API accepts one ``__name__`` matcher per query (prometheus-api-promql.md, "API
limitations"); the rule-groups page (prometheus-rule-groups.md) states no such limit for rule
expressions, and nothing here can run a rule group. Each selector below therefore names exactly one
metric and none matches on ``__name__``: valid under either reading (``tests/test_alerts.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config.schema import AlertsConfig, StackConfig
from facts.metrics import (
    DCGM_XID_ERRORS,
    KEDA_HPA_PREFIX,
    KSM_CONTAINER_READY,
    KSM_CONTAINER_WAITING_REASON,
    KSM_HPA_CURRENT,
    KSM_HPA_DESIRED,
    KSM_HPA_MAX,
    KSM_NODE_CONDITION,
    SERVICE_BUS_ACTIVE,
    SERVICE_BUS_DEAD_LETTERED,
    SERVICE_BUS_ENTITY_DIMENSION,
    VLLM_KV_CACHE_USAGE,
    VLLM_REQUESTS_WAITING,
)
from renderers.scrape import MODEL_LABEL
from sizing.deployments import ModelPlan
from sizing.workloads import kaito_kind, predicted_cold_start_seconds

ALERT_INTERVAL = "PT1M"  # the alert group's evaluation interval
XID_FOR = "PT1M"
# Each alert: its name in the rule group (a Prometheus metric-name-shaped word; a model's rules add
# `_<model>`) and its Azure Monitor severity (0 critical, 1 error, 2 warning, 3 informational).
ALERTS = {
    "gpu-xid-error": ("GpuXidError", 1),
    "no-ready-replica": ("ModelNoReadyReplica", 1),
    "node-not-ready": ("NodeNotReady", 2),
    "pod-crash-looping": ("PodCrashLooping", 2),
    "requests-waiting-at-max-replicas": ("ModelRequestsWaitingAtMaxReplicas", 2),
    "kv-cache-high": ("ModelKvCacheHigh", 3),
    "queue-dead-lettered": ("QueueDeadLettered", 2),
    "queue-piling-up": ("QueuePilingUp", 2),
}
# The metric alerts' window and frequency (ISO 8601; Azure pairs a 15-minute window with PT1M-PT15M).
QUEUE_WINDOW, QUEUE_FREQUENCY = "PT15M", "PT5M"


def _minutes(value: int) -> str:
    return f"PT{value}M"


def _sel(metric: str, **matchers: str) -> str:
    """``metric{a="x",...}``: one metric name, equality matchers (``~`` prefix: regex)."""
    parts = []
    for key, value in matchers.items():
        op = "=~" if value.startswith("~") else "="
        parts.append(f'{key}{op}"{value.lstrip("~")}"')
    return f"{metric}{{{','.join(parts)}}}" if parts else metric


def _rule(key: str, expression: str, for_: str, summary: str, model: str | None = None) -> dict[str, Any]:
    name, severity = ALERTS[key]
    labels = {"alert_key": key}
    if model is not None:
        name, labels[MODEL_LABEL] = f"{name}_{model.replace('-', '_')}", model
    return {
        "alert": name,
        "expression": expression,
        "for": for_,
        "severity": severity,
        "labels": dict(labels),
        "annotations": {"summary": summary},
    }


def has_autoscaler(plan: ModelPlan) -> bool:
    """Whether KEDA scales the model (a vLLM Deployment or a KAITO InferenceSet), so it has an HPA."""
    return plan.config.runtime == "vllm" or kaito_kind(plan) == "InferenceSet"


def model_pod_regex(model: str) -> str:
    """The model's pods by name: ``<model>-<replicaset>-<id>`` (vLLM Deployment), ``<model>-ws-...``
    (KAITO Workspace), ``<model>-<n>-...`` (an InferenceSet's replicas). kube-state-metrics carries
    no pod labels by default, so the name is what a rule can select on."""
    return f"{model}-.+"


def _ready_pods(namespace: str, model: str) -> str:
    # A pod is ready when every container is: min over its containers, == 1.
    ready = _sel(KSM_CONTAINER_READY, namespace=namespace, pod="~" + model_pod_regex(model))
    return f"count(min by (pod) ({ready}) == 1)"


def no_ready_minutes(plan: ModelPlan, cfg: AlertsConfig) -> int:
    """How long no replica may be ready while one is wanted: the setting, or the model's predicted cold
    start (a node from zero, the download and the engine start) when that is longer, so a model waking
    for business hours does not alert while it starts as planned."""
    return max(cfg.no_ready_replica_minutes, math.ceil(predicted_cold_start_seconds(plan) / 60))


def model_alert_rules(plan: ModelPlan, namespace: str, cfg: AlertsConfig) -> list[dict[str, Any]]:
    """The per-model rules: requests waiting at max replicas, and no ready replica while one is wanted
    (in business hours the schedule's cron trigger holds the wanted count at ``minReplicas``; outside
    them a model at zero by design is not wanted, so it does not alert)."""
    model = plan.config.name
    waiting = f"sum({_sel(VLLM_REQUESTS_WAITING, namespace=namespace, **{MODEL_LABEL: model})}) > 0"
    rules = []
    if has_autoscaler(plan):
        hpa = {"namespace": namespace, "horizontalpodautoscaler": KEDA_HPA_PREFIX + model}
        at_max = f"({_sel(KSM_HPA_CURRENT, **hpa)} >= {_sel(KSM_HPA_MAX, **hpa)})"
        waiting_at_max = f"({waiting}) and on () {at_max}"
        wanted = f"(sum({_sel(KSM_HPA_DESIRED, **hpa)}) >= 1)"
    else:  # a fixed one-replica KAITO Workspace: always at its maximum, always wanted
        waiting_at_max = waiting
        wanted = "vector(1)"
    rules.append(
        _rule(
            "requests-waiting-at-max-replicas",
            waiting_at_max,
            _minutes(cfg.waiting_at_max_minutes),
            f"{model}: requests wait while it runs its maximum of {plan.replicas_max} replicas; raise "
            "replicas.max (and the pool's GPUs) or lower the load",
            model,
        )
    )
    rules.append(
        _rule(
            "no-ready-replica",
            f"{wanted} unless on () ({_ready_pods(namespace, model)} > 0)",
            _minutes(no_ready_minutes(plan, cfg)),
            f"{model}: the autoscaler wants a replica and none is ready; run `make verify` and read the "
            "pods' events (image pull, GPU capacity, model download)",
            model,
        )
    )
    return rules


def cluster_alert_rules(cfg: AlertsConfig) -> list[dict[str, Any]]:
    """The rules over the whole cluster (the rule group is scoped to it)."""
    by_model = f"cluster, namespace, {MODEL_LABEL}"
    kv = _sel(VLLM_KV_CACHE_USAGE, **{MODEL_LABEL: "~.+"})
    crash = _sel(KSM_CONTAINER_WAITING_REASON, reason="CrashLoopBackOff")
    not_ready = f'{KSM_NODE_CONDITION}{{condition="Ready",status!="true"}}'
    return [
        _rule(
            "kv-cache-high",
            f"max by ({by_model}) ({kv}) > {cfg.kv_cache_usage_percent / 100:g}",
            _minutes(cfg.kv_cache_minutes),
            f"a model's KV cache is above {cfg.kv_cache_usage_percent} % on its fullest replica: requests "
            "are preempted or queue; add replicas or lower max-num-seqs",
        ),
        _rule(
            "pod-crash-looping",
            f"max by (cluster, namespace, pod, container) ({crash}) == 1",
            _minutes(cfg.crash_loop_minutes),
            "a container is in CrashLoopBackOff: read `kubectl logs --previous`",
        ),
        _rule(
            "gpu-xid-error",
            f"max by (cluster, Hostname, gpu) ({DCGM_XID_ERRORS}) > 0",
            XID_FOR,
            "a GPU reported an XID error (DCGM_FI_DEV_XID_ERRORS holds its code): check NVIDIA's XID "
            "catalog; cordon and replace the node if it repeats",
        ),
        _rule(
            "node-not-ready",
            f"max by (cluster, node) ({not_ready}) == 1",
            _minutes(cfg.node_not_ready_minutes),
            "a node is not Ready: `kubectl describe node`; AKS node auto-repair may replace it",
        ),
    ]


def prometheus_alert_rules(
    config: StackConfig, plans: Sequence[ModelPlan], namespace: str
) -> list[dict[str, Any]]:
    """Every Prometheus alert rule of the stack (empty when alerts are off)."""
    cfg = config.alerts
    if not cfg.enabled:
        return []
    rules = cluster_alert_rules(cfg)
    for plan in plans:
        rules += model_alert_rules(plan, namespace, cfg)
    return rules


@dataclass(frozen=True)
class QueueMetricAlert:
    """One Azure Monitor metric alert on the Service Bus namespace, per entity (queue)."""

    key: str  # short name, also the severity key
    metric: str
    operator: str  # GreaterThanOrEqual
    threshold: float
    aggregation: str  # Maximum
    entities: tuple[str, ...]
    description: str
    dimension: str = SERVICE_BUS_ENTITY_DIMENSION

    @property
    def severity(self) -> int:
        return ALERTS[self.key][1]


def queue_metric_alerts(config: StackConfig) -> list[QueueMetricAlert]:
    """Dead-lettered messages in either queue, and requests piling up in the request queue (empty
    without the async queue or with alerts off)."""
    queue, cfg = config.addons.async_queue, config.alerts
    if not (cfg.enabled and queue.enabled):
        return []
    return [
        QueueMetricAlert(
            "queue-dead-lettered",
            SERVICE_BUS_DEAD_LETTERED,
            "GreaterThanOrEqual",
            cfg.queue_dead_lettered_messages,
            "Maximum",
            (queue.queue_name, queue.reply_queue),
            f"at least {cfg.queue_dead_lettered_messages} message(s) dead-lettered (expired, or "
            f"delivered {queue.max_delivery_count} times): read the dead-letter queue",
        ),
        QueueMetricAlert(
            "queue-piling-up",
            SERVICE_BUS_ACTIVE,
            "GreaterThanOrEqual",
            cfg.queue_active_messages,
            "Maximum",
            (queue.queue_name,),
            f"{cfg.queue_active_messages} or more requests wait in the queue: is the worker running and "
            "its model awake?",
        ),
    ]


def alert_contacts(config: StackConfig) -> list[str]:
    """The action group's e-mail receivers: ``alerts.contactEmails``, else the budget's."""
    if config.alerts.contact_emails:
        return list(config.alerts.contact_emails)
    return list(config.budget.contact_emails) if config.budget is not None else []
