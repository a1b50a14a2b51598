"""Rules for the async queue and its worker. Each rule is ``(StackPlan) -> Iterable[Problem]``
like those in ``rules.check``."""

from __future__ import annotations

from collections.abc import Iterable

from config.errors import Problem
from planning.stack_plan import StackPlan
from sizing.queue_worker import MIN_DELIVERIES, batch_models, queue_target


def queue_has_a_consumer(stack: StackPlan) -> Iterable[Problem]:
    """An enabled queue feeds exactly one batch model, which the worker calls: a queue nothing reads
    is the defect this path fixes (one message would keep a GPU awake until its TTL)."""
    config = stack.config
    queue = config.addons.async_queue
    if not queue.enabled:
        return
    batch = batch_models(config)
    if queue.model is not None:
        model = next((m for m in config.models if m.name == queue.model), None)
        if model is None:
            yield Problem(
                "addons.asyncQueue.model",
                queue.model,
                "no model of that name: the queue worker would have nothing to call",
                "one of "
                + (", ".join(m.name for m in config.models) or "the models you declare under models"),
            )
        elif model.purpose != "batch":
            yield Problem(
                "addons.asyncQueue.model",
                queue.model,
                f"model {model.name} has purpose {model.purpose}: the queue feeds batch models (on "
                "batch pools, spot-capable) so queued work never competes with interactive traffic",
                "a model with purpose: batch" + (f" ({', '.join(batch)})" if batch else ""),
            )
    elif queue_target(config) is None:
        why = (
            "the stack has no batch model, so nothing would consume the queue"
            if not batch
            else f"the stack has {len(batch)} batch models ({', '.join(batch)}): name the one the "
            "worker calls"
        )
        yield Problem(
            "addons.asyncQueue.enabled" if not batch else "addons.asyncQueue.model",
            True if not batch else None,
            why,
            "a model with purpose: batch, or addons.asyncQueue.enabled: false"
            if not batch
            else "addons.asyncQueue.model: one of " + ", ".join(batch),
        )


def deliveries_cover_evictions(stack: StackPlan) -> Iterable[Problem]:
    """Abandons (a drained worker, a cold start longer than one delivery's wait) and lock expiries
    (a worker pod killed) each count a delivery; too few dead-letter messages that would succeed."""
    config = stack.config
    queue = config.addons.async_queue
    if queue.enabled and queue.max_delivery_count < MIN_DELIVERIES:
        yield Problem(
            "addons.asyncQueue.maxDeliveryCount",
            queue.max_delivery_count,
            f"below {MIN_DELIVERIES}: the delivery that succeeds, one given back by a drained or evicted "
            "worker, one whose cold start outlasted its wait; fewer dead-letters messages that would succeed",
            f"an integer >= {MIN_DELIVERIES} (default 5)",
        )


def reply_queue_differs(stack: StackPlan) -> Iterable[Problem]:
    """The reply queue is another queue than the requests': the worker would otherwise receive its own
    results as new requests."""
    config = stack.config
    queue = config.addons.async_queue
    if queue.enabled and queue.reply_queue == queue.queue_name:
        yield Problem(
            "addons.asyncQueue.replyQueueName",
            queue.reply_queue,
            "the same queue as the requests: the worker would read its own results back",
            f"another name, e.g. {queue.queue_name}-results (the default)",
        )


QUEUE_RULES = [queue_has_a_consumer, deliveries_cover_evictions, reply_queue_differs]
