"""What model services (issue 6) need from the platform: one typed object, ``Platform.inference``."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.core.v1 import VolumeArgs, VolumeMountArgs

from components.inference_namespace import HF_TOKEN_KEY, hf_token_volume
from components.keda import HttpAddonRefs


@dataclass(frozen=True)
class QueueRefs:
    """The async queue, as KEDA's azure-servicebus trigger names it."""

    namespace: pulumi.Output[str]  # Service Bus namespace name (trigger metadata `namespace`)
    queue_name: str
    trigger_auth: str  # TriggerAuthentication in the inference namespace
    reply_queue_name: str = ""
    # The queue worker's ServiceAccount (Data Receiver on the queue, Data Sender on the reply queue).
    worker_service_account: str | None = None
    registry_login_server: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class WeightsRefs:
    """The model weights' Blob container (components.model_weights) and who seeds it."""

    account_name: pulumi.Output[str]
    container: str
    seeder_service_account: str


@dataclass(frozen=True)
class InferenceRuntimeRefs:
    """Namespace, identity, secrets and autoscaling hooks for the model workloads."""

    namespace: str
    service_account: str  # federated to the inference identity (Key Vault Secrets User on the vault)
    kube_provider: pulumi.ProviderResource
    namespace_resource: pulumi.Resource  # depend on it: the namespace exists first
    prometheus_query_endpoint: pulumi.Output[str]  # KEDA prometheus trigger `serverAddress`
    prometheus_trigger_auth: str  # TriggerAuthentication (azure-workload) in the inference namespace
    hf_token_secret: str | None = None  # Secret with key HF_TOKEN (KAITO modelAccessSecret); None: no token
    secret_provider_class: str | None = None
    queue: QueueRefs | None = None
    http_addon: HttpAddonRefs | None = None
    # The KAITO release (helm mode) that serves the Workspace and InferenceSet kinds; None: the
    # managed add-on, enabled on the cluster the Kubernetes provider depends on.
    kaito_release: pulumi.Resource | None = None
    hf_token_key: str = HF_TOKEN_KEY
    weights: WeightsRefs | None = None  # None: the stack keeps no weights in Blob

    def hf_token_volume(self) -> tuple[VolumeArgs, VolumeMountArgs] | None:
        """The CSI volume and mount for a vLLM pod (run it as ``service_account``); None: no token."""
        if self.secret_provider_class is None:
            return None
        return hf_token_volume(self.secret_provider_class)
