"""The worker's settings, from the environment the Deployment sets (components/queue_worker.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    namespace: str  # fully qualified Service Bus namespace, e.g. sb-llm-dev-1a2b.servicebus.windows.net
    queue: str  # the request queue (Azure Service Bus Data Receiver)
    reply_queue: str  # where results go (Azure Service Bus Data Sender)
    model_url: str  # the model's Service, e.g. http://phi4mini.inference.svc.cluster.local
    model_name: str  # the served model name the request's "model" field must carry
    concurrency: int = 8  # messages in flight per pod (fills the model's batch)
    max_delivery_count: int = 5  # the queue's maxDeliveryCount: on the last delivery, dead-letter
    model_wait_seconds: float = 1800  # per delivery: how long to retry a cold or absent model
    request_timeout_seconds: float = 600  # one generation (the longest the model is sized for)
    health_file: str = "/tmp/healthy"  # touched every loop; the probes read its age

    @property
    def lock_renewal_seconds(self) -> float:
        """How long AutoLockRenewer keeps a message locked: the whole wait plus one generation."""
        return self.model_wait_seconds + self.request_timeout_seconds + 60


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env

    def number(key: str, default: float) -> float:
        return float(env[key]) if key in env else default

    return Settings(
        namespace=env["SERVICEBUS_NAMESPACE"],
        queue=env["SERVICEBUS_QUEUE"],
        reply_queue=env["SERVICEBUS_REPLY_QUEUE"],
        model_url=env["MODEL_URL"].rstrip("/"),
        model_name=env["MODEL_NAME"],
        concurrency=int(number("WORKER_CONCURRENCY", 8)),
        max_delivery_count=int(number("MAX_DELIVERY_COUNT", 5)),
        model_wait_seconds=number("MODEL_WAIT_SECONDS", 1800),
        request_timeout_seconds=number("REQUEST_TIMEOUT_SECONDS", 600),
        health_file=env.get("HEALTH_FILE", "/tmp/healthy"),
    )
