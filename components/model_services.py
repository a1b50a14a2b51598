"""Every model of the stack as a running, sized, autoscaled inference service (``VllmModel`` or
``KaitoModel`` each), the model cache's StorageClass and the scrape jobs that bring vLLM's metrics
into Azure Managed Prometheus for KEDA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.core.v1 import ConfigMap
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
from pulumi_kubernetes.storage.v1 import StorageClass

from components.child_names import Component
from components.inference_refs import InferenceRuntimeRefs
from components.kaito_model import KaitoModel, KaitoModelArgs
from components.model_common import METRICS_NAMESPACE, ModelContext
from components.outputs import ModelSummary
from components.queue_worker import QueueWorker, QueueWorkerArgs
from components.vllm_model import MODEL_CACHE_STORAGE_CLASS, VllmModel, VllmModelArgs
from config.schema import StackConfig
from facts.tags import k8s_labels
from planning.stack_plan import KaitoRelease
from renderers.api_keys import WORKER_CONSUMER, consumers
from renderers.scrape import AMA_METRICS_CONFIG_MAP, AMA_METRICS_KEY, prometheus_config
from sizing.autoscaling import wake_up_sources
from sizing.deployments import ModelPlan
from sizing.gpu_software import operator_pools_present
from sizing.queue_worker import WorkerPlan
from sizing.workloads import (
    cold_start,
    kaito_kind,
    replica_floor,
    seed_time,
    seed_wait_seconds,
    served_model_name,
    service_url,
)

# Azure Files over NFS 4.1 (premium file shares only; the CSI driver creates the storage account with
# a network rule for the cluster's subnet). ReadWriteMany: every replica of a model reads one cache.
# mountPermissions 0777: NFS ignores fsGroup, and the vLLM pods run as a non-root UID.
# (kubernetes-sigs/azurefile-csi-driver docs/driver-parameters.md)
NFS_PARAMETERS = {"protocol": "nfs", "skuName": "Premium_LRS", "mountPermissions": "0777"}
NFS_MOUNT_OPTIONS = ["nconnect=4", "noresvport", "actimeo=30"]


@dataclass(frozen=True)
class ModelServicesArgs:
    plans: Sequence[ModelPlan]
    config: StackConfig
    inference: InferenceRuntimeRefs
    kaito: KaitoRelease  # the plan's: the release KAITO models run under
    worker: WorkerPlan | None = None  # the plan's queue worker (None without the queue)
    registry_private: bool = False  # the plan's: the worker's registry is reached by a private endpoint only


class ModelServices(Component):
    """All model services; ``outputs`` maps each model name to how callers reach it."""

    outputs: dict[str, ModelSummary]
    notes: list[str]
    worker: WorkerPlan | None = None

    def __init__(
        self, name: str, args: ModelServicesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aksllm:models:ModelServices", name, opts)
        cfg, refs = args.config, args.inference
        kube = pulumi.ResourceOptions(parent=self, depends_on=[refs.namespace_resource])
        self.outputs, self.notes = {}, []
        if not args.plans:
            self.register_outputs({})
            return
        ConfigMap(
            self.child_name("metrics-scrape"),
            metadata=ObjectMetaArgs(
                name=AMA_METRICS_CONFIG_MAP,
                namespace=METRICS_NAMESPACE,
                labels=k8s_labels("model-metrics", "monitoring", instance="model-metrics", version="v1"),
            ),
            data={
                AMA_METRICS_KEY: prometheus_config(refs.namespace, gpu_operator=operator_pools_present(cfg))
            },
            opts=self.child_opts(was="model-metrics-scrape"),
        )
        if any(p.config.runtime == "vllm" for p in args.plans):
            StorageClass(
                self.child_name("model-cache"),
                metadata=ObjectMetaArgs(
                    name=MODEL_CACHE_STORAGE_CLASS,
                    labels=k8s_labels("model-cache", "storage", instance="model-cache", version="v1"),
                ),
                provisioner="file.csi.azure.com",
                parameters=NFS_PARAMETERS,
                mount_options=NFS_MOUNT_OPTIONS,
                reclaim_policy="Delete",
                volume_binding_mode="Immediate",
                allow_volume_expansion=True,
                opts=self.child_opts(was="model-cache"),
            )
        kaito = cfg.addons.kaito
        byo = kaito.mode == "helm" and kaito.node_provisioner == "none"
        self.worker = args.worker if refs.queue is not None else None
        for plan in args.plans:
            ctx = ModelContext(
                plan,
                refs,
                cfg.addons.keda.http_addon,
                tuple(cfg.inference.caller_namespaces),
                queue_worker=self.worker,
                api_keys=consumers(cfg) if plan.config.runtime == "vllm" else (),
                gateway_namespace=cfg.gateway.namespace if cfg.gateway is not None else None,
            )
            model = plan.config.name
            child = self.child_opts(was=model)
            if plan.config.runtime == "vllm":
                VllmModel(self.child_name(model), VllmModelArgs(context=ctx, kube=kube), child)
                kind = "Deployment"
            else:
                KaitoModel(
                    self.child_name(model),
                    KaitoModelArgs(
                        context=ctx,
                        byo_nodes=byo,
                        version=args.kaito.version,
                        kube=kube,
                        capabilities=args.kaito.rendered_for,
                        node_labels=args.kaito.node_labels,
                    ),
                    child,
                )
                kind = kaito_kind(plan)
                if plan.sizing.pipeline_parallel > 1:
                    self.notes.append(
                        f"model {model} (KAITO): {plan.sizing.pipeline_parallel} nodes per replica, "
                        f"pipeline-parallel across them ({plan.sizing.parallelism}); KAITO sets the "
                        "parallelism itself: never set tensor-parallel-size across nodes"
                    )
            self.outputs[model] = self._summary(plan, refs, kind)
        self._queue_worker(args, kube)
        self.register_outputs({"models": self.outputs})

    def _queue_worker(self, args: ModelServicesArgs, kube: pulumi.ResourceOptions) -> None:
        """The worker that drains the async queue into its model, or the note saying why not yet."""
        worker, queue = self.worker, args.inference.queue
        if worker is None or queue is None:
            return
        if not worker.deployed:
            self.notes.append(
                f"async queue: the worker is not deployed yet (addons.asyncQueue.worker.image is unset), so "
                f"{worker.model} has no queue trigger and messages wait in {worker.queue} (TTL "
                f"{args.config.addons.async_queue.message_ttl_hours} h): build the image with the "
                "worker-image workflow into this stack's registry, then set the digest it records "
                "(docs/async-queue.md)"
                + (
                    "; the registry's public access is off, so run that workflow on a runner inside the VNet "
                    "(repository variable WORKER_IMAGE_RUNNER: a self-hosted runner's label): a "
                    "GitHub-hosted runner's push is refused"
                    if args.registry_private
                    else ""
                )
            )
            return
        model = next(p for p in args.plans if p.config.name == worker.model)
        QueueWorker(
            self.child_name("queue-worker"),
            QueueWorkerArgs(
                worker=worker,
                model=model,
                queue=queue,
                namespace=args.inference.namespace,
                kube=kube,
                api_key=WORKER_CONSUMER in consumers(args.config),
            ),
            self.child_opts(was="queue-worker"),
        )

    def _summary(self, plan: ModelPlan, refs: InferenceRuntimeRefs, kind: str) -> ModelSummary:
        cfg = plan.config
        deployed = self.worker is not None and self.worker.deployed and self.worker.model == cfg.name
        wake_up = wake_up_sources(plan, http_addon=refs.http_addon is not None, queue=deployed)
        floor = replica_floor(plan)
        summary: ModelSummary = {
            "url": service_url(cfg.name, refs.namespace),
            "servedModelName": served_model_name(plan),
            "runtime": cfg.runtime,
            "kind": kind,
            "pool": plan.pool.name,
            "replicasMin": floor,
            "replicasMax": plan.replicas_max,
            "scaleToZero": cfg.scale_to_zero,
            "wakeUp": wake_up if floor == 0 else [],
            "coldStart": cold_start(plan).row() | {"text": cold_start(plan).text()},
            "weightsSource": plan.weights.reason + (_seed_note(plan) if plan.weights.streamed else ""),
        }
        if "http" in wake_up and refs.http_addon is not None:
            addon = refs.http_addon
            summary["coldStartUrl"] = (
                f"http://{addon.interceptor_service}.{addon.namespace}.svc.cluster.local:{addon.interceptor_port}"
            )
            summary["coldStartHost"] = f"{cfg.name}.{refs.namespace}.svc.cluster.local"
        return summary  # a model at zero with nothing to wake it is refused (rules/models.py)


def _seed_note(plan: ModelPlan) -> str:
    """The seeding Job's predicted time and how long a pod waits for it (its init container)."""
    seed = seed_time(plan)
    return (
        f"; seeding predicted {seed.low_s / 60:.0f}-{seed.high_s / 60:.0f} min once per revision, "
        f"pods wait for it up to {seed_wait_seconds(plan) // 60} min"
    )
