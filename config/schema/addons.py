"""Cluster add-ons and the services around them (``aks-llm:addons``): KAITO, KEDA's HTTP add-on, the Key
Vault and the async queue."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from config import versions
from config.schema.base import Cidr, K8sName, SemVer, Strict


class KaitoFeatureGates(Strict):
    """Feature gates of the upstream KAITO chart (mode: helm only)."""

    inference_set: bool = True
    """Enable KAITO's InferenceSet (scalable models)."""
    mig: bool = False
    """Enable KAITO's MIG feature gate."""


class KaitoConfig(Strict):
    """KAITO: the AKS AI toolchain operator add-on (managed) or the upstream chart (helm)."""

    mode: Literal["managed", "helm"] = "managed"
    """`managed`: the AKS AI toolchain operator add-on (KAITO 0.6.0: Workspaces only, no scaling); `helm`:
    the upstream `kaito/workspace` chart."""
    chart_version: SemVer = versions.chart("kaito-workspace").version
    """Version of the KAITO workspace chart (`mode: helm` only; default: the pin in versions.yaml)."""
    feature_gates: KaitoFeatureGates = Field(default_factory=KaitoFeatureGates)
    """Feature gates of the chart (`mode: helm` only)."""
    node_provisioner: Literal["gpu-provisioner", "karpenter", "none"] = "gpu-provisioner"
    """Where KAITO's nodes come from (`mode: helm` only): `gpu-provisioner` (self-hosted) or `none`
    (bring-your-own nodes). `gpu-provisioner` is refused in NAP mode; `karpenter` is refused: KAITO
    0.12.0 asks Karpenter for static capacity, an alpha gate AKS's managed NAP does not expose."""
    gpu_provisioner_chart_version: SemVer = versions.chart("gpu-provisioner").version
    """Version of the gpu-provisioner chart (`nodeProvisioner: gpu-provisioner` only; default: the pin in
    versions.yaml)."""


class KedaHttpAddonConfig(Strict):
    """The KEDA HTTP add-on (Helm): scale-from-zero for synchronous endpoints."""

    enabled: bool = False
    """Install the KEDA HTTP add-on (scale-from-zero for synchronous endpoints)."""
    chart_version: SemVer = versions.chart("keda-add-ons-http").version
    """Version of the HTTP add-on chart (default: the pin in versions.yaml)."""
    cold_start_timeout_seconds: Annotated[int, Field(ge=1, le=7200)] | None = None
    """How long the interceptor holds a request while the model scales from zero, in seconds
    (HTTPScaledObject `spec.timeouts.conditionWait`). Unset: each model's predicted cold start; set: one cap
    for all, refused below a fronted model's prediction."""
    response_header_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 300
    """How long the interceptor waits for the model's response headers, in seconds (HTTPScaledObject
    `spec.timeouts.responseHeader`)."""


class KedaConfig(Strict):
    """The AKS KEDA add-on is always on; these are its extras."""

    http_addon: KedaHttpAddonConfig = Field(default_factory=KedaHttpAddonConfig)
    """The KEDA HTTP add-on."""


class KeyVaultConfig(Strict):
    """The Key Vault holding the Hugging Face token (RBAC, purge protection, firewall default Deny)."""

    public_network_access: bool = True
    """Keep the vault's public endpoint (behind its firewall). `false`: public access off, reached by a
    private endpoint in `virtualNetwork` (needs `virtualNetwork`)."""
    allowed_ip_ranges: list[Cidr] = Field(default_factory=list)
    """Public IPv4 ranges allowed through the vault's firewall (no private, IPv6 or all-address ranges)."""
    allow_cluster_egress: bool = True
    """Allow the cluster's outbound IP through the vault's firewall."""
    soft_delete_retention_days: Annotated[int, Field(ge=7, le=90)] = 90
    """Days a deleted vault stays recoverable (its name stays taken)."""


QueueName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$")]
# An image in the stack's container registry, pinned by digest (a tag alone may move).
WorkerImage = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]{5,50}\.azurecr\.io/[a-z0-9]+([._/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$"
    ),
]


class AsyncQueueWorkerConfig(Strict):
    """The queue worker (worker/ in this repository): its image and how many messages it holds."""

    image: WorkerImage | None = None
    """Worker image in the stack's container registry pinned by digest
    (`<registry>.azurecr.io/aks-llm-worker@sha256:...`, the digest the worker-image workflow records). Unset:
    the worker is left out (the first `pulumi up` creates the registry, see docs/async-queue.md)."""
    concurrency: Annotated[int, Field(ge=1, le=256)] | None = None
    """Messages one worker pod processes at once (unset: the model's max-num-seqs)."""
    cooldown_seconds: Annotated[int, Field(ge=30, le=86400)] | None = None
    """Seconds the worker stays after the queue reads empty (unset: one delivery's wait plus one
    generation)."""


class AsyncQueueConfig(Strict):
    """A Service Bus queue for batch inference, drained by KEDA-scaled workers that call one model."""

    enabled: bool = False
    """Create the Service Bus queue and its KEDA-scaled worker; needs exactly one batch model to feed (or
    `model`)."""
    queue_name: QueueName = "batch-inference"
    """Name of the request queue."""
    lock_duration_seconds: Annotated[int, Field(ge=5, le=300)] = 300
    """Seconds a worker holds a message before it is delivered again."""
    max_delivery_count: Annotated[int, Field(ge=1, le=2000)] = 5
    """Deliveries before a message is dead-lettered; at least 3."""
    message_ttl_hours: Annotated[int, Field(ge=1, le=336)] = 24
    """Hours an unprocessed message lives."""
    model: K8sName | None = None
    """The stack's batch model the worker calls (unset: the stack's only batch model)."""
    reply_queue_name: QueueName | None = None
    """Queue the results go to (unset: `<queueName>-results`); not the request queue."""
    worker: AsyncQueueWorkerConfig = Field(default_factory=AsyncQueueWorkerConfig)
    """The queue worker's image and limits."""

    @property
    def reply_queue(self) -> str:
        return self.reply_queue_name or f"{self.queue_name}-results"


class AddonsConfig(Strict):
    """Cluster add-ons and the services around them."""

    kaito: KaitoConfig = Field(default_factory=KaitoConfig)
    """KAITO: managed add-on or upstream chart."""
    keda: KedaConfig = Field(default_factory=KedaConfig)
    """Extras of the KEDA add-on (always on)."""
    key_vault: KeyVaultConfig = Field(default_factory=KeyVaultConfig)
    """The Key Vault holding the Hugging Face token."""
    async_queue: AsyncQueueConfig = Field(default_factory=AsyncQueueConfig)
    """The Service Bus queue for batch inference."""
