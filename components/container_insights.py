"""Container Insights with Entra ID auth (``omsagent`` add-on, ``useAADAuth``): the data collection rule
and its association to the cluster, which the agent needs to know what to send where.

This is what ``az aks enable-addons -a monitoring`` creates: a rule ``MSCI-<region>-<cluster>`` with the
ContainerInsights extension sending ``Microsoft-ContainerInsights-Group-Default`` to the Log Analytics
workspace, associated with the cluster as ``ContainerInsightsExtension``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_azure_native.monitor as monitor

from components.child_names import Component

STREAM = "Microsoft-ContainerInsights-Group-Default"
DESTINATION = "ciworkspace"
ASSOCIATION = "ContainerInsightsExtension"


def container_insights(
    *,
    rule_name: str,
    location: str,
    tags: Mapping[str, str],
    resource_group_name: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    cluster_id: pulumi.Input[str],
    parent: Component,
) -> monitor.DataCollectionRuleAssociation:
    """Declare the Container Insights rule and its association (children of ``parent``)."""
    rule = monitor.DataCollectionRule(
        parent.child_name("container-insights-dcr"),
        data_collection_rule_name=rule_name,
        resource_group_name=resource_group_name,
        location=location,
        kind=monitor.KnownDataCollectionRuleResourceKind.LINUX,
        description="Container Insights: container logs, inventory and performance to Log Analytics",
        data_sources=monitor.DataCollectionRuleDataSourcesArgs(
            extensions=[
                monitor.ExtensionDataSourceArgs(
                    name=ASSOCIATION,
                    extension_name="ContainerInsights",
                    streams=[STREAM],
                    extension_settings={
                        "dataCollectionSettings": {
                            "interval": "1m",
                            "namespaceFilteringMode": "Off",
                            "enableContainerLogV2": True,
                        }
                    },
                )
            ]
        ),
        destinations=monitor.DataCollectionRuleDestinationsArgs(
            log_analytics=[
                monitor.LogAnalyticsDestinationArgs(name=DESTINATION, workspace_resource_id=workspace_id)
            ]
        ),
        data_flows=[monitor.DataFlowArgs(streams=[STREAM], destinations=[DESTINATION])],
        tags=dict(tags),
        opts=parent.child_opts(was="container-insights-dcr"),
    )
    return monitor.DataCollectionRuleAssociation(
        parent.child_name("container-insights-dcra"),
        association_name=ASSOCIATION,
        resource_uri=cluster_id,
        data_collection_rule_id=rule.id,
        description="Sends Container Insights data through the MSCI rule",
        opts=parent.child_opts(was="container-insights-dcra"),
    )
