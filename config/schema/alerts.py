"""Alert rules and the action group they notify (``aks-llm:alerts``; issue 25: know it works)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from config.schema.base import Email, Strict

AlertMinutes = Annotated[int, Field(ge=1, le=1440)]


class AlertsConfig(Strict):
    """Alert rules on the stack's Azure Monitor workspace (Prometheus) and Service Bus namespace (metric
    alerts), sent to one action group; the budget's forecast notifications go to the same group."""

    enabled: bool = True
    """Create the alert rules and the action group."""
    contact_emails: Annotated[list[Email], Field(max_length=50)] = Field(default_factory=list)
    """E-mail addresses of the action group (unset: the budget's `contactEmails`; neither: the rules
    exist without a receiver)."""
    kv_cache_usage_percent: Annotated[int, Field(ge=50, le=100)] = 90
    """A model's KV-cache usage (vLLM `kv_cache_usage_perc`, highest replica) that alerts."""
    kv_cache_minutes: AlertMinutes = 10
    """Minutes the KV-cache usage stays above `kvCacheUsagePercent` before it alerts."""
    waiting_at_max_minutes: AlertMinutes = 5
    """Minutes requests wait while the model runs its maximum replicas before it alerts."""
    no_ready_replica_minutes: AlertMinutes = 10
    """Minutes the autoscaler wants a replica (business hours: the schedule's floor) and none is ready;
    at least the model's predicted cold start."""
    crash_loop_minutes: AlertMinutes = 5
    """Minutes a container waits in `CrashLoopBackOff` before it alerts."""
    node_not_ready_minutes: AlertMinutes = 10
    """Minutes a node reports `Ready` other than true before it alerts."""
    queue_active_messages: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    """Messages waiting in the async request queue (Service Bus `ActiveMessages`, 15-minute maximum)
    that alert."""
    queue_dead_lettered_messages: Annotated[int, Field(ge=1, le=10_000_000)] = 1
    """Dead-lettered messages in the async queues (Service Bus `DeadletteredMessages`) that alert."""
