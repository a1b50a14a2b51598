"""Azure Managed Prometheus: an Azure Monitor workspace and the data collection wiring that sends
the cluster's Prometheus metrics (vLLM, DCGM GPU metrics, kube-state) to it.

This is what ``az aks update --enable-azure-monitor-metrics`` creates: a data collection endpoint and
rule named ``MSProm-<region>-<cluster>``, the rule associated with the cluster, and the endpoint
associated as ``configurationAccessEndpoint``. ``azureMonitorProfile.metrics`` on the cluster (set
through ``ClusterFeatures.managed_prometheus``) deploys the collector (ama-metrics) itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.monitor as monitor

from components.azure_place import AzurePlace
from components.child_names import Component
from facts.naming import Names

PROMETHEUS_STREAM = monitor.KnownPrometheusForwarderDataSourceStreams.MICROSOFT_PROMETHEUS_METRICS
DESTINATION = "MonitoringAccount1"


@dataclass(frozen=True)
class ManagedPrometheusArgs:
    names: Names
    place: AzurePlace
    cluster_id: pulumi.Input[str]


class ManagedPrometheus(Component):
    """Azure Monitor workspace + DCE + DCR + associations to the cluster."""

    workspace_id: pulumi.Output[str]
    query_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: ManagedPrometheusArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:ManagedPrometheus", name, opts)
        tags, names = dict(args.place.tags), args.names
        self.workspace = monitor.AzureMonitorWorkspace(
            self.child_name("workspace"),
            azure_monitor_workspace_name=names.monitor_workspace(),
            resource_group_name=args.place.resource_group_name,
            location=args.place.location,
            tags=tags,
            opts=self.child_opts(was="workspace"),
        )
        endpoint = monitor.DataCollectionEndpoint(
            self.child_name("dce"),
            data_collection_endpoint_name=names.prometheus_endpoint(),
            resource_group_name=args.place.resource_group_name,
            location=args.place.location,
            kind=monitor.KnownDataCollectionEndpointResourceKind.LINUX,
            description="Managed Prometheus endpoint of the AKS cluster",
            tags=tags,
            opts=self.child_opts(was="prometheus-dce"),
        )
        rule = monitor.DataCollectionRule(
            self.child_name("dcr"),
            data_collection_rule_name=names.prometheus_rule(),
            resource_group_name=args.place.resource_group_name,
            location=args.place.location,
            kind=monitor.KnownDataCollectionRuleResourceKind.LINUX,
            description="Prometheus metrics of the AKS cluster to the Azure Monitor workspace",
            data_collection_endpoint_id=endpoint.id,
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                prometheus_forwarder=[
                    monitor.PrometheusForwarderDataSourceArgs(
                        name="PrometheusDataSource", streams=[PROMETHEUS_STREAM], label_include_filter={}
                    )
                ]
            ),
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                monitoring_accounts=[
                    monitor.MonitoringAccountDestinationArgs(
                        account_resource_id=self.workspace.id, name=DESTINATION
                    )
                ]
            ),
            data_flows=[monitor.DataFlowArgs(streams=[PROMETHEUS_STREAM], destinations=[DESTINATION])],
            tags=tags,
            opts=self.child_opts(was="prometheus-dcr"),
        )
        monitor.DataCollectionRuleAssociation(
            self.child_name("dcra"),
            association_name="ContainerInsightsMetricsExtension",
            resource_uri=args.cluster_id,
            data_collection_rule_id=rule.id,
            description="Sends the cluster's Prometheus metrics through the MSProm rule",
            opts=self.child_opts(was="prometheus-dcra"),
        )
        monitor.DataCollectionRuleAssociation(
            self.child_name("dcea"),
            # The fixed name AKS's metrics add-on looks up for its configuration endpoint.
            association_name="configurationAccessEndpoint",
            resource_uri=args.cluster_id,
            data_collection_endpoint_id=endpoint.id,
            opts=self.child_opts(was="prometheus-dcea"),
        )
        self.workspace_id = self.workspace.id
        self.query_endpoint = self.workspace.metrics.apply(lambda m: m.prometheus_query_endpoint if m else "")
        self.register_outputs({"workspaceId": self.workspace_id, "queryEndpoint": self.query_endpoint})
