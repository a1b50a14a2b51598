"""The queue worker's message handling (worker/), with the azure-servicebus SDK's own types.

No Service Bus broker or emulator exists on the machines that run these tests (and none is
reachable): the messages are real ``ServiceBusReceivedMessage`` objects built from an AMQP message
the way the SDK's receiver builds them (``azure/servicebus/_common/message.py``, 7.15.0), and the
receiver, sender and lock renewer are ``create_autospec`` of the SDK's classes, so every call the
worker makes is checked against the SDK's real signatures. What this cannot show: the broker's own
behaviour (lock expiry, delivery counting, dead-lettering at maxDeliveryCount); docs/async-queue.md.
"""

from __future__ import annotations

import json
import threading
import urllib.error
from typing import Any
from unittest.mock import create_autospec

import pytest
from azure.servicebus import (
    AutoLockRenewer,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiver,
    ServiceBusSender,
)
from azure.servicebus._pyamqp.message import Header, Message, Properties
from azure.servicebus.exceptions import MessageLockLostError

from worker import health, main
from worker.handler import (
    INVALID_REQUEST,
    MODEL_REJECTED,
    MODEL_UNAVAILABLE,
    Broker,
    Outcome,
    handle,
    is_last_delivery,
)
from worker.model_client import API_KEY_FILE_ENV, PermanentError, TransientError, call_model
from worker.settings import Settings, from_env

SETTINGS = Settings(
    namespace="sb-test.servicebus.windows.net",
    queue="batch-inference",
    reply_queue="batch-inference-results",
    model_url="http://phi4mini.inference.svc.cluster.local",
    model_name="phi4mini",
    max_delivery_count=5,
    model_wait_seconds=600,
    request_timeout_seconds=120,
)
CHAT = {"messages": [{"role": "user", "content": "Summarise this."}], "max_tokens": 64}
ANSWER = {"id": "cmpl-1", "choices": [{"message": {"role": "assistant", "content": "Done."}}]}


def broker() -> Broker:
    receiver = create_autospec(ServiceBusReceiver, instance=True)
    sender = create_autospec(ServiceBusSender, instance=True)
    return Broker(receiver, sender)


def rx(b: Broker) -> Any:
    """The receiver autospec, as the mock it is."""
    return b.receiver


def tx(b: Broker) -> Any:
    return b.sender


def received(
    body: Any, *, delivery_count: int = 0, broker_: Broker | None = None
) -> ServiceBusReceivedMessage:
    """A received message as the SDK builds it from the AMQP transfer (delivery_count: the header's
    count of previous deliveries)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    amqp = Message(
        header=Header(delivery_count=delivery_count),
        properties=Properties(message_id="req-1", correlation_id="job-7", content_type="application/json"),
        application_properties={b"producer": b"nightly-report"},
        data=[data],
    )
    receiver = (broker_ or broker()).receiver
    return ServiceBusReceivedMessage(amqp, receiver=receiver, frame=None)


class FakeModel:
    """Answers from a script: an exception instance is raised, anything else returned."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict[str, Any], float]] = []

    def __call__(self, url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.calls.append((url, body, timeout))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return dict(step)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def run(
    model: FakeModel, message: ServiceBusReceivedMessage, b: Broker, clock: Clock | None = None
) -> Outcome:
    clock = clock or Clock()
    return handle(message, b, SETTINGS, model, sleep=clock.sleep, clock=clock)


def test_success_sends_the_result_to_the_reply_queue_then_completes() -> None:
    b = broker()
    message = received(CHAT, broker_=b)
    model = FakeModel(ANSWER)
    assert run(model, message, b) is Outcome.COMPLETED
    ((url, body, timeout),) = model.calls
    assert url == "http://phi4mini.inference.svc.cluster.local/v1/chat/completions"
    assert body["model"] == "phi4mini" and body["messages"] == CHAT["messages"] and timeout == 120
    (sent,) = tx(b).send_messages.call_args.args
    assert isinstance(sent, ServiceBusMessage)
    assert sent.correlation_id == "req-1" and sent.content_type == "application/json"
    assert sent.application_properties == {
        "status": "succeeded",
        "model": "phi4mini",
        "producer": "nightly-report",
        "requestCorrelationId": "job-7",
    }
    assert json.loads(str(sent)) == {"requestId": "req-1", "model": "phi4mini", "response": ANSWER}
    rx(b).complete_message.assert_called_once_with(message)
    rx(b).abandon_message.assert_not_called()
    rx(b).dead_letter_message.assert_not_called()


def test_a_prompt_goes_to_the_completions_endpoint() -> None:
    b = broker()
    model = FakeModel(ANSWER)
    assert run(model, received({"prompt": "Once", "max_tokens": 8}, broker_=b), b) is Outcome.COMPLETED
    assert model.calls[0][0].endswith("/v1/completions")


def test_503_then_200_is_retried_with_backoff_and_completed() -> None:
    b = broker()
    message = received(CHAT, broker_=b)
    model = FakeModel(TransientError("HTTP 503"), TransientError("ConnectionRefusedError"), ANSWER)
    clock = Clock()
    assert run(model, message, b, clock) is Outcome.COMPLETED
    assert len(model.calls) == 3 and clock.sleeps == [2.0, 4.0]  # exponential backoff
    tx(b).send_messages.assert_called_once()
    rx(b).complete_message.assert_called_once_with(message)


def test_a_model_that_stays_cold_past_the_wait_gives_the_message_back() -> None:
    b = broker()
    message = received(CHAT, delivery_count=0, broker_=b)
    clock = Clock()
    assert run(FakeModel(TransientError("HTTP 503")), message, b, clock) is Outcome.ABANDONED
    assert sum(clock.sleeps) <= SETTINGS.model_wait_seconds and max(clock.sleeps) == 30.0
    rx(b).abandon_message.assert_called_once_with(message)
    tx(b).send_messages.assert_not_called()


def test_permanent_4xx_is_dead_lettered_with_the_reason() -> None:
    b = broker()
    message = received(CHAT, broker_=b)
    model = FakeModel(PermanentError(400, "maximum context length is 4096 tokens"))
    assert run(model, message, b) is Outcome.DEAD_LETTERED
    assert len(model.calls) == 1  # no retry: the same request gets the same answer
    rx(b).dead_letter_message.assert_called_once()
    kwargs = rx(b).dead_letter_message.call_args.kwargs
    assert kwargs["reason"] == MODEL_REJECTED and "HTTP 400" in kwargs["error_description"]
    rx(b).complete_message.assert_not_called()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not JSON"),
        ([1, 2], "not a JSON object"),
        ({"model": "other", "messages": []}, "this queue feeds 'phi4mini'"),
        ({"messages": [], "stream": True}, "stream"),
        ({"input": "x"}, "neither"),
    ],
)
def test_an_invalid_body_is_dead_lettered_without_calling_the_model(body: Any, why: str) -> None:
    b = broker()
    model = FakeModel(ANSWER)
    assert run(model, received(body, broker_=b), b) is Outcome.DEAD_LETTERED
    assert model.calls == []
    kwargs = rx(b).dead_letter_message.call_args.kwargs
    assert kwargs["reason"] == INVALID_REQUEST and why in kwargs["error_description"]


def test_on_the_last_delivery_a_cold_model_dead_letters_instead_of_abandoning() -> None:
    # delivery_count 4 = four earlier deliveries: this is delivery 5 of maxDeliveryCount 5
    b = broker()
    message = received(CHAT, delivery_count=4, broker_=b)
    assert is_last_delivery(message, 5) and not is_last_delivery(received(CHAT, delivery_count=3), 5)
    assert run(FakeModel(TransientError("HTTP 503")), message, b) is Outcome.DEAD_LETTERED
    kwargs = rx(b).dead_letter_message.call_args.kwargs
    assert kwargs["reason"] == MODEL_UNAVAILABLE
    assert "delivery 5 of 5" in kwargs["error_description"] and "HTTP 503" in kwargs["error_description"]
    rx(b).abandon_message.assert_not_called()


def test_stop_ends_a_cold_start_wait_with_an_abandon() -> None:
    b = broker()
    message = received(CHAT, broker_=b)
    stop = threading.Event()
    stop.set()
    model = FakeModel(TransientError("HTTP 503"))
    outcome = handle(message, b, SETTINGS, model, stop=stop, sleep=lambda s: None, clock=lambda: 0.0)
    assert outcome is Outcome.ABANDONED and len(model.calls) == 1


def test_a_lost_lock_is_reported_not_raised() -> None:
    b = broker()
    message = received(CHAT, broker_=b)
    rx(b).complete_message.side_effect = MessageLockLostError(message="lock lost")
    assert run(FakeModel(ANSWER), message, b) is Outcome.LOCK_LOST


def test_each_message_is_registered_for_lock_renewal_over_the_whole_wait() -> None:
    renewer = create_autospec(AutoLockRenewer, instance=True)
    b = broker()
    message = received(CHAT, broker_=b)
    main.register(renewer, b.receiver, message, SETTINGS)
    renewer.register.assert_called_once_with(
        b.receiver, message, max_lock_renewal_duration=SETTINGS.lock_renewal_seconds
    )
    # longer than the queue's 5-minute lock: a cold start plus a generation
    assert SETTINGS.lock_renewal_seconds == 600 + 120 + 60 > 300


def test_settings_come_from_the_deployments_environment() -> None:
    env = {
        "SERVICEBUS_NAMESPACE": "sb.servicebus.windows.net",
        "SERVICEBUS_QUEUE": "q",
        "SERVICEBUS_REPLY_QUEUE": "q-results",
        "MODEL_URL": "http://m.inference.svc.cluster.local/",
        "MODEL_NAME": "m",
        "WORKER_CONCURRENCY": "21",
        "MAX_DELIVERY_COUNT": "5",
        "MODEL_WAIT_SECONDS": "1500",
        "REQUEST_TIMEOUT_SECONDS": "120",
    }
    s = from_env(env)
    assert (s.model_url, s.concurrency, s.model_wait_seconds) == (
        "http://m.inference.svc.cluster.local",
        21,
        1500,
    )


def test_the_http_client_classifies_cold_start_failures_as_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection refused (a Service with no endpoints) and 503 (a pod not ready yet) retry; 400 does not."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    with pytest.raises(TransientError, match="refused"):
        call_model("http://127.0.0.1:9/v1/chat/completions", CHAT, 1)

    def status(code: int) -> Any:
        def answer(*_: Any, **__: Any) -> Any:
            raise urllib.error.HTTPError("http://m", code, "x", {}, None)  # type: ignore[arg-type]

        return answer

    monkeypatch.setattr("urllib.request.urlopen", status(503))
    with pytest.raises(TransientError, match="503"):
        call_model("http://m/v1/chat/completions", CHAT, 1)
    monkeypatch.setattr("urllib.request.urlopen", status(400))
    with pytest.raises(PermanentError) as err:
        call_model("http://m/v1/chat/completions", CHAT, 1)
    assert err.value.status == 400


def test_the_worker_sends_its_api_key_from_the_mounted_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """With keys on (issue 23), vLLM answers 401 without ``Authorization: Bearer``: the worker reads its
    key from the file the Deployment mounts (components/queue_worker.py), on every call."""
    sent: list[dict[str, str]] = []

    class Answer:
        def __enter__(self) -> Any:
            return self

        def __exit__(self, *_: Any) -> None:
            return None

        def read(self) -> bytes:
            return b'{"ok": true}'

    def capture(request: Any, **__: Any) -> Any:
        sent.append(dict(request.header_items()))
        return Answer()

    monkeypatch.setattr("urllib.request.urlopen", capture)
    monkeypatch.delenv(API_KEY_FILE_ENV, raising=False)
    call_model("http://m/v1/chat/completions", CHAT, 1)
    assert "Authorization" not in sent[-1]
    key = tmp_path / "key"
    key.write_text("k-123\n")
    monkeypatch.setenv(API_KEY_FILE_ENV, str(key))
    call_model("http://m/v1/chat/completions", CHAT, 1)
    assert sent[-1]["Authorization"] == "Bearer k-123"


def test_health_file_age(tmp_path: Any) -> None:
    path = tmp_path / "healthy"
    assert not health.healthy(str(path))
    path.touch()
    assert health.healthy(str(path))
    assert not health.healthy(str(path), now=path.stat().st_mtime + 61)


def test_the_loop_registers_every_received_message_for_renewal_then_settles_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """main.run with the SDK's client, receiver, sender and renewer autospecced: one receive returns a
    message, the next sets the stop flag (as SIGTERM does)."""
    from azure.servicebus import ServiceBusClient

    b = broker()
    message = received(CHAT, broker_=b)
    stop = threading.Event()
    batches = [[message]]

    def receive(max_message_count: int | None = 1, max_wait_time: float | None = None) -> list[Any]:
        assert max_message_count in (1, 2) and max_wait_time == main.RECEIVE_WAIT_SECONDS
        if batches:
            return batches.pop()
        stop.set()
        return []

    rx(b).receive_messages.side_effect = receive
    client = create_autospec(ServiceBusClient, instance=True)
    client.__enter__.return_value = client
    client.get_queue_receiver.return_value.__enter__.return_value = b.receiver
    client.get_queue_sender.return_value.__enter__.return_value = b.sender
    renewer = create_autospec(AutoLockRenewer, instance=True)
    renewer.__enter__.return_value = renewer
    monkeypatch.setattr(main, "ServiceBusClient", lambda namespace, credential: client)
    monkeypatch.setattr(main, "WorkloadIdentityCredential", lambda: object())
    monkeypatch.setattr(main, "AutoLockRenewer", lambda **_: renewer)
    monkeypatch.setattr(main, "call_model", FakeModel(ANSWER))
    settings = Settings(**{**SETTINGS.__dict__, "concurrency": 2, "health_file": str(tmp_path / "ok")})
    main.run(settings, stop)
    client.get_queue_receiver.assert_called_once_with("batch-inference", prefetch_count=0)
    client.get_queue_sender.assert_called_once_with("batch-inference-results")
    renewer.register.assert_called_once_with(
        b.receiver, message, max_lock_renewal_duration=settings.lock_renewal_seconds
    )
    rx(b).complete_message.assert_called_once_with(message)
    assert health.healthy(settings.health_file)
