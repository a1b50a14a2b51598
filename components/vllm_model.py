"""A model served by vLLM standalone: the runtime with true GPU scale to zero.

Deployment (pinned image, derived args, GPU or MIG request, the pool's tolerations and node selector,
probes sized to the model's load time, a restricted security context), Service (port 80), PDB,
NetworkPolicy, a ReadWriteMany model cache on Azure Files NFS, and the KEDA ScaledObject (plus the
HTTP add-on's HTTPScaledObject for serving models when the add-on is on).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.apps.v1 import (
    Deployment,
    DeploymentSpecArgs,
    DeploymentStrategyArgs,
    RollingUpdateDeploymentArgs,
)
from pulumi_kubernetes.core.v1 import (
    ContainerArgs,
    ContainerPortArgs,
    EmptyDirVolumeSourceArgs,
    EnvVarArgs,
    ExecActionArgs,
    HTTPGetActionArgs,
    LifecycleArgs,
    LifecycleHandlerArgs,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpecArgs,
    PersistentVolumeClaimVolumeSourceArgs,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    TolerationArgs,
    VolumeArgs,
    VolumeMountArgs,
    VolumeResourceRequirementsArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget, PodDisruptionBudgetSpecArgs

from components.child_names import Component
from components.inference_namespace import SECRETS_MOUNT, hf_token_volume
from components.key_vault import HF_TOKEN_SECRET
from components.kube_annotations import SKIP_AWAIT
from components.model_common import (
    ModelContext,
    caller_service,
    http_scaled_object,
    network_policy,
    restricted_security_context,
    scaled_object,
)
from components.model_weights import seed_job, wait_for_weights
from facts.tags import k8s_labels
from facts.vllm_runai import ACCOUNT_ENV, WORKLOAD_IDENTITY_LABEL
from renderers.api_keys import API_KEYS_MOUNT, API_KEYS_SECRET_PROVIDER_CLASS, api_key_args
from renderers.autoscaling import cron_trigger, http_trigger, prometheus_trigger
from renderers.model_weights import HF_MODEL_ANNOTATION, stream_args
from renderers.vllm import (
    VLLM_COMMAND,
    VLLM_GID,
    VLLM_UID,
    WRITABLE_MOUNTS,
    prestop_command,
    vllm_args,
    vllm_environment,
)
from sizing.autoscaling import wake_up_sources
from sizing.workloads import (
    MODEL_LABEL,
    PROBE_PERIOD_SECONDS,
    RUNTIME_LABEL,
    VLLM_IMAGE,
    VLLM_PORT,
    VLLM_VERSION,
    drain_seconds,
    pod_resources,
    progress_deadline_seconds,
    replica_floor,
    startup_budget_seconds,
    workload_scheduling,
)

MODEL_CACHE_STORAGE_CLASS = "aks-llm-model-cache"


@dataclass(frozen=True)
class VllmModelArgs:
    context: ModelContext
    kube: pulumi.ResourceOptions  # the Kubernetes provider of the model's objects


class VllmModel(Component):
    """One vLLM model: everything from the Deployment to its ScaledObject."""

    def __init__(self, name: str, args: VllmModelArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:models:VllmModel", name, opts)
        ctx = args.context
        plan, refs = ctx.plan, ctx.inference
        model = plan.config.name
        labels = k8s_labels(model, "inference-server", instance=model, version=VLLM_VERSION)
        selector = {MODEL_LABEL: model}
        pod_labels = {**labels, **selector, RUNTIME_LABEL: "vllm"}
        if plan.weights.streamed:
            pod_labels[WORKLOAD_IDENTITY_LABEL] = "true"  # the streamer authenticates as the identity
        resources = pod_resources(plan)

        cache = PersistentVolumeClaim(
            self.child_name("model-cache"),
            metadata=ObjectMetaArgs(
                name=f"{model}-model-cache", namespace=refs.namespace, labels=labels, annotations=SKIP_AWAIT
            ),
            spec=PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany"],
                storage_class_name=MODEL_CACHE_STORAGE_CLASS,
                resources=VolumeResourceRequirementsArgs(requests={"storage": f"{resources.cache_gib}Gi"}),
            ),
            opts=self.child_opts(was=f"{self.was}-model-cache", base=args.kube),
        )
        weights = refs.weights
        if weights is not None and plan.config.revision is not None:
            seed_job(
                self,
                plan,
                namespace=refs.namespace,
                account_name=weights.account_name,
                container=weights.container,
                cache_claim=f"{model}-model-cache",
                hf_token_secret=refs.hf_token_secret if plan.gated else None,
                hf_token_key=refs.hf_token_key,
                opts=pulumi.ResourceOptions.merge(
                    args.kube, pulumi.ResourceOptions(parent=self, depends_on=[cache])
                ),
            )
        self.deployment = Deployment(
            self.child_name("deployment"),
            metadata=ObjectMetaArgs(
                name=model, namespace=refs.namespace, labels=labels, annotations=SKIP_AWAIT
            ),
            spec=self._deployment_spec(ctx, pod_labels, selector),
            # KEDA owns the replica count after creation.
            opts=self.child_opts(
                was=f"{self.was}-deployment",
                base=args.kube,
                ignore_changes=["spec.replicas"],
                depends_on=[cache],
            ),
        )
        self.service = caller_service(self, ctx, selector, "http", labels, args.kube)
        PodDisruptionBudget(
            self.child_name("pdb"),
            metadata=ObjectMetaArgs(name=model, namespace=refs.namespace, labels=labels),
            spec=PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=LabelSelectorArgs(match_labels=selector),
                # A replica that never became ready (e.g. stuck downloading) must not block a drain.
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
            opts=self.child_opts(was=f"{self.was}-pdb", base=args.kube),
        )
        wake_up = wake_up_sources(plan, http_addon=refs.http_addon is not None, queue=refs.queue is not None)
        http_fronted = "http" in wake_up
        network_policy(
            self,
            ctx,
            LabelSelectorArgs(match_labels=selector),
            VLLM_PORT,
            labels,
            args.kube,
            http_fronted=http_fronted,
        )
        triggers = [
            prometheus_trigger(
                plan, refs.namespace, refs.prometheus_query_endpoint, refs.prometheus_trigger_auth
            )
        ]
        if plan.config.schedule is not None:
            triggers.append(cron_trigger(plan.config.schedule))
        after_deployment = pulumi.ResourceOptions.merge(
            args.kube, pulumi.ResourceOptions(depends_on=[self.deployment])
        )
        if http_fronted and refs.http_addon is not None:
            http_scaled_object(self, ctx, labels, after_deployment)
            triggers.append(http_trigger(plan, refs.http_addon.external_scaler_address))
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": model}
        scaled_object(self, ctx, target, triggers, labels, after_deployment)
        self.register_outputs({"deployment": model})

    def _deployment_spec(
        self, ctx: ModelContext, pod_labels: dict[str, str], selector: dict[str, str]
    ) -> DeploymentSpecArgs:
        plan, refs = ctx.plan, ctx.inference
        model = plan.config.name
        scheduling = workload_scheduling(plan)
        resources = pod_resources(plan)
        budget = startup_budget_seconds(plan)
        health = HTTPGetActionArgs(path="/health", port="http")
        volumes = [
            VolumeArgs(
                name="model-cache",
                persistent_volume_claim=PersistentVolumeClaimVolumeSourceArgs(
                    claim_name=f"{model}-model-cache"
                ),
            ),
            VolumeArgs(
                name="shm",
                empty_dir=EmptyDirVolumeSourceArgs(medium="Memory", size_limit=f"{resources.shm_gib}Gi"),
            ),
            VolumeArgs(name="tmp", empty_dir=EmptyDirVolumeSourceArgs(size_limit="4Gi")),
            VolumeArgs(name="home", empty_dir=EmptyDirVolumeSourceArgs(size_limit="20Gi")),
        ]
        mounts = [VolumeMountArgs(name=name, mount_path=path) for name, path in WRITABLE_MOUNTS.items()]
        # USER/LOGNAME and every cache directory on a writable mount: the UID has no passwd entry and the
        # root filesystem is read-only (renderers.vllm.vllm_environment, tested under that UID).
        env = [EnvVarArgs(name=k, value=v) for k, v in vllm_environment().items()]
        if plan.weights.streamed and refs.weights is not None:
            env.append(EnvVarArgs(name=ACCOUNT_ENV, value=refs.weights.account_name))
        token = refs.hf_token_volume() if plan.gated else None
        if token is not None:
            # The token as a file from the CSI volume (huggingface_hub reads HF_TOKEN_PATH), never as an
            # environment variable (Checkov CKV_K8S_35); the pod runs as the inference ServiceAccount,
            # whose workload identity may read the vault.
            volume, mount = token
            volumes.append(volume)
            mounts.append(mount)
            env.append(EnvVarArgs(name="HF_TOKEN_PATH", value=f"{SECRETS_MOUNT}/{HF_TOKEN_SECRET}"))
        if ctx.api_keys:
            # API keys (issue 23): vLLM reads them from a config file the CSI driver mounts (--config);
            # no key in the pod spec or the environment (renderers.api_keys).
            csi = hf_token_volume(API_KEYS_SECRET_PROVIDER_CLASS)[0].csi
            volumes.append(VolumeArgs(name="api-keys", csi=csi))
            mounts.append(VolumeMountArgs(name="api-keys", mount_path=API_KEYS_MOUNT, read_only=True))
        init_containers = []
        if plan.weights.streamed and refs.weights is not None:
            # vLLM starts only once the seeding Job has finished (first `up`, new revision).
            init_containers.append(
                wait_for_weights(
                    plan,
                    namespace=refs.namespace,
                    account_name=refs.weights.account_name,
                    container=refs.weights.container,
                    tmp_volume="tmp",
                )
            )
        container = ContainerArgs(
            name="vllm",
            image=VLLM_IMAGE,
            image_pull_policy="Always",  # pinned by digest: "Always" only re-checks the manifest
            command=list(VLLM_COMMAND),
            args=[
                *stream_args(plan, vllm_args(plan), resources.cpu_milli, resources.memory_gib),
                *api_key_args(ctx.api_keys),
            ],
            ports=[ContainerPortArgs(name="http", container_port=VLLM_PORT, protocol="TCP")],
            env=env,
            resources=ResourceRequirementsArgs(requests=resources.requests(), limits=resources.requests()),
            startup_probe=ProbeArgs(
                http_get=health,
                period_seconds=PROBE_PERIOD_SECONDS,
                timeout_seconds=5,
                failure_threshold=budget // PROBE_PERIOD_SECONDS,
            ),
            readiness_probe=ProbeArgs(
                http_get=health, period_seconds=5, timeout_seconds=5, failure_threshold=3
            ),
            liveness_probe=ProbeArgs(
                http_get=health, period_seconds=15, timeout_seconds=10, failure_threshold=4
            ),
            security_context=restricted_security_context(VLLM_UID, VLLM_GID),
            volume_mounts=mounts,
            # Out of rotation, then wait for running requests (bounded): vLLM v0.31.0 aborts them on
            # SIGTERM (sizing.drain); terminationGracePeriodSeconds below covers hook + shutdown.
            lifecycle=LifecycleArgs(
                pre_stop=LifecycleHandlerArgs(exec_=ExecActionArgs(command=prestop_command(plan)))
            ),
        )
        return DeploymentSpecArgs(
            replicas=replica_floor(plan),
            selector=LabelSelectorArgs(match_labels=selector),
            strategy=DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0),
            ),
            progress_deadline_seconds=progress_deadline_seconds(plan),
            template=PodTemplateSpecArgs(
                # Streamed from Blob: which hub model and revision the az:// path holds (the contract tier
                # checks the argv with it in place of the URI, which it cannot read).
                metadata=ObjectMetaArgs(
                    labels=pod_labels,
                    annotations={HF_MODEL_ANNOTATION: f"{plan.hf_id}@{plan.config.revision}"}
                    if plan.weights.streamed
                    else None,
                ),
                spec=PodSpecArgs(
                    service_account_name=refs.service_account,
                    automount_service_account_token=False,
                    termination_grace_period_seconds=drain_seconds(plan),
                    security_context=PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=VLLM_UID,
                        run_as_group=VLLM_GID,
                        fs_group=VLLM_GID,
                        seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    node_selector=dict(scheduling.node_selector),
                    tolerations=[
                        TolerationArgs(
                            key=t["key"], operator=t["operator"], value=t["value"], effect=t["effect"]
                        )
                        for t in scheduling.tolerations
                    ],
                    init_containers=init_containers or None,
                    containers=[container],
                    volumes=volumes,
                ),
            ),
        )
