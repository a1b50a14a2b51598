"""The async-queue worker's plan (pure, no Pulumi): which model it calls, how many messages it holds
and how long it waits for a cold model. Its environment and the KEDA triggers of the worker and of its
model are rendered from this plan in ``renderers/queue_worker.py``.

How the queue path runs (docs/async-queue.md):

1. A producer sends a message to the request queue.
2. The worker's ScaledObject (``azure-servicebus`` on the queue, minReplicaCount 0) wakes the worker.
3. The model's ScaledObject wakes the model: its ``azure-servicebus`` trigger on the same queue
   starts the GPU while messages wait (in parallel with the worker), and a ``kubernetes-workload``
   trigger on the worker's pods keeps it up while any worker pod exists, so a cold start is never cut
   by the model's cooldown even after the worker has locked every message. (Whether Service Bus
   counts *locked* messages as active is not something this repository can check offline; KEDA reads
   ``ActiveMessageCount``, kedacore/keda v2.16.1 ``pkg/scalers/azure_servicebus_scaler.go:334``, and
   Microsoft describes active messages as "ready for delivery". The design holds either way.)
4. The worker calls the model's Service (port 80), retrying 503/connection refused/timeouts with
   backoff for up to one cold start, its lock renewed all along; it sends the result to the reply
   queue and completes the message, or abandons it (a later delivery retries), or dead-letters it
   with a reason (a 4xx, an invalid body, or no answer on the last allowed delivery).
5. With the queue empty, the worker returns to zero after its cooldown, then the model after its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from config.schema import StackConfig
from sizing.deployments import ModelPlan
from sizing.workloads import (
    kaito_preset,
    longest_generation_seconds,
    predicted_cold_start_seconds,
    served_model_name,
    service_url,
)

WORKER_NAME = "queue-worker"
WORKER_SERVICE_ACCOUNT = "queue-worker"
WORKER_IMAGE_REPOSITORY = "aks-llm-worker"  # in the stack's registry: <registry>.azurecr.io/aks-llm-worker
WORKER_UID = 10002  # the image's passwd entry (worker/Dockerfile)
MAX_DEFAULT_CONCURRENCY = 64  # threads of one worker pod when the model's batch is larger
TERMINATION_MARGIN_SECONDS = 30
# maxDeliveryCount below this dead-letters good messages: 1 (the delivery that succeeds) + 1 (a
# delivery given back when a worker pod is drained or its spot-backed model is evicted mid-wait)
# + 1 (a cold start longer than one delivery's wait, e.g. no spot capacity for a while).
MIN_DELIVERIES = 3

WORKER_LABELS = {"app.kubernetes.io/name": WORKER_NAME, "app.kubernetes.io/component": "queue-worker"}


def batch_models(config: StackConfig) -> list[str]:
    return [m.name for m in config.models if m.purpose == "batch"]


def queue_target(config: StackConfig) -> str | None:
    """The model the worker calls: ``addons.asyncQueue.model``, else the stack's only batch model."""
    queue = config.addons.async_queue
    if not queue.enabled:
        return None
    if queue.model is not None:
        return queue.model
    batch = batch_models(config)
    return batch[0] if len(batch) == 1 else None


def queue_wakes(config: StackConfig) -> str | None:
    """The model the queue can wake from zero: the worker's model, once the worker is deployed
    (``addons.asyncQueue.worker.image`` set). Without the worker the model gets no queue trigger
    (``renderers.queue_worker``), so queued messages wake nothing."""
    image = config.addons.async_queue.worker.image
    return queue_target(config) if image is not None else None


def model_wait_seconds(plan: ModelPlan) -> int:
    """One delivery's wait for the model: its predicted cold start (a node from zero plus the
    model's startup budget), the same figure the HTTP add-on waits."""
    return predicted_cold_start_seconds(plan)


def request_timeout_seconds(plan: ModelPlan) -> int:
    """One generation, twice the longest the model is sized for (at least a minute)."""
    return max(60, 2 * longest_generation_seconds(plan))


@dataclass(frozen=True)
class WorkerPlan:
    """Everything the worker's Deployment and ScaledObject, and its model's triggers, derive from."""

    model: str
    served_model_name: str
    model_url: str
    queue: str
    reply_queue: str
    max_delivery_count: int
    image: str | None  # None: left out until the image is built (plan note)
    concurrency: int
    max_replicas: int
    model_max_num_seqs: int
    model_wait_seconds: int
    request_timeout_seconds: int
    cooldown_seconds: int

    @property
    def deployed(self) -> bool:
        return self.image is not None

    @property
    def termination_grace_seconds(self) -> int:
        """A generation already at the model finishes; a cold-start wait ends in an abandon."""
        return self.request_timeout_seconds + TERMINATION_MARGIN_SECONDS

    @property
    def lock_renewal_seconds(self) -> int:
        """AutoLockRenewer's limit (worker/settings.py computes the same from the environment)."""
        return self.model_wait_seconds + self.request_timeout_seconds + 60

    @property
    def pods_per_model_replica(self) -> float:
        """Worker pods that fill one model replica's batch (the kubernetes-workload target)."""
        return round(self.concurrency / self.model_max_num_seqs, 3) or 0.001


def worker_plan(config: StackConfig, plans: Sequence[ModelPlan], namespace: str) -> WorkerPlan | None:
    """The worker's plan; None when the queue is off or names no model (refused by the rules)."""
    target = queue_target(config)
    plan = next((p for p in plans if p.config.name == target), None)
    if plan is None:
        return None
    queue = config.addons.async_queue
    seqs = max(1, plan.sizing.max_num_seqs)
    concurrency = queue.worker.concurrency or min(seqs, MAX_DEFAULT_CONCURRENCY)
    wait, timeout = model_wait_seconds(plan), request_timeout_seconds(plan)
    return WorkerPlan(
        model=plan.config.name,
        served_model_name=served_model_name(plan) or kaito_preset(plan),
        model_url=service_url(plan.config.name, namespace),
        queue=queue.queue_name,
        reply_queue=queue.reply_queue,
        max_delivery_count=queue.max_delivery_count,
        image=queue.worker.image,
        concurrency=concurrency,
        # Together the workers hold as many messages as the model's replicas can run at once.
        max_replicas=max(1, math.ceil(plan.replicas_max * seqs / concurrency)),
        model_max_num_seqs=seqs,
        model_wait_seconds=wait,
        request_timeout_seconds=timeout,
        cooldown_seconds=queue.worker.cooldown_seconds or wait + timeout,
    )
