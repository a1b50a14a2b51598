"""A model served by KAITO: an InferenceSet that KEDA scales (or, for a fixed single replica, a
Workspace), its ``inference_config.yaml`` ConfigMap, our own Service and NetworkPolicy.

KAITO provisions whole-GPU nodes of ``resource.instanceType`` (the pool's VM size) itself, labelled
with ``resource.labelSelector``: a label set only KAITO's nodes carry (``sizing.workloads``). With the
helm install's ``nodeProvisioner: none`` (bring-your-own nodes) there is no instanceType and the
selector is the pool's own node label instead.

Callers use ``<model>.<namespace>`` on port 80 for both kinds: KAITO names each InferenceSet replica's
Workspace (and Service) randomly, so our Service selects the replicas' leader pods itself.

Drain (a limitation): KAITO renders the inference StatefulSet itself and offers no preStop hook or
grace period for preset models. At v0.12.0 a Workspace's ``inference`` takes either ``preset`` or a
full pod ``template``, never both (``api/v1beta1/workspace_validation.go:831-834``, "Preset and
Template cannot be set at the same time"), and ``GenerateStatefulSetManifest``
(``pkg/workspace/manifests/manifests.go:135``) sets neither a lifecycle hook nor
``terminationGracePeriodSeconds`` on the preset pod, so it gets Kubernetes' 30 s default. The vLLM
KAITO runs (0.25.1 at KAITO v0.12.0, ``facts.kaito_versions.KAITO_VLLM``) then cuts its running
generations on a scale-down, rollout or drain (as vLLM does on SIGTERM by default, ``sizing.drain``);
only ``runtime: vllm`` gets the graceful drain. The InferenceSet's pods are removed one at a time
(its scale-down policy), which limits how many generations are cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import ConfigMap
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

from components.child_names import Component
from components.model_common import ModelContext, caller_service, network_policy, scaled_object
from facts.kaito_versions import KaitoCapabilities
from facts.tags import k8s_labels
from renderers.autoscaling import cron_trigger, prometheus_trigger
from renderers.kaito import kaito_inference_config
from sizing.deployments import ModelPlan
from sizing.workloads import (
    KAITO_INFERENCESET_POD_LABEL,
    KAITO_PORT,
    KAITO_WORKSPACE_POD_LABEL,
    KAITO_WORKSPACE_SUFFIX,
    POD_INDEX_LABEL,
    kaito_instance_type,
    kaito_kind,
    kaito_label_selector,
    kaito_nodes_per_replica,
    kaito_preset,
    replica_floor,
    workload_scheduling,
)

KAITO_API = "kaito.sh/v1beta1"
# Skip KAITO's post-load benchmark (about 90 s on every new replica); its results are not used here.
KAITO_ANNOTATIONS = {"kaito.sh/disable-benchmark": "true"}


class KaitoWorkspace(pulumi.CustomResource):
    """``kaito.sh/v1beta1`` Workspace. Its ``resource`` and ``inference`` sit at the top level, which
    ``pulumi_kubernetes.apiextensions.CustomResource`` drops (it sends only ``spec`` and ``metadata``,
    pulumi/pulumi-kubernetes#2363): this class declares the fields as inputs itself."""

    def __init__(
        self,
        name: str,
        metadata: ObjectMetaArgs,
        resource: Mapping[str, Any],
        inference: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "apiVersion": KAITO_API,
            "kind": "Workspace",
            "metadata": metadata,
            "resource": dict(resource),
            "inference": dict(inference),
        }
        super().__init__(f"kubernetes:{KAITO_API}:Workspace", name, props, opts)


@dataclass(frozen=True)
class KaitoModelArgs:
    context: ModelContext
    byo_nodes: bool  # the helm install's nodeProvisioner: none (KAITO on the pool's own nodes)
    version: str  # the KAITO release, for the version label
    kube: pulumi.ResourceOptions  # the Kubernetes provider of the model's objects
    # What that release can do (the plan's: planning.stack_plan.KaitoRelease.rendered_for).
    capabilities: KaitoCapabilities
    # Labels KAITO puts on the nodes it provisions besides its selector (helm mode: the driver label
    # that brings the program's device plugin there, the GPU Operator's opt-out).
    node_labels: Mapping[str, str] | None = None


def workspace_fields(
    plan: ModelPlan,
    caps: KaitoCapabilities,
    node_labels: Mapping[str, str],
    *,
    byo_nodes: bool,
    hf_token_secret: str | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(resource, inference, annotations) of a Workspace at KAITO release ``caps``.

    A release without an estimator (0.6.0) sizes by ``resource.count`` (default 1; the nodes the
    preset's GPU requirements need, ``facts.kaito_versions.preset_nodes``), takes a registered preset
    only, and wants ``modelAccessSecret`` exactly for presets that download at run time
    (``api/v1beta1/workspace_validation.go`` @v0.6.0 lines 471-476: set otherwise, it is refused).
    """
    model = plan.config.name
    resource: dict[str, Any] = {}
    if not byo_nodes:
        resource["instanceType"] = kaito_instance_type(plan)
    if not caps.estimator:
        resource["count"] = kaito_nodes_per_replica(plan)
    resource["labelSelector"] = {"matchLabels": dict(node_labels)}
    preset: dict[str, Any] = {"name": kaito_preset(plan)}
    needs = caps.presets.get(preset["name"]) if caps.presets is not None else None
    wants_secret = needs.download_at_runtime if needs is not None else plan.gated
    if wants_secret and hf_token_secret is not None:
        preset["presetOptions"] = {"modelAccessSecret": hf_token_secret}
    inference = {"preset": preset, "config": f"{model}-inference-config"}
    return resource, inference, dict(KAITO_ANNOTATIONS) if caps.disable_benchmark_annotation else {}


class KaitoModel(Component):
    """One KAITO model: ConfigMap, InferenceSet (+ KEDA ScaledObject) or Workspace, Service, policy."""

    def __init__(
        self,
        name: str,
        args: KaitoModelArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("aksllm:models:KaitoModel", name, opts)
        ctx, byo_nodes, version = args.context, args.byo_nodes, args.version
        plan, refs = ctx.plan, ctx.inference
        model = plan.config.name
        labels = k8s_labels(model, "inference-server", instance=model, version=version)
        self.kind = kaito_kind(plan)

        config_map = ConfigMap(
            self.child_name("inference-config"),
            metadata=ObjectMetaArgs(
                name=f"{model}-inference-config", namespace=refs.namespace, labels=labels
            ),
            data={"inference_config.yaml": kaito_inference_config(plan)},
            opts=self.child_opts(was=f"{self.was}-inference-config", base=args.kube),
        )
        caps = args.capabilities
        base_labels = workload_scheduling(plan).node_selector if byo_nodes else kaito_label_selector(plan)
        node_labels = {**base_labels, **(args.node_labels or {})}
        resource, inference, annotations = workspace_fields(
            plan, caps, node_labels, byo_nodes=byo_nodes, hf_token_secret=refs.hf_token_secret
        )
        # The Workspace/InferenceSet waits for its ConfigMap and for what serves its kind: the KAITO
        # release in helm mode (CRDs and validating webhook ready: an atomic release waits for its pods),
        # the cluster with the add-on enabled otherwise (through the Kubernetes provider).
        served_by = [refs.kaito_release] if refs.kaito_release is not None else []
        after_config = pulumi.ResourceOptions.merge(
            args.kube, pulumi.ResourceOptions(depends_on=[config_map, *served_by])
        )

        if self.kind == "Workspace":
            workload = f"{model}{KAITO_WORKSPACE_SUFFIX}"
            pods = {KAITO_WORKSPACE_POD_LABEL: workload}
            self.workload: pulumi.Resource = KaitoWorkspace(
                self.child_name("workspace"),
                ObjectMetaArgs(
                    name=workload, namespace=refs.namespace, labels=labels, annotations=annotations
                ),
                resource,
                inference,
                self.child_opts(was=f"{self.was}-workspace", base=after_config),
            )
        else:
            pods = {KAITO_INFERENCESET_POD_LABEL: model}
            self.workload = CustomResource(
                self.child_name("inference-set"),
                api_version=KAITO_API,
                kind="InferenceSet",
                metadata=ObjectMetaArgs(
                    name=model, namespace=refs.namespace, labels=labels, annotations=annotations
                ),
                spec={
                    "replicas": replica_floor(plan),
                    "labelSelector": resource.pop("labelSelector"),
                    # KAITO's NodeClaims escape the pools' limits: this caps the GPU nodes it may create.
                    "nodeCountLimit": plan.replicas_max * kaito_nodes_per_replica(plan),
                    "template": {"resource": resource, "inference": inference},
                },
                # KEDA owns the replica count after creation.
                opts=self.child_opts(
                    was=f"{self.was}-inference-set", base=after_config, ignore_changes=["spec.replicas"]
                ),
            )
            triggers = [
                prometheus_trigger(
                    plan, refs.namespace, refs.prometheus_query_endpoint, refs.prometheus_trigger_auth
                )
            ]
            if plan.config.schedule is not None:
                triggers.append(cron_trigger(plan.config.schedule))
            # The InferenceSet (scale subresource), never the StatefulSet KAITO creates per replica.
            target = {"apiVersion": KAITO_API, "kind": "InferenceSet", "name": model}
            scaled_object(
                self,
                ctx,
                target,
                triggers,
                labels,
                pulumi.ResourceOptions.merge(args.kube, pulumi.ResourceOptions(depends_on=[self.workload])),
            )
        # A replica on several nodes: its pods talk Ray and pipeline-parallel traffic on many ports.
        multi_node = kaito_nodes_per_replica(plan) > 1
        # The leader pod (index 0) of each replica serves; in multi-node replicas the others run Ray. A
        # one-node Workspace of KAITO 0.6.0 is a Deployment: its pods carry no pod-index label.
        serving = {**pods, POD_INDEX_LABEL: "0"} if caps.statefulset_pods or multi_node else pods
        self.service = caller_service(self, ctx, serving, KAITO_PORT, labels, args.kube)
        network_policy(
            self,
            ctx,
            LabelSelectorArgs(match_labels=pods),
            KAITO_PORT,
            labels,
            args.kube,
            peers_in_namespace=True,
            replica_peers=LabelSelectorArgs(match_labels=pods) if multi_node else None,
        )
        self.register_outputs({"kind": self.kind})
