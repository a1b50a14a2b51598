"""The worker's loop: receive up to ``concurrency`` messages, register each for lock renewal, handle
them on a thread pool; on SIGTERM stop receiving, let requests already at the model finish, give the
rest back (abandon) and exit."""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import FrameType

from azure.identity import WorkloadIdentityCredential
from azure.servicebus import AutoLockRenewer, ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver

from worker.handler import Broker, Outcome, handle
from worker.model_client import call_model
from worker.settings import Settings, from_env

log = logging.getLogger("worker")
RECEIVE_WAIT_SECONDS = 5  # one receive call waits at most this long: the health file stays fresh


def register(
    renewer: AutoLockRenewer,
    receiver: ServiceBusReceiver,
    message: ServiceBusReceivedMessage,
    settings: Settings,
) -> None:
    """Keep the message locked for the whole cold-start wait plus one generation: the queue's lock
    is at most 5 minutes, a GPU node from zero takes longer."""
    renewer.register(receiver, message, max_lock_renewal_duration=settings.lock_renewal_seconds)


def run(settings: Settings, stop: threading.Event) -> None:
    # The workload identity webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE
    # (the pod carries azure.workload.identity/use: "true"); nothing else is tried, and no secret exists.
    credential = WorkloadIdentityCredential()
    client = ServiceBusClient(settings.namespace, credential)
    health = Path(settings.health_file)
    in_flight: set[Future[Outcome]] = set()
    with (
        client,
        # prefetch 0: a message is locked only when this worker has a free slot for it.
        client.get_queue_receiver(settings.queue, prefetch_count=0) as receiver,
        client.get_queue_sender(settings.reply_queue) as sender,
        AutoLockRenewer(max_workers=max(2, settings.concurrency)) as renewer,
        ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="message") as pool,
    ):
        broker = Broker(receiver, sender)
        while not stop.is_set():
            health.touch()
            free = settings.concurrency - len(in_flight)
            if free > 0:
                with broker.lock:
                    messages = receiver.receive_messages(
                        max_message_count=free, max_wait_time=RECEIVE_WAIT_SECONDS
                    )
                for message in messages:
                    register(renewer, receiver, message, settings)
                    in_flight.add(pool.submit(handle, message, broker, settings, call_model, stop=stop))
            if in_flight:
                done, _ = wait(in_flight, timeout=0 if free > 0 else 1, return_when=FIRST_COMPLETED)
                for future in done:
                    log.info("message settled: %s", future.result().value)
                in_flight -= done
        log.info("stopping: %d messages in flight", len(in_flight))
        wait(in_flight)  # handlers see `stop`: a cold-start wait ends in an abandon, a generation finishes


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    settings = from_env()
    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stop receiving", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    started = time.monotonic()
    run(settings, stop)
    log.info("stopped after %.0f s", time.monotonic() - started)
    return 0
