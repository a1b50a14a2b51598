"""The KEDA load query is one Azure Monitor accepts: it reads one recorded metric by its name, and the
recording rule (on the stack's Prometheus rule group) records exactly that metric with the labels the
query selects on.

Azure Monitor's Prometheus query API: "Any time-series fetch queries ... must contain a __name__ label
matcher ... There can be only one __name__ label matcher in a query" (MicrosoftDocs/azure-monitor-docs
articles/azure-monitor/metrics/prometheus-api-promql.md, "API limitations"). The PromQL is parsed with
promql-parser 0.11.0 (a Rust port of Prometheus's parser, pinned in requirements-dev.txt).
"""

from __future__ import annotations

from typing import Any

import promql_parser

from renderers.autoscaling import (
    LOAD_RECORD,
    LOAD_RULE_LABELS,
    RULE_INTERVAL,
    load_query,
    load_recording_rule,
    load_rule_expression,
)
from renderers.scrape import MODEL_LABEL, scrape_jobs
from sizing.autoscaling import LOAD_METRICS
from tests.conftest import by_type, one
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests

RULE_GROUP = "azure-native:alertsmanagement:PrometheusRuleGroup"


def _walk(node: Any) -> list[Any]:
    """Every node of a parsed PromQL expression (promql-parser's tree: lhs/rhs, expr, param)."""
    found = [node]
    for attr in ("lhs", "rhs", "expr", "param"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            found += _walk(child)
    return found


def _selectors(expr: str) -> list[Any]:
    return [n for n in _walk(promql_parser.parse(expr)) if isinstance(n, promql_parser.VectorSelector)]


def _aggregations(expr: str) -> list[Any]:
    return [n for n in _walk(promql_parser.parse(expr)) if isinstance(n, promql_parser.AggregateExpr)]


def _matchers(selector: Any) -> dict[str, tuple[str, str]]:
    return {m.name: (str(m.op), m.value) for m in selector.matchers.matchers}


def test_every_selector_names_one_metric_and_none_matches_on_name() -> None:
    """One metric name per selector, never a ``__name__`` matcher (the regex form the API refuses)."""
    for expr in (load_query("inference", "qwen7b"), load_rule_expression()):
        selectors = _selectors(expr)
        assert selectors, expr
        for selector in selectors:
            assert selector.name, expr
            assert "__name__" not in _matchers(selector), expr


def test_the_query_selects_exactly_the_recorded_metric_on_labels_the_rule_keeps() -> None:
    query = load_query("inference", "qwen7b")
    (selector,) = _selectors(query)
    assert selector.name == LOAD_RECORD == load_recording_rule()["record"]
    matchers = _matchers(selector)
    assert set(matchers) == {"namespace", MODEL_LABEL} and set(matchers) <= set(LOAD_RULE_LABELS)
    assert {label: value for label, (_, value) in matchers.items()} == {
        "namespace": "inference",
        MODEL_LABEL: "qwen7b",
    }
    assert all(op.endswith("Equal") and "Not" not in op for op, _ in matchers.values())
    (total,) = _aggregations(query)  # one number: KEDA refuses a result of several series
    assert str(total.op) == "sum" and total.modifier is None


def test_the_rule_sums_running_and_waiting_per_model_and_keeps_the_query_labels() -> None:
    rule = load_recording_rule()
    assert set(rule) == {"record", "expression"}
    # recording rule names: level:metric:operations (prometheus.io, "Recording rules" best practices)
    assert LOAD_RECORD.count(":") == 2
    selectors = _selectors(rule["expression"])
    assert {s.name for s in selectors} == set(LOAD_METRICS)
    for selector in selectors:  # only the series the model's scrape jobs labelled
        assert _matchers(selector) == {MODEL_LABEL: ("MatchOp.NotEqual", "")}
    aggregations = _aggregations(rule["expression"])
    assert len(aggregations) == 4 and all(str(a.op) == "sum" for a in aggregations)
    for aggregation in aggregations:  # every aggregation keeps the same labels: the sides match one to one
        assert str(aggregation.modifier.type).endswith("By")
        assert tuple(aggregation.modifier.labels) == LOAD_RULE_LABELS
    # running + waiting, each side falling back to 0 where only the other gauge exists
    tree = promql_parser.parse(rule["expression"])
    assert isinstance(tree, promql_parser.BinaryExpr) and str(tree.op) == "+"
    sides: list[Any] = [tree.lhs, tree.rhs]
    for side, first in ((sides[0].expr, LOAD_METRICS[0]), (sides[1].expr, LOAD_METRICS[1])):
        assert str(side.op) == "or"
        assert side.lhs.expr.name == first


def test_the_scrape_jobs_put_on_the_labels_the_rule_keeps() -> None:
    for job in scrape_jobs("inference"):
        targets = {r.get("target_label") for r in job["relabel_configs"]}
        assert {"namespace", MODEL_LABEL} <= targets, job["job_name"]


def _group(run: ProgramRun) -> Any:
    """The recording group (the alert rules are in a second group: tests/test_alerts.py)."""
    (group,) = [g for g in by_type(run, RULE_GROUP) if g.inputs["ruleGroupName"].startswith("prom-rules-")]
    return group


def test_each_stack_has_one_rule_group_on_its_workspace_scoped_to_its_cluster(
    stack_run: tuple[str, ProgramRun],
) -> None:
    _, run = stack_run
    group = _group(run)
    workspace = one(run, "azure-native:monitor:AzureMonitorWorkspace")
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    inputs = group.inputs
    assert inputs["ruleGroupName"].startswith("prom-rules-")
    assert inputs["location"] == workspace.inputs["location"]
    # the workspace first (the scope the API requires), then the cluster; both referenced, so both
    # exist before the group (implied dependencies)
    assert [s.rsplit("/", 1)[-1] for s in inputs["scopes"]] == [
        workspace.inputs["azureMonitorWorkspaceName"],
        cluster.inputs["resourceName"],
    ]
    assert {workspace.urn, cluster.urn} <= set(group.options["dependencies"])
    assert inputs["clusterName"] == cluster.inputs["resourceName"]
    assert inputs["interval"] == RULE_INTERVAL and inputs["enabled"] is True
    assert inputs["rules"] == [{**load_recording_rule(), "enabled": True}]
    assert inputs["tags"] == workspace.inputs["tags"]


def test_every_scaled_object_queries_the_recorded_load_after_the_rule_group_exists(
    stack_run: tuple[str, ProgramRun],
) -> None:
    _, run = stack_run
    group = _group(run)
    namespace = run.outputs["inferenceNamespace"]
    scaled = [r for r in by_type(run, "kubernetes:keda.sh/v1alpha1:ScaledObject")]
    by_name = {m["metadata"]["name"]: m for m in kubernetes_manifests(scaled)}
    assert set(run.outputs["models"]) <= set(by_name)
    for record in scaled:
        name = record.inputs["metadata"]["name"]
        triggers = [t for t in by_name[name]["spec"]["triggers"] if t["type"] == "prometheus"]
        if name not in run.outputs["models"]:
            assert not triggers, name  # the queue worker scales on its queue, not on the load
            continue
        (trigger,) = triggers
        assert trigger["metadata"]["query"] == load_query(namespace, name)
        assert group.urn in record.options["dependencies"], name
