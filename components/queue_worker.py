"""The async queue's worker: Deployment (pinned by digest, non-root, read-only root filesystem, exec
probes on a health file), its KEDA ScaledObject on the request queue (0 to N), and a NetworkPolicy
that lets it reach only DNS, its model's pods, and Service Bus/Entra ID over TLS.

Where it runs: the system pool. Every user pool of this platform is a GPU pool (tainted
``sku=gpu``), and a CPU pod that tolerated it would make the cluster autoscaler (or Karpenter) add a
GPU node for it alone, and hold one after its model left; spot would cost a delivery per eviction.
The system pool is on-demand and always has a node, so the worker starts in seconds while the GPU
cold-starts; the worker is as small as an add-on (100m CPU, 192 MiB requested, limits 500m/384 MiB,
at most ``max_replicas`` pods). It tolerates ``CriticalAddonsOnly`` and selects
``kubernetes.azure.com/mode: system``; it has no PriorityClass, so it never preempts an add-on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment, DeploymentSpecArgs
from pulumi_kubernetes.core.v1 import (
    ContainerArgs,
    EmptyDirVolumeSourceArgs,
    EnvVarArgs,
    ExecActionArgs,
    KeyToPathArgs,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    SecretVolumeSourceArgs,
    TolerationArgs,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.networking.v1 import (
    IPBlockArgs,
    NetworkPolicy,
    NetworkPolicyEgressRuleArgs,
    NetworkPolicyPeerArgs,
    NetworkPolicyPortArgs,
    NetworkPolicySpecArgs,
)

from components.child_names import Component
from components.inference_refs import QueueRefs
from components.kube_annotations import SKIP_AWAIT
from components.model_common import DNS_NAMESPACE, restricted_security_context
from facts.platform import SYSTEM_POOL_TAINT, system_pool_selector, system_pool_toleration
from facts.tags import k8s_labels
from renderers.api_keys import API_KEYS_SECRET, WORKER_CONSUMER, secret_key
from renderers.queue_worker import worker_env, worker_scaled_object_spec
from sizing.deployments import ModelPlan
from sizing.queue_worker import WORKER_LABELS, WORKER_NAME, WORKER_UID, WorkerPlan
from sizing.workloads import (
    KAITO_INFERENCESET_POD_LABEL,
    KAITO_PORT,
    KAITO_WORKSPACE_POD_LABEL,
    KAITO_WORKSPACE_SUFFIX,
    MODEL_LABEL,
    VLLM_PORT,
    kaito_kind,
)

HEALTH_FILE = "/tmp/healthy"
API_KEY_DIR = "/var/run/model-api-key"
API_KEY_FILE_ENV = "MODEL_API_KEY_FILE"  # worker/model_client.py reads the key from this file
SYSTEM_POOL_TOLERATION = TolerationArgs(**system_pool_toleration(), effect=SYSTEM_POOL_TAINT.effect)
# The workload identity webhook mutates only pods with this label (AKS workload identity docs).
WORKLOAD_IDENTITY_LABEL = {"azure.workload.identity/use": "true"}
SERVICE_BUS_PORTS = (
    5671,
    443,
)  # AMQP over TLS (the SDK's default), and HTTPS: Entra ID, AMQP-over-WebSockets


@dataclass(frozen=True)
class QueueWorkerArgs:
    worker: WorkerPlan
    model: ModelPlan
    queue: QueueRefs
    namespace: str
    kube: pulumi.ResourceOptions
    api_key: bool = False  # the models check API keys: the worker sends its own (renderers.api_keys)


def model_pods(model: ModelPlan) -> tuple[dict[str, str], int]:
    """The model's pod labels and serving port (the worker's egress target behind its Service)."""
    name = model.config.name
    if model.config.runtime == "vllm":
        return {MODEL_LABEL: name}, VLLM_PORT
    if kaito_kind(model) == "InferenceSet":
        return {KAITO_INFERENCESET_POD_LABEL: name}, KAITO_PORT
    return {KAITO_WORKSPACE_POD_LABEL: name + KAITO_WORKSPACE_SUFFIX}, KAITO_PORT


class QueueWorker(Component):
    """The worker that drains the async queue into one model (only when its image is set)."""

    def __init__(self, name: str, args: QueueWorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:models:QueueWorker", name, opts)
        plan, queue = args.worker, args.queue
        assert plan.image is not None and queue.worker_service_account is not None
        version = plan.image.rsplit("@sha256:", 1)[1][:12]
        labels = {
            **k8s_labels(WORKER_NAME, "queue-worker", instance=WORKER_NAME, version=version),
            **WORKER_LABELS,
        }
        selector = dict(WORKER_LABELS)
        fqdn = pulumi.Output.concat(queue.namespace, ".servicebus.windows.net")
        env = [EnvVarArgs(name=k, value=v) for k, v in worker_env(plan, fqdn, HEALTH_FILE).items()]
        mounts = [VolumeMountArgs(name="tmp", mount_path="/tmp")]
        volumes = [VolumeArgs(name="tmp", empty_dir=EmptyDirVolumeSourceArgs(size_limit="64Mi"))]
        if args.api_key:
            # Its key as a file from the CSI-synced Secret (never an environment value).
            env.append(EnvVarArgs(name=API_KEY_FILE_ENV, value=f"{API_KEY_DIR}/key"))
            mounts.append(VolumeMountArgs(name="model-api-key", mount_path=API_KEY_DIR, read_only=True))
            volumes.append(
                VolumeArgs(
                    name="model-api-key",
                    secret=SecretVolumeSourceArgs(
                        secret_name=API_KEYS_SECRET,
                        items=[KeyToPathArgs(key=secret_key(WORKER_CONSUMER), path="key")],
                    ),
                )
            )
        health = ProbeArgs(
            exec_=ExecActionArgs(command=["python", "-m", "worker.health"]),
            period_seconds=20,
            timeout_seconds=10,
            failure_threshold=3,
        )
        container = ContainerArgs(
            name="worker",
            image=plan.image,
            image_pull_policy="Always",  # pinned by digest: "Always" only re-checks the manifest
            env=env,
            resources=ResourceRequirementsArgs(
                requests={"cpu": "100m", "memory": "192Mi"}, limits={"cpu": "500m", "memory": "384Mi"}
            ),
            startup_probe=ProbeArgs(
                exec_=ExecActionArgs(command=["python", "-m", "worker.health"]),
                period_seconds=5,
                timeout_seconds=10,
                failure_threshold=24,  # two minutes to get a token and open the AMQP link
            ),
            liveness_probe=health,
            readiness_probe=health,
            security_context=restricted_security_context(WORKER_UID),
            volume_mounts=mounts,
        )
        self.deployment = Deployment(
            self.child_name("deployment"),
            metadata=ObjectMetaArgs(
                name=WORKER_NAME, namespace=args.namespace, labels=labels, annotations=SKIP_AWAIT
            ),
            spec=DeploymentSpecArgs(
                replicas=0,  # KEDA owns the count: zero until a message waits
                selector=LabelSelectorArgs(match_labels=selector),
                template=PodTemplateSpecArgs(
                    metadata=ObjectMetaArgs(labels={**labels, **WORKLOAD_IDENTITY_LABEL}),
                    spec=PodSpecArgs(
                        service_account_name=queue.worker_service_account,
                        automount_service_account_token=False,
                        termination_grace_period_seconds=plan.termination_grace_seconds,
                        security_context=PodSecurityContextArgs(
                            run_as_non_root=True,
                            run_as_user=WORKER_UID,
                            run_as_group=WORKER_UID,
                            fs_group=WORKER_UID,
                            seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        node_selector=system_pool_selector(),
                        tolerations=[SYSTEM_POOL_TOLERATION],
                        containers=[container],
                        volumes=volumes,
                    ),
                ),
            ),
            opts=self.child_opts(
                was=f"{self.was}-deployment", base=args.kube, ignore_changes=["spec.replicas"]
            ),
        )
        CustomResource(
            self.child_name("scaled-object"),
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=ObjectMetaArgs(name=WORKER_NAME, namespace=args.namespace, labels=labels),
            spec=worker_scaled_object_spec(plan, queue.namespace, queue.trigger_auth),
            opts=self.child_opts(
                was=f"{self.was}-scaled-object", base=args.kube, depends_on=[self.deployment]
            ),
        )
        pods, port = model_pods(args.model)
        dns = [NetworkPolicyPortArgs(port=53, protocol=p) for p in ("UDP", "TCP")]
        NetworkPolicy(
            self.child_name("network-policy"),
            metadata=ObjectMetaArgs(name=WORKER_NAME, namespace=args.namespace, labels=labels),
            spec=NetworkPolicySpecArgs(
                pod_selector=LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress", "Egress"],  # no ingress rule: nothing calls the worker
                egress=[
                    NetworkPolicyEgressRuleArgs(
                        to=[
                            NetworkPolicyPeerArgs(
                                namespace_selector=LabelSelectorArgs(
                                    match_labels={"kubernetes.io/metadata.name": DNS_NAMESPACE}
                                )
                            )
                        ],
                        ports=dns,
                    ),
                    # The model's Service resolves to its pods: policies see the pod port.
                    NetworkPolicyEgressRuleArgs(
                        to=[NetworkPolicyPeerArgs(pod_selector=LabelSelectorArgs(match_labels=pods))],
                        ports=[NetworkPolicyPortArgs(port=port, protocol="TCP")],
                    ),
                    NetworkPolicyEgressRuleArgs(
                        to=[NetworkPolicyPeerArgs(ip_block=IPBlockArgs(cidr="0.0.0.0/0"))],
                        ports=[NetworkPolicyPortArgs(port=p, protocol="TCP") for p in SERVICE_BUS_PORTS],
                    ),
                ],
            ),
            opts=self.child_opts(was=f"{self.was}-network-policy", base=args.kube),
        )
        self.register_outputs({"deployment": WORKER_NAME})
