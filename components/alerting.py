"""Where the stack's alerts go and the alerts Azure Monitor evaluates on its own metrics.

- ``Microsoft.Insights/actionGroups``: one group e-mailing the stack's contacts (``alerts.contactEmails``,
  else the budget's); the Prometheus alert rules (``components/prometheus_rules.py``) and the budget's
  forecast notifications (``components/budget.py``) name it;
- ``Microsoft.Insights/metricAlerts`` on the Service Bus namespace (``renderers.alerts.queue_metric_alerts``):
  dead-lettered messages and a request queue piling up, per queue (dimension ``EntityName``).

Rendered in ``renderers/alerts.py``; this component only builds the resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.monitor as monitor

from components.azure_place import AzurePlace
from components.child_names import Component
from facts.metrics import SERVICE_BUS_NAMESPACE_TYPE
from facts.naming import Names
from renderers.alerts import QUEUE_FREQUENCY, QUEUE_WINDOW, QueueMetricAlert

SINGLE_RESOURCE_CRITERIA = "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
ACTION_GROUP_LOCATION = "Global"  # action groups are global resources


@dataclass(frozen=True)
class AlertingArgs:
    names: Names
    place: AzurePlace
    contact_emails: Sequence[str]
    queue_namespace_id: pulumi.Input[str] | None
    queue_alerts: Sequence[QueueMetricAlert]


class Alerting(Component):
    """The action group (when there is a contact) and the queue's metric alerts."""

    action_group_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:Alerting", name, opts)
        tags, names = dict(args.place.tags), args.names
        self.action_group_id = None
        if args.contact_emails:
            group = monitor.ActionGroup(
                self.child_name("action-group"),
                action_group_name=names.action_group(),
                group_short_name=names.action_group_short(),
                resource_group_name=args.place.resource_group_name,
                location=ACTION_GROUP_LOCATION,
                enabled=True,
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(
                        name=f"contact-{index}", email_address=email, use_common_alert_schema=True
                    )
                    for index, email in enumerate(args.contact_emails)
                ],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.action_group_id = group.id
        actions = (
            [monitor.MetricAlertActionArgs(action_group_id=self.action_group_id)]
            if self.action_group_id is not None
            else []
        )
        if args.queue_namespace_id is not None:
            for alert in args.queue_alerts:
                monitor.MetricAlert(
                    self.child_name(alert.key),
                    rule_name=names.metric_alert(alert.key),
                    resource_group_name=args.place.resource_group_name,
                    location="global",
                    description=alert.description,
                    severity=alert.severity,
                    enabled=True,
                    scopes=[args.queue_namespace_id],
                    target_resource_type=SERVICE_BUS_NAMESPACE_TYPE,
                    evaluation_frequency=QUEUE_FREQUENCY,
                    window_size=QUEUE_WINDOW,
                    auto_mitigate=True,
                    criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                        odata_type=SINGLE_RESOURCE_CRITERIA,
                        all_of=[
                            monitor.MetricCriteriaArgs(
                                criterion_type="StaticThresholdCriterion",
                                name=alert.key,
                                metric_name=alert.metric,
                                metric_namespace=SERVICE_BUS_NAMESPACE_TYPE,
                                operator=alert.operator,
                                threshold=alert.threshold,
                                time_aggregation=alert.aggregation,
                                dimensions=[
                                    monitor.MetricDimensionArgs(
                                        name=alert.dimension, operator="Include", values=list(alert.entities)
                                    )
                                ],
                            )
                        ],
                    ),
                    actions=actions,
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs({"actionGroupId": self.action_group_id})
