"""The async inference queue: a Service Bus namespace (Entra ID only), the request queue and the
reply queue the worker writes results to."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.servicebus as servicebus

from components.azure_place import AzurePlace
from components.child_names import Component
from config.schema import AsyncQueueConfig
from facts.naming import Names


@dataclass(frozen=True)
class AsyncQueueArgs:
    names: Names
    unique: pulumi.Input[str]  # the deployment's suffix of globally unique names (components.name_suffix)
    place: AzurePlace
    settings: AsyncQueueConfig
    # Reached by a private endpoint (issue 23): Premium (Service Bus has private endpoints on Premium
    # only) and public access off.
    private: bool = False


class AsyncQueue(Component):
    """Service Bus Standard namespace with local (SAS) auth disabled, TLS 1.2+, the batch queue and
    its reply queue."""

    namespace_name: pulumi.Output[str]
    queue_name: str
    queue_id: pulumi.Output[str]
    reply_queue_name: str
    reply_queue_id: pulumi.Output[str]

    def __init__(self, name: str, args: AsyncQueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:AsyncQueue", name, opts)
        settings = args.settings
        self.namespace = servicebus.Namespace(
            self.child_name("namespace"),
            namespace_name=pulumi.Output.from_input(args.unique).apply(args.names.service_bus),
            resource_group_name=args.place.resource_group_name,
            location=args.place.location,
            sku=servicebus.SBSkuArgs(
                name=servicebus.SkuName.PREMIUM, tier=servicebus.SkuTier.PREMIUM, capacity=1
            )
            if args.private
            else servicebus.SBSkuArgs(name=servicebus.SkuName.STANDARD, tier=servicebus.SkuTier.STANDARD),
            public_network_access=servicebus.PublicNetworkAccess.DISABLED if args.private else None,
            disable_local_auth=True,
            minimum_tls_version=servicebus.TlsVersion.TLS_VERSION_1_2,
            tags=dict(args.place.tags),
            opts=self.child_opts(was="namespace"),
        )
        self.queue = servicebus.Queue(
            self.child_name("queue"),
            queue_name=settings.queue_name,
            namespace_name=self.namespace.name,
            resource_group_name=args.place.resource_group_name,
            # Workers renew the lock while a long generation runs; 5 minutes is Service Bus's maximum.
            lock_duration=f"PT{settings.lock_duration_seconds}S",
            max_delivery_count=settings.max_delivery_count,
            default_message_time_to_live=f"PT{settings.message_ttl_hours}H",
            dead_lettering_on_message_expiration=True,
            opts=self.child_opts(was="queue"),
        )
        # Results, one message per completed request (correlationId = the request's messageId), kept
        # as long as requests are; producers read them with Azure Service Bus Data Receiver here.
        self.reply_queue = servicebus.Queue(
            self.child_name("reply-queue"),
            queue_name=settings.reply_queue,
            namespace_name=self.namespace.name,
            resource_group_name=args.place.resource_group_name,
            lock_duration="PT1M",
            default_message_time_to_live=f"PT{settings.message_ttl_hours}H",
            dead_lettering_on_message_expiration=True,
            opts=self.child_opts(was="reply-queue"),
        )
        self.namespace_name = self.namespace.name
        self.queue_name = settings.queue_name
        self.queue_id = self.queue.id
        self.reply_queue_name = settings.reply_queue
        self.reply_queue_id = self.reply_queue.id
        self.register_outputs(
            {
                "namespaceName": self.namespace_name,
                "queueName": self.queue_name,
                "replyQueueName": self.reply_queue_name,
            }
        )
