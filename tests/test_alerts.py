"""The stack's alerts: each PromQL expression parses (promql-parser 0.11.0, the Rust port of Prometheus's
parser), selects only metric names the program knows (``facts/metrics.py``: vLLM, the DCGM exporter,
kube-state-metrics as the AKS metrics add-on keeps them) by name, never by a ``__name__`` matcher, and
groups or matches only on labels those series carry; the plan of every stack holds the alert group, the
action group (the budget's contacts) that the rules and the budget's forecasts notify, and, with the
async queue, the Service Bus metric alerts.
"""

from __future__ import annotations

from typing import Any

import promql_parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.errors import ConfigError
from config.schema import StackConfig
from facts.metrics import (
    DCGM_METRICS,
    KSM_LABELS,
    KSM_METRICS,
    SERVICE_BUS_ACTIVE,
    SERVICE_BUS_DEAD_LETTERED,
    VLLM_METRICS,
)
from renderers.alerts import (
    ALERTS,
    cluster_alert_rules,
    model_alert_rules,
    prometheus_alert_rules,
    queue_metric_alerts,
)
from renderers.scrape import MODEL_LABEL
from sizing.autoscaling import LOAD_METRICS
from tests.conftest import ROOT, by_type, one, parse_values, parse_with, planned
from tests.test_load_rule import _matchers, _selectors, _walk
from tools.mocks import ProgramRun

RULE_GROUP = "azure-native:alertsmanagement:PrometheusRuleGroup"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
KNOWN = VLLM_METRICS | DCGM_METRICS | KSM_METRICS
# Labels every series has beside its own: the add-on's cluster label; the scrape jobs' namespace, pod
# and model labels on vLLM series (renderers/scrape.py); DCGM's gpu and Hostname.
VLLM_LABELS = {"cluster", "namespace", "pod", MODEL_LABEL, "model_name", "engine"}
DCGM_LABELS = {"cluster", "gpu", "UUID", "Hostname", "modelName", "device"}


def _config(stack: str, tmp_path: Any) -> StackConfig:
    return parse_with(tmp_path, (ROOT / f"Pulumi.{stack}.yaml").read_text(), stack)


def _labels_of(metric: str) -> set[str]:
    if metric in KSM_LABELS:
        return set(KSM_LABELS[metric]) | {"cluster"}
    return VLLM_LABELS if metric in VLLM_METRICS else DCGM_LABELS


def _all_rules() -> list[dict[str, Any]]:
    run_rules: list[dict[str, Any]] = []
    for stack in ("dev", "prod", "nap"):
        _, run = planned(stack)
        run_rules += _group(run).inputs["rules"]
    return run_rules


def _group(run: ProgramRun) -> Any:
    (group,) = [g for g in by_type(run, RULE_GROUP) if g.inputs["ruleGroupName"].startswith("prom-alerts-")]
    return group


def test_every_expression_selects_known_metrics_by_name_on_their_labels() -> None:
    rules = _all_rules()
    assert rules
    for rule in rules:
        expr = rule["expression"]
        selectors = _selectors(expr)
        assert selectors, expr
        for selector in selectors:
            assert selector.name in KNOWN, (selector.name, expr)
            matchers = _matchers(selector)
            assert "__name__" not in matchers, expr
            assert set(matchers) <= _labels_of(selector.name), (selector.name, matchers)
        for node in _walk(promql_parser.parse(expr)):  # grouping labels too
            if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
                (inner,) = [s for s in _selectors(str(node.expr)) if s.name] or [None]
                if inner is not None:
                    assert set(node.modifier.labels) <= _labels_of(inner.name) | {"pod"}, expr


def test_the_rules_the_issue_asks_for_exist_with_their_thresholds() -> None:
    cfg = parse_values({}).alerts
    rules = {r["labels"]["alert_key"]: r for r in cluster_alert_rules(cfg)}
    assert set(rules) == {"kv-cache-high", "pod-crash-looping", "gpu-xid-error", "node-not-ready"}
    kv = rules["kv-cache-high"]
    assert kv["expression"].endswith("> 0.9") and kv["for"] == "PT10M"
    assert "CrashLoopBackOff" in rules["pod-crash-looping"]["expression"]
    assert "DCGM_FI_DEV_XID_ERRORS" in rules["gpu-xid-error"]["expression"]
    assert 'condition="Ready",status!="true"' in rules["node-not-ready"]["expression"]
    for rule in rules.values():
        assert rule["alert"] == ALERTS[rule["labels"]["alert_key"]][0]
        assert rule["severity"] == ALERTS[rule["labels"]["alert_key"]][1]


def test_thresholds_come_from_config() -> None:
    config = parse_values(
        {
            "alerts": {
                "kvCacheUsagePercent": 95,
                "kvCacheMinutes": 3,
                "waitingAtMaxMinutes": 7,
                "noReadyReplicaMinutes": 12,
                "crashLoopMinutes": 4,
                "nodeNotReadyMinutes": 20,
            }
        }
    )
    by_key = {r["labels"]["alert_key"]: r for r in cluster_alert_rules(config.alerts)}
    assert (
        by_key["kv-cache-high"]["expression"].endswith("> 0.95") and by_key["kv-cache-high"]["for"] == "PT3M"
    )
    assert by_key["pod-crash-looping"]["for"] == "PT4M" and by_key["node-not-ready"]["for"] == "PT20M"


@pytest.mark.parametrize("bad", [{"kvCacheUsagePercent": 101}, {"nodeNotReadyMinutes": 0}, {"typo": 1}])
def test_bad_alert_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as error:
        parse_values({"alerts": bad})
    assert "alerts" in error.value.render()


def test_model_rules_read_the_models_own_series_and_hpa() -> None:
    _, run = planned("prod")
    rules = _group(run).inputs["rules"]
    for model in ("qwen7b", "phi4"):
        mine = [r for r in rules if r["labels"].get(MODEL_LABEL) == model]
        assert {r["labels"]["alert_key"] for r in mine} == {
            "requests-waiting-at-max-replicas",
            "no-ready-replica",
        }
        for rule in mine:
            assert rule["alert"].endswith("_" + model)
            text = rule["expression"]
            assert f'horizontalpodautoscaler="keda-hpa-{model}"' in text, text
            assert f'{MODEL_LABEL}="{model}"' in text or f'pod=~"{model}-.+"' in text
    waiting = next(r for r in rules if r["alert"] == "ModelRequestsWaitingAtMaxReplicas_qwen7b")
    assert {s.name for s in _selectors(waiting["expression"])} >= {LOAD_METRICS[1]}


def test_a_fixed_workspace_model_alerts_without_an_hpa() -> None:
    config = parse_values(
        {
            "gpuPools": [
                {"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"min": 0, "max": 1}}
            ],
            "models": [
                {
                    "name": "phi4",
                    "model": "phi-4",
                    "runtime": "kaito",
                    "pool": "a100",
                    "replicas": {"min": 1, "max": 1},
                    "scaleToZero": False,
                }
            ],
        }
    )
    from config.catalog import load_catalog
    from sizing.deployments import plan_models

    (plan,) = plan_models(config, load_catalog())
    for rule in model_alert_rules(plan, "inference", config.alerts):
        assert "keda-hpa" not in rule["expression"]
        promql_parser.parse(rule["expression"])


def test_alerts_off_renders_nothing() -> None:
    config = parse_values({"alerts": {"enabled": False}})
    assert prometheus_alert_rules(config, [], "inference") == [] and queue_metric_alerts(config) == []


def test_every_stack_plans_the_alert_group_and_one_action_group_the_rules_and_budget_notify(
    stack_run: tuple[str, ProgramRun], tmp_path: Any
) -> None:
    stack, run = stack_run
    config = _config(stack, tmp_path)
    group, recording = _group(run), next(g for g in by_type(run, RULE_GROUP) if g is not _group(run))
    action = one(run, ACTION_GROUP)
    assert action.inputs["location"] == "Global" and len(action.inputs["groupShortName"]) <= 12
    assert config.budget is not None
    assert [r["emailAddress"] for r in action.inputs["emailReceivers"]] == config.budget.contact_emails
    assert group.inputs["scopes"] == recording.inputs["scopes"]
    assert group.inputs["clusterName"] == recording.inputs["clusterName"]
    assert action.urn in group.options["dependencies"]
    for rule in group.inputs["rules"]:
        assert rule["actions"] and rule["severity"] in range(5) and rule["for"].startswith("PT")
    budget = one(run, "azure-native:consumption:Budget")
    assert action.urn in budget.options["dependencies"]
    for key, notification in budget.inputs["notifications"].items():
        assert bool(notification.get("contactGroups")) == key.startswith("Forecasted"), key


def test_the_queue_stacks_alert_on_dead_letters_and_backlog_per_queue(
    stack_run: tuple[str, ProgramRun], tmp_path: Any
) -> None:
    stack, run = stack_run
    config = _config(stack, tmp_path)
    alerts = {a.inputs["criteria"]["allOf"][0]["metricName"]: a for a in by_type(run, METRIC_ALERT)}
    if not config.addons.async_queue.enabled:
        assert not alerts
        return
    namespace = one(run, "azure-native:servicebus:Namespace")
    assert set(alerts) == {SERVICE_BUS_DEAD_LETTERED, SERVICE_BUS_ACTIVE}
    queue = config.addons.async_queue
    for metric, alert in alerts.items():
        inputs = alert.inputs
        assert namespace.urn in alert.options["dependencies"]
        assert inputs["targetResourceType"] == "Microsoft.ServiceBus/namespaces"
        (criterion,) = inputs["criteria"]["allOf"]
        (dimension,) = criterion["dimensions"]
        assert dimension["name"] == "EntityName"
        expected = (
            [queue.queue_name, queue.reply_queue]
            if metric == SERVICE_BUS_DEAD_LETTERED
            else [queue.queue_name]
        )
        assert dimension["values"] == expected
        assert inputs["actions"]


def test_alert_contacts_fall_back_to_the_budget_and_none_means_no_action_group() -> None:
    from renderers.alerts import alert_contacts

    assert alert_contacts(parse_values({})) == []
    own = parse_values({"alerts": {"contactEmails": ["oncall@example.com"]}})
    assert alert_contacts(own) == ["oncall@example.com"]


# --- metrics: what Managed Prometheus scrapes ----------------------------------------------------


def _scrape_jobs(run: ProgramRun) -> list[dict[str, Any]]:
    import yaml

    from renderers.scrape import AMA_METRICS_CONFIG_MAP, AMA_METRICS_KEY
    from tools.plan import kubernetes_manifests

    manifests = kubernetes_manifests(by_type(run, "kubernetes:core/v1:ConfigMap"))
    (config_map,) = [m for m in manifests if m["metadata"]["name"] == AMA_METRICS_CONFIG_MAP]
    jobs: list[dict[str, Any]] = yaml.safe_load(config_map["data"][AMA_METRICS_KEY])["scrape_configs"]
    return jobs


def test_the_dcgm_exporter_is_scraped_where_the_gpu_operator_runs_it(
    stack_run: tuple[str, ProgramRun], tmp_path: Any
) -> None:
    from facts.namespaces import GPU_OPERATOR_NAMESPACE
    from sizing.gpu_software import operator_pools_present

    stack, run = stack_run
    jobs = {j["job_name"]: j for j in _scrape_jobs(run)}
    assert {"aks-llm-vllm", "aks-llm-kaito"} <= set(jobs)  # vLLM and KAITO model pods, as before
    if not operator_pools_present(_config(stack, tmp_path)):
        assert "aks-llm-dcgm-exporter" not in jobs  # managed driver: no DCGM exporter to scrape
        return
    job = jobs["aks-llm-dcgm-exporter"]
    assert job["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": [GPU_OPERATOR_NAMESPACE]}}
    ]
    keep = job["relabel_configs"][0]
    assert keep["action"] == "keep" and keep["regex"] == "nvidia-dcgm-exporter;metrics"


_BOUNDS = {  # key -> (lowest accepted, highest accepted), from config/schema/alerts.py AlertsConfig
    "kvCacheUsagePercent": (50, 100),
    "kvCacheMinutes": (1, 1440),
    "noReadyReplicaMinutes": (1, 1440),
    "queueActiveMessages": (1, 10_000_000),
}


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(sorted(_BOUNDS)), value=st.integers(min_value=-10, max_value=20_000_000))
def test_alert_settings_are_accepted_exactly_within_their_bounds(key: str, value: int) -> None:
    low, high = _BOUNDS[key]
    try:
        config = parse_values({"alerts": {key: value}})
    except ConfigError as error:
        assert not low <= value <= high, error.render()
        text = error.render()
        assert "alerts" in text and key in text and "Traceback" not in text
        return
    assert low <= value <= high
    rules = cluster_alert_rules(config.alerts)
    assert all(r["for"].startswith("PT") for r in rules)


def test_no_ready_replica_waits_at_least_the_models_planned_cold_start() -> None:
    _, run = planned("dev")
    (rule,) = [r for r in _group(run).inputs["rules"] if r["alert"] == "ModelNoReadyReplica_phi4mini"]
    cold = run.outputs["queueWorker"]["modelWaitSeconds"]  # the same prediction, as dev outputs it
    minutes = int(rule["for"][2:-1])
    assert minutes * 60 >= cold > 10 * 60  # dev's T4 cold start is longer than the 10-minute default
    assert minutes == -(-cold // 60)
