"""The stack's Prometheus rule groups on the Azure Monitor workspace: the recording rules the KEDA triggers
read, and the alert rules (``renderers/alerts.py``) in a second group. One component, two
``Microsoft.AlertsManagement/prometheusRuleGroups`` resources, each scoped to the workspace and the
cluster (MicrosoftDocs/azure-monitor-docs
articles/azure-monitor/metrics/prometheus-rule-groups.md, "Limit rules to a specific cluster": the
scopes hold the workspace id and optionally one cluster id; ``clusterName`` matches the ``cluster`` label
the metrics add-on puts on the cluster's series, by default the cluster's resource name).

The rules' text is rendered in ``renderers`` (``renderers.autoscaling.load_recording_rule``,
``renderers.alerts.prometheus_alert_rules``); this component only builds the resources from it. Alert
rules notify the stack's action group (``components/alerting.py``) when it exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.alertsmanagement as alertsmanagement

from components.azure_place import AzurePlace
from components.child_names import Component


@dataclass(frozen=True)
class PrometheusRulesArgs:
    rule_group_name: str
    place: AzurePlace
    workspace_id: pulumi.Input[str]
    cluster_id: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    recording_rules: Sequence[Mapping[str, str]]  # {"record": ..., "expression": ...}
    interval: str
    query_endpoint: pulumi.Input[str]
    alert_group_name: str = ""
    alert_rules: Sequence[Mapping[str, Any]] = ()  # renderers.alerts.prometheus_alert_rules
    alert_interval: str = "PT1M"
    action_group_id: pulumi.Input[str] | None = None


class PrometheusRules(Component):
    """The rule group; ``load_query_endpoint`` is the workspace's query endpoint carrying a dependency on
    the group, so whatever queries a recorded series (the KEDA ScaledObjects) is created after the rule
    that records it."""

    rule_group: alertsmanagement.PrometheusRuleGroup
    load_query_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: PrometheusRulesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:PrometheusRules", name, opts)
        self.rule_group = self._group(
            args,
            "rule-group",
            args.rule_group_name,
            "aks-llm: the models' load recorded for KEDA (and the stack's alert rules)",
            args.interval,
            [
                alertsmanagement.PrometheusRuleArgs(
                    record=rule["record"], expression=rule["expression"], enabled=True
                )
                for rule in args.recording_rules
            ],
        )
        self.alert_group: alertsmanagement.PrometheusRuleGroup | None = None
        if args.alert_rules:
            self.alert_group = self._alert_group(args)
        self.load_query_endpoint = pulumi.Output.all(args.query_endpoint, self.rule_group.id).apply(
            lambda values: str(values[0])
        )
        self.register_outputs(
            {
                "ruleGroupId": self.rule_group.id,
                "alertGroupId": self.alert_group.id if self.alert_group is not None else None,
            }
        )

    def _alert_group(self, args: PrometheusRulesArgs) -> alertsmanagement.PrometheusRuleGroup:
        actions = (
            [alertsmanagement.PrometheusRuleGroupActionArgs(action_group_id=args.action_group_id)]
            if args.action_group_id is not None
            else None
        )
        return self._group(
            args,
            "alert-group",
            args.alert_group_name,
            "aks-llm: the stack's alerts (models, GPUs, nodes, pods)",
            args.alert_interval,
            [
                alertsmanagement.PrometheusRuleArgs(
                    alert=rule["alert"],
                    expression=rule["expression"],
                    for_=rule["for"],
                    severity=rule["severity"],
                    labels=dict(rule["labels"]),
                    annotations=dict(rule["annotations"]),
                    enabled=True,
                    actions=actions,
                    resolve_configuration=alertsmanagement.PrometheusRuleResolveConfigurationArgs(
                        auto_resolved=True, time_to_resolve="PT10M"
                    ),
                )
                for rule in args.alert_rules
            ],
        )

    def _group(
        self,
        args: PrometheusRulesArgs,
        child: str,
        group_name: str,
        description: str,
        interval: str,
        rules: list[alertsmanagement.PrometheusRuleArgs],
    ) -> alertsmanagement.PrometheusRuleGroup:
        """One rule group on the stack's Azure Monitor workspace, scoped to it and the cluster."""
        return alertsmanagement.PrometheusRuleGroup(
            self.child_name(child),
            rule_group_name=group_name,
            resource_group_name=args.place.resource_group_name,
            location=args.place.location,
            description=description,
            scopes=[args.workspace_id, args.cluster_id],
            cluster_name=args.cluster_name,
            enabled=True,
            interval=interval,
            rules=rules,
            tags=dict(args.place.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
