"""Pieces both model runtimes share: labels, the caller-facing Service, the NetworkPolicy and the
KEDA ScaledObject (with the HTTP add-on's HTTPScaledObject where it fronts a model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    SeccompProfileArgs,
    SecurityContextArgs,
    Service,
    ServicePortArgs,
    ServiceSpecArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.networking.v1 import (
    IPBlockArgs,
    NetworkPolicy,
    NetworkPolicyEgressRuleArgs,
    NetworkPolicyIngressRuleArgs,
    NetworkPolicyPeerArgs,
    NetworkPolicyPortArgs,
    NetworkPolicySpecArgs,
)

from components.child_names import Component
from components.inference_refs import InferenceRuntimeRefs
from components.kube_annotations import SKIP_AWAIT
from config.schema import KedaHttpAddonConfig
from renderers.autoscaling import scaled_object_spec
from renderers.gateway import GATEWAY_NAME
from renderers.queue_worker import model_queue_triggers
from sizing.autoscaling import HTTP_ADDON_SCALED_OBJECT_SUFFIX
from sizing.deployments import ModelPlan
from sizing.queue_worker import WorkerPlan
from sizing.workloads import SERVICE_PORT, cooldown_seconds, http_cold_start_wait_seconds, replica_floor

METRICS_NAMESPACE = "kube-system"  # where ama-metrics (Azure Managed Prometheus' collector) runs
DNS_NAMESPACE = "kube-system"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


def restricted_security_context(uid: int, gid: int | None = None) -> SecurityContextArgs:
    """The containers' one security context: a non-root UID/GID, read-only root, no privilege escalation,
    no capabilities, the runtime's default seccomp profile (Kubernetes' restricted Pod Security profile)."""
    return SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid if gid is None else gid,
        capabilities=CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
    )


@dataclass(frozen=True)
class ModelContext:
    """What a model component needs besides its plan."""

    plan: ModelPlan
    inference: InferenceRuntimeRefs
    http_addon: KedaHttpAddonConfig
    caller_namespaces: Sequence[str] = ()
    queue_worker: WorkerPlan | None = None  # the async queue's worker, when the queue is on
    api_keys: tuple[str, ...] = ()  # consumers whose keys vLLM checks (renderers.api_keys); none: open
    gateway_namespace: str | None = None  # the gateway's pods call the model from there
    gateway_name: str = GATEWAY_NAME  # the Gateway whose pods may call (their gateway-name label)


def caller_service(
    owner: Component,
    ctx: ModelContext,
    selector: Mapping[str, str],
    target_port: int | str,
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> Service:
    """``<model>.<namespace>``: port 80 to the model's serving port, whatever the runtime."""
    name = ctx.plan.config.name
    return Service(
        owner.child_name("service"),
        metadata=ObjectMetaArgs(
            name=name, namespace=ctx.inference.namespace, labels=dict(labels), annotations=SKIP_AWAIT
        ),
        spec=ServiceSpecArgs(
            type="ClusterIP",
            selector=dict(selector),
            ports=[ServicePortArgs(name="http", port=SERVICE_PORT, target_port=target_port, protocol="TCP")],
        ),
        opts=owner.child_opts(was=f"{owner.was}-service", base=opts),
    )


def _namespace_peer(namespace: str) -> NetworkPolicyPeerArgs:
    return NetworkPolicyPeerArgs(
        namespace_selector=LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace})
    )


def ingress_namespaces(ctx: ModelContext, http_fronted: bool) -> list[str]:
    """Namespaces (besides the model's own) whose pods may reach the model's port."""
    names = [METRICS_NAMESPACE]
    if http_fronted and ctx.inference.http_addon is not None:
        names.append(ctx.inference.http_addon.namespace)
    names += [n for n in ctx.caller_namespaces if n not in names and n != ctx.inference.namespace]
    return names


def network_policy(
    owner: Component,
    ctx: ModelContext,
    pod_selector: LabelSelectorArgs,
    port: int,
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    *,
    http_fronted: bool = False,
    peers_in_namespace: bool = False,
    replica_peers: LabelSelectorArgs | None = None,
) -> NetworkPolicy:
    """Ingress only to the serving port, from the namespace, the metrics scraper, the HTTP add-on
    and the declared callers; egress only to DNS and HTTPS (the Hugging Face download), plus the
    namespace itself when replicas span pods (KAITO's multi-node Ray). ``replica_peers``: the model's
    own pods, admitted on every port (a multi-node replica's Ray and pipeline-parallel traffic)."""
    sources = [NetworkPolicyPeerArgs(pod_selector=LabelSelectorArgs())]
    sources += [_namespace_peer(n) for n in ingress_namespaces(ctx, http_fronted)]
    if ctx.gateway_namespace is not None:
        # Only the gateway's own pods in its namespace: Istio labels the pods it deploys for a Gateway
        # with gateway.networking.k8s.io/gateway-name (istio/istio 1.30.3
        # manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml lines 59-70).
        sources.append(
            NetworkPolicyPeerArgs(
                namespace_selector=_namespace_peer(ctx.gateway_namespace).namespace_selector,
                pod_selector=LabelSelectorArgs(match_labels={GATEWAY_NAME_LABEL: ctx.gateway_name}),
            )
        )
    dns = [NetworkPolicyPortArgs(port=53, protocol=p) for p in ("UDP", "TCP")]
    egress = [
        NetworkPolicyEgressRuleArgs(to=[_namespace_peer(DNS_NAMESPACE)], ports=dns),
        NetworkPolicyEgressRuleArgs(
            to=[NetworkPolicyPeerArgs(ip_block=IPBlockArgs(cidr="0.0.0.0/0"))],
            ports=[NetworkPolicyPortArgs(port=443, protocol="TCP")],
        ),
    ]
    if peers_in_namespace:
        egress.append(
            NetworkPolicyEgressRuleArgs(to=[NetworkPolicyPeerArgs(pod_selector=LabelSelectorArgs())])
        )
    ingress = [
        NetworkPolicyIngressRuleArgs(from_=sources, ports=[NetworkPolicyPortArgs(port=port, protocol="TCP")])
    ]
    if replica_peers is not None:
        ingress.append(
            NetworkPolicyIngressRuleArgs(from_=[NetworkPolicyPeerArgs(pod_selector=replica_peers)])
        )
    return NetworkPolicy(
        owner.child_name("network-policy"),
        metadata=ObjectMetaArgs(
            name=ctx.plan.config.name, namespace=ctx.inference.namespace, labels=dict(labels)
        ),
        spec=NetworkPolicySpecArgs(
            pod_selector=pod_selector,
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
        opts=owner.child_opts(was=f"{owner.was}-network-policy", base=opts),
    )


def scaled_object(
    owner: Component,
    ctx: ModelContext,
    target: dict[str, str],
    triggers: list[dict[str, Any]],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> CustomResource:
    """The model's KEDA ScaledObject (named like the model). The model the queue worker calls also
    gets the queue's triggers here, for either runtime (renderers/queue_worker.py): only once the worker
    is deployed, since nothing else consumes the queue."""
    worker, queue = ctx.queue_worker, ctx.inference.queue
    if worker is not None and queue is not None and worker.model == ctx.plan.config.name:
        triggers = [*triggers, *model_queue_triggers(worker, queue.namespace, queue.trigger_auth)]
    return CustomResource(
        owner.child_name("scaled-object"),
        api_version="keda.sh/v1alpha1",
        kind="ScaledObject",
        metadata=ObjectMetaArgs(
            name=ctx.plan.config.name, namespace=ctx.inference.namespace, labels=dict(labels)
        ),
        spec=scaled_object_spec(ctx.plan, target, triggers),
        opts=owner.child_opts(was=f"{owner.was}-scaled-object", base=opts),
    )


def http_scaled_object(
    owner: Component, ctx: ModelContext, labels: Mapping[str, str], opts: pulumi.ResourceOptions
) -> CustomResource:
    """The KEDA HTTP add-on's routing for a vLLM model: its interceptor holds a request while the
    Deployment scales from zero. KEDA allows one ScaledObject per target, so the add-on's own is
    skipped and its scaler is one trigger (external-push) of the model's ScaledObject.

    HTTPScaledObject, not InterceptorRoute: 0.14.0 added InterceptorRoute (v1beta1) and 0.15.0 logs a
    deprecation warning for HTTPScaledObject (CHANGELOG.md lines 91 and 107 @v0.15.0), but it is
    still served and the interceptor turns each one into an InterceptorRoute in memory
    (pkg/routing/table.go lines 71-140, "TODO(v1): remove the HTTPSO to IR conversion"), so routing
    and timeouts behave the same; and the CRD this program validates its manifests against
    (../shared/crds) is HTTPScaledObject's, InterceptorRoute's is not there. Move before v1, with
    InterceptorRoute's CRD pinned beside the chart."""
    plan, namespace = ctx.plan, ctx.inference.namespace
    name = plan.config.name
    addon = ctx.inference.http_addon
    if addon is not None and addon.release is not None:
        # The add-on's release installs the HTTPScaledObject CRD and its operator: wait for it.
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[addon.release]))
    wait = http_cold_start_wait_seconds(plan, ctx.http_addon.cold_start_timeout_seconds)
    return CustomResource(
        owner.child_name("http-scaled-object"),
        api_version="http.keda.sh/v1alpha1",
        kind="HTTPScaledObject",
        metadata=ObjectMetaArgs(
            name=name + HTTP_ADDON_SCALED_OBJECT_SUFFIX,
            namespace=namespace,
            labels=dict(labels),
            annotations={"httpscaledobject.keda.sh/skip-scaledobject-creation": "true"},
        ),
        spec={
            "hosts": [f"{name}.{namespace}.svc.cluster.local", f"{name}.{namespace}"],
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
                "service": name,
                "port": SERVICE_PORT,
            },
            "replicas": {"min": replica_floor(plan), "max": plan.replicas_max},
            "scaledownPeriod": cooldown_seconds(plan),
            "scalingMetric": {"concurrency": {"targetValue": plan.sizing.max_num_seqs}},
            "timeouts": {
                # Read by the 0.15.0 interceptor as the route's readiness wait (pkg/routing/table.go
                # lines 119-123 turn it into InterceptorRoute spec.timeouts.readiness); past it the
                # interceptor answers 504 (interceptor/middleware/endpoint_resolver.go lines 67-79).
                "conditionWait": f"{wait}s",
                "responseHeader": f"{ctx.http_addon.response_header_timeout_seconds}s",
            },
        },
        opts=owner.child_opts(was=f"{owner.was}-http-scaled-object", base=opts),
    )
