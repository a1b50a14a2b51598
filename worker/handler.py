"""What happens to one request message: call the model (retrying while it cold-starts), send the
result to the reply queue, complete; or abandon it for a later delivery; or dead-letter it with a
reason. Pure of any broker: the receiver and sender are passed in (tests use autospecs of the SDK's
own classes, since no Service Bus or emulator runs there)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from azure.servicebus import (
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiver,
    ServiceBusSender,
)
from azure.servicebus.exceptions import ServiceBusError

from worker.model_client import ModelCall, PermanentError, TransientError
from worker.settings import Settings

log = logging.getLogger("worker")

# Dead-letter reasons (the DeadLetterReason property producers read on the dead-letter queue).
INVALID_REQUEST = "InvalidRequest"  # the body is not a JSON object the model endpoint accepts
MODEL_REJECTED = "ModelRejected"  # the model answered a 4xx (e.g. prompt longer than its context)
MODEL_UNAVAILABLE = "ModelUnavailable"  # no answer within the wait on the last allowed delivery

CHAT_PATH, COMPLETIONS_PATH = "/v1/chat/completions", "/v1/completions"
FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 2.0, 30.0


class Outcome(StrEnum):
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    DEAD_LETTERED = "dead-lettered"
    LOCK_LOST = "lock-lost"  # settling failed (lock expired): Service Bus delivers the message again


class InvalidRequest(ValueError):
    """The message cannot become a model request."""


@dataclass
class Broker:
    """The receiver and sender of one worker, and a lock: the SDK's clients are not thread-safe, so
    settlements and sends from the worker threads are serialised."""

    receiver: ServiceBusReceiver
    sender: ServiceBusSender
    lock: threading.Lock = field(default_factory=threading.Lock)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def app_properties(message: ServiceBusReceivedMessage) -> dict[str, str]:
    """Application properties with text keys and values (received ones arrive as AMQP bytes)."""
    raw: Mapping[Any, Any] = message.application_properties or {}
    return {_text(k): _text(v) for k, v in raw.items()}


def model_request(message: ServiceBusReceivedMessage, settings: Settings) -> tuple[str, dict[str, Any]]:
    """The endpoint path and JSON body for the model: the message body is an OpenAI-compatible
    request (``messages`` for chat, ``prompt`` for completions); ``model`` is filled in."""
    try:
        body = json.loads(b"".join(message.body))
    except (TypeError, ValueError) as err:
        raise InvalidRequest(f"the body is not JSON: {err}") from err
    if not isinstance(body, dict):
        raise InvalidRequest("the body is not a JSON object")
    model = body.setdefault("model", settings.model_name)
    if model != settings.model_name:
        raise InvalidRequest(f"model {model!r}: this queue feeds {settings.model_name!r}")
    if body.get("stream"):
        raise InvalidRequest("stream: true is not supported (the result is one message)")
    if "messages" in body:
        return CHAT_PATH, body
    if "prompt" in body:
        return COMPLETIONS_PATH, body
    raise InvalidRequest("neither 'messages' (chat) nor 'prompt' (completions) is set")


def is_last_delivery(message: ServiceBusReceivedMessage, max_delivery_count: int) -> bool:
    """Whether Service Bus would dead-letter the message if this delivery failed.

    The SDK's ``delivery_count`` is the AMQP header's count of *previous* unsuccessful deliveries
    (azure-servicebus 7.15.0 ``_common/message.py:1089-1098``, ``amqp/_amqp_message.py:355``):
    0 on the first delivery, so this is delivery ``delivery_count + 1``.
    """
    return (message.delivery_count or 0) + 1 >= max_delivery_count


def result_message(
    message: ServiceBusReceivedMessage, settings: Settings, answer: dict[str, Any]
) -> ServiceBusMessage:
    """The reply: the model's answer, correlated to the request by its message id."""
    props = app_properties(message)
    reply_props: dict[str | bytes, int | float | bytes | bool | str | UUID] = {
        "status": "succeeded",
        "model": settings.model_name,
    }
    if "producer" in props:
        reply_props["producer"] = props["producer"]
    if message.correlation_id:
        reply_props["requestCorrelationId"] = message.correlation_id
    return ServiceBusMessage(
        json.dumps({"requestId": message.message_id, "model": settings.model_name, "response": answer}),
        content_type="application/json",
        correlation_id=message.message_id,
        message_id=f"{message.message_id}:result",
        subject="result",
        application_properties=reply_props,
    )


def handle(
    message: ServiceBusReceivedMessage,
    broker: Broker,
    settings: Settings,
    call: ModelCall,
    *,
    stop: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Process one locked message to its settlement (the caller registered it for lock renewal)."""
    stop = stop or threading.Event()
    try:
        path, body = model_request(message, settings)
    except InvalidRequest as err:
        return _dead_letter(message, broker, INVALID_REQUEST, str(err))
    deadline = clock() + settings.model_wait_seconds
    backoff, attempts = FIRST_BACKOFF_SECONDS, 0
    while True:
        attempts += 1
        try:
            answer = call(settings.model_url + path, body, settings.request_timeout_seconds)
            break
        except PermanentError as err:
            return _dead_letter(message, broker, MODEL_REJECTED, str(err))
        except TransientError as err:
            last_error = str(err)
        if stop.is_set() or clock() + backoff > deadline:
            if is_last_delivery(message, settings.max_delivery_count):
                description = (
                    f"delivery {(message.delivery_count or 0) + 1} of {settings.max_delivery_count}: "
                    f"no answer after {attempts} attempts; last error: {last_error}"
                )
                return _dead_letter(message, broker, MODEL_UNAVAILABLE, description)
            log.warning(
                "message %s: giving it back after %d attempts (%s)", message.message_id, attempts, last_error
            )
            return _settle(message, broker, "abandon", broker.receiver.abandon_message)
        log.info(
            "message %s: model not ready (%s), retrying in %.0f s", message.message_id, last_error, backoff
        )
        (sleep or stop.wait)(backoff)  # a SIGTERM ends the backoff at once
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    try:
        with broker.lock:
            broker.sender.send_messages(result_message(message, settings, answer))
    except ServiceBusError as err:
        log.error("message %s: sending the result failed (%s); giving it back", message.message_id, err)
        return _settle(message, broker, "abandon", broker.receiver.abandon_message)
    return _settle(message, broker, "complete", broker.receiver.complete_message)


def _settle(
    message: ServiceBusReceivedMessage,
    broker: Broker,
    what: str,
    action: Callable[[ServiceBusReceivedMessage], None],
) -> Outcome:
    try:
        with broker.lock:
            action(message)
    except ServiceBusError as err:
        # Lock lost (renewal failed, or the pod paused past it): Service Bus redelivers the message,
        # counting a delivery; a result already sent may then be sent twice (at-least-once).
        log.error("message %s: %s failed: %s", message.message_id, what, err)
        return Outcome.LOCK_LOST
    return Outcome.COMPLETED if what == "complete" else Outcome.ABANDONED


def _dead_letter(
    message: ServiceBusReceivedMessage, broker: Broker, reason: str, description: str
) -> Outcome:
    log.warning("message %s: dead-lettered (%s: %s)", message.message_id, reason, description)
    try:
        with broker.lock:
            broker.receiver.dead_letter_message(message, reason=reason, error_description=description[:1000])
    except ServiceBusError as err:
        log.error("message %s: dead-lettering failed: %s", message.message_id, err)
        return Outcome.LOCK_LOST
    return Outcome.DEAD_LETTERED
