"""The async-queue worker's environment, its ScaledObject spec and its model's queue triggers, rendered
from its ``WorkerPlan`` (pure, no Pulumi; the queue path is described in ``sizing/queue_worker.py``).
"""

from __future__ import annotations

from typing import Any

from sizing.queue_worker import WORKER_LABELS, WORKER_NAME, WorkerPlan


def worker_env(plan: WorkerPlan, service_bus_fqdn: Any, health_file: str) -> dict[str, Any]:
    """The worker's environment (worker/settings.py reads exactly these)."""
    return {
        "SERVICEBUS_NAMESPACE": service_bus_fqdn,
        "SERVICEBUS_QUEUE": plan.queue,
        "SERVICEBUS_REPLY_QUEUE": plan.reply_queue,
        "MODEL_URL": plan.model_url,
        "MODEL_NAME": plan.served_model_name,
        "WORKER_CONCURRENCY": str(plan.concurrency),
        "MAX_DELIVERY_COUNT": str(plan.max_delivery_count),
        "MODEL_WAIT_SECONDS": str(plan.model_wait_seconds),
        "REQUEST_TIMEOUT_SECONDS": str(plan.request_timeout_seconds),
        "HEALTH_FILE": health_file,
    }


def queue_trigger(
    namespace: Any, queue: str, auth: str, message_count: int, name: str = "async-queue"
) -> dict[str, Any]:
    """KEDA's azure-servicebus trigger: active as soon as one message waits (activation 0,
    kedacore/keda v2.16.1 ``pkg/scalers/azure_servicebus_scaler.go:273``: active when the count
    exceeds ``activationMessageCount``)."""
    return {
        "type": "azure-servicebus",
        "name": name,
        "metadata": {
            "namespace": namespace,
            "queueName": queue,
            "messageCount": str(message_count),
            "activationMessageCount": "0",
        },
        "authenticationRef": {"name": auth},
    }


def worker_pods_trigger(plan: WorkerPlan) -> dict[str, Any]:
    """KEDA's kubernetes-workload trigger on the worker's pods, in the ScaledObject's namespace. It
    counts every pod that is not Succeeded or Failed (kedacore/keda v2.16.1
    ``pkg/scalers/kubernetes_workload_scaler.go:29-32,142-150``), so a worker pod that is Pending,
    running, or draining after SIGTERM keeps the model up."""
    selector = ",".join(f"{k}={v}" for k, v in WORKER_LABELS.items())
    return {
        "type": "kubernetes-workload",
        "name": "queue-worker-pods",
        "metadata": {
            "podSelector": selector,
            "value": str(plan.pods_per_model_replica),
            "activationValue": "0",
        },
    }


def model_queue_triggers(plan: WorkerPlan, service_bus_namespace: Any, auth: str) -> list[dict[str, Any]]:
    """The triggers the worker's model gets (only when the worker is deployed: nothing else would
    consume the queue, and one message would keep the GPU awake until its TTL)."""
    if not plan.deployed:
        return []
    return [
        queue_trigger(service_bus_namespace, plan.queue, auth, plan.model_max_num_seqs),
        worker_pods_trigger(plan),
    ]


def worker_scaled_object_spec(plan: WorkerPlan, service_bus_namespace: Any, auth: str) -> dict[str, Any]:
    """The worker's ScaledObject spec: 0 to ``max_replicas``, one pod per ``concurrency`` messages."""
    window = min(plan.cooldown_seconds, 3600)  # the HPA API caps a stabilization window at 3600 s
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": WORKER_NAME},
        "minReplicaCount": 0,
        "maxReplicaCount": plan.max_replicas,
        "pollingInterval": 15,
        "cooldownPeriod": plan.cooldown_seconds,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    # Scale in slowly: the queue's count may not include messages a pod holds.
                    "scaleDown": {
                        "stabilizationWindowSeconds": window,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": min(window, 1800)}],
                    }
                }
            }
        },
        "triggers": [queue_trigger(service_bus_namespace, plan.queue, auth, plan.concurrency)],
    }
