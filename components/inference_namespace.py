"""The inference namespace: its ServiceAccount with the inference workload identity, and the Hugging
Face token synced from Key Vault into a Kubernetes Secret by the Secrets Store CSI driver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment, DeploymentSpecArgs
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ContainerArgs,
    CSIVolumeSourceArgs,
    ExecActionArgs,
    Namespace,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    SecurityContextArgs,
    TolerationArgs,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.networking.v1 import NetworkPolicy, NetworkPolicySpecArgs

from components.child_names import Component
from components.key_vault import HF_TOKEN_SECRET
from components.kube_annotations import SKIP_AWAIT
from components.roles import KEY_VAULT_SECRETS_USER
from components.workload_identity import IdentityHome, RoleGrant, WorkloadIdentity, WorkloadIdentityArgs
from config import versions
from config.schema import InferenceConfig
from facts.platform import system_pool_toleration
from facts.tags import k8s_labels
from renderers.api_keys import (
    API_KEYS_SECRET,
    API_KEYS_SECRET_PROVIDER_CLASS,
    VLLM_KEYS_FILE,
    VLLM_KEYS_SECRET,
    secret_key,
    vault_secret_name,
)

HF_TOKEN_K8S_SECRET = "hf-token"  # Kubernetes Secret for KAITO's modelAccessSecret and vLLM pods
HF_TOKEN_KEY = "HF_TOKEN"  # the key KAITO (and huggingface_hub) expects
SECRET_PROVIDER_CLASS = "hf-token"
SECRETS_MOUNT = "/mnt/secrets-store"
# busybox 1.37.0 pinned by digest (the index digest public repositories pin for this tag; check it with
# `docker buildx imagetools inspect docker.io/library/busybox:1.37.0` before changing it).
SYNC_IMAGE = versions.image("hf-token-sync").reference
CSI_DRIVER = "secrets-store.csi.k8s.io"


def hf_token_volume(secret_provider_class: str = SECRET_PROVIDER_CLASS) -> tuple[VolumeArgs, VolumeMountArgs]:
    """The CSI volume (and its read-only mount) that syncs the HF token; the pod's ServiceAccount must
    be the inference ServiceAccount, whose identity may read the vault.

    The CSI driver creates and refreshes the ``hf-token`` Secret only while a pod mounts this volume.
    """
    volume = VolumeArgs(
        name="hf-token",
        csi=CSIVolumeSourceArgs(
            driver=CSI_DRIVER,
            read_only=True,
            volume_attributes={"secretProviderClass": secret_provider_class},
        ),
    )
    return volume, VolumeMountArgs(name="hf-token", mount_path=SECRETS_MOUNT, read_only=True)


def secret_provider_parameters(
    client_id: str,
    vault_name: str,
    tenant_id: str,
    *secret_names: str,
    aliases: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The Azure provider's parameters: workload identity (no pod identity), one object per secret
    (the HF token when none is named), each mounted under its name or its alias (``aliases``: the file
    name in the mount, e.g. vLLM's keys file or the gateway's PEM certificate)."""
    names = secret_names or (HF_TOKEN_SECRET,)
    alias = aliases or {}
    objects = "".join(
        f"  - |\n    objectName: {n}\n    objectType: secret\n"
        + (f"    objectAlias: {alias[n]}\n" if n in alias else "")
        for n in names
    )
    return {
        "usePodIdentity": "false",
        "clientID": client_id,
        "keyvaultName": vault_name,
        "tenantId": tenant_id,
        "objects": f"array:\n{objects}",
    }


def secret_provider_class(
    owner: Component,
    child: str,
    name: str,
    namespace: str,
    parameters: pulumi.Input[dict[str, str]],
    synced: dict[str, Any],
    opts: pulumi.ResourceOptions,
    component: str = "secrets",
) -> CustomResource:
    """A SecretProviderClass of the Azure provider syncing into one Kubernetes Secret; ``synced``:
    ``secretName``, ``type`` and ``data`` of its ``secretObjects`` entry (labels added here, with the
    ``app.kubernetes.io/component`` of its owner)."""
    return CustomResource(
        owner.child_name(child),
        api_version="secrets-store.csi.x-k8s.io/v1",
        kind="SecretProviderClass",
        metadata=ObjectMetaArgs(name=name, namespace=namespace, labels=k8s_labels(name, component)),
        spec={
            "provider": "azure",
            "parameters": parameters,
            "secretObjects": [{**synced, "labels": k8s_labels(synced["secretName"], component)}],
        },
        opts=opts,
    )


@dataclass(frozen=True)
class InferenceNamespaceArgs:
    settings: InferenceConfig
    identity_name: str
    home: IdentityHome
    vault_name: pulumi.Input[str]
    vault_id: pulumi.Input[str]
    # Key Vault secret holding the token; None: no token configured, nothing to sync.
    hf_token_secret_name: str | None = None
    extra_grants: Sequence[RoleGrant] = ()
    # The consumers whose API keys (Key Vault secrets, components.key_vault) the models check, and
    # those secrets' resources (the sync waits for them); empty: no keys.
    api_key_consumers: tuple[str, ...] = ()
    api_key_secrets: Sequence[pulumi.Resource] = ()


class InferenceNamespace(Component):
    """Namespace + inference ServiceAccount/identity + SecretProviderClass and its keep-alive pod."""

    def __init__(self, name: str, args: InferenceNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:InferenceNamespace", name, opts)
        settings = args.settings
        self.name = settings.namespace
        self.service_account_name = settings.service_account
        self.namespace = Namespace(
            self.child_name("namespace"),
            metadata=ObjectMetaArgs(
                name=settings.namespace,
                labels={
                    **k8s_labels(settings.namespace, "inference"),
                    # KAITO's and vLLM's pods meet "baseline"; warn about what "restricted" would refuse.
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            ),
            opts=self.child_opts(was="namespace"),
        )
        self.identity = WorkloadIdentity(
            self.child_name("identity"),
            WorkloadIdentityArgs(
                identity_name=args.identity_name,
                home=args.home,
                namespace=settings.namespace,
                service_account=settings.service_account,
                grants=[
                    RoleGrant(KEY_VAULT_SECRETS_USER, args.vault_id, "read the HF token from this vault"),
                    *args.extra_grants,
                ],
                labels=k8s_labels(settings.service_account, "inference"),
                depends_on=[self.namespace],
            ),
            opts=self.child_opts(was="inference-identity"),
        )
        self.hf_token_secret: str | None = None
        self.secret_provider_class: str | None = None
        if args.hf_token_secret_name is not None:
            self._sync_token(args, args.hf_token_secret_name)
        if args.api_key_consumers:
            self._sync_api_keys(args)
        self.register_outputs({"namespace": self.name, "clientId": self.identity.client_id})

    def _sync_token(self, args: InferenceNamespaceArgs, secret_name: str) -> None:
        settings = args.settings
        parameters = pulumi.Output.all(self.identity.client_id, args.vault_name, args.home.tenant_id).apply(
            lambda v: secret_provider_parameters(v[0], v[1], v[2], secret_name)
        )
        synced = {
            "secretName": HF_TOKEN_K8S_SECRET,
            "type": "Opaque",
            "data": [{"objectName": secret_name, "key": HF_TOKEN_KEY}],
        }
        opts = self.child_opts(was="secret-provider-class", depends_on=[self.namespace])
        secret_provider_class(
            self, "secret-provider-class", SECRET_PROVIDER_CLASS, settings.namespace, parameters, synced, opts
        )
        self._keep_alive_pod(settings)
        self.hf_token_secret = HF_TOKEN_K8S_SECRET
        self.secret_provider_class = SECRET_PROVIDER_CLASS

    def _sync_api_keys(self, args: InferenceNamespaceArgs) -> None:
        """vLLM's keys file for the model pods' CSI mount, and every consumer's key into one Opaque
        Secret (``key-<consumer>``) for in-cluster clients such as the queue worker."""
        settings, names = args.settings, args.api_key_consumers
        vault_names = [vault_secret_name(c) for c in names]
        parameters = pulumi.Output.all(self.identity.client_id, args.vault_name, args.home.tenant_id).apply(
            # vLLM's keys file (mounted as its file name in the vLLM pods), then each consumer's key
            lambda v: secret_provider_parameters(
                v[0], v[1], v[2], VLLM_KEYS_SECRET, *vault_names, aliases={VLLM_KEYS_SECRET: VLLM_KEYS_FILE}
            )
        )
        synced = {
            "secretName": API_KEYS_SECRET,
            "type": "Opaque",
            "data": [{"objectName": vault_secret_name(c), "key": secret_key(c)} for c in names],
        }
        opts = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *args.api_key_secrets])
        spc = secret_provider_class(
            self, "api-keys-secret-provider-class", API_KEYS_SECRET_PROVIDER_CLASS, settings.namespace,
            parameters, synced, opts,
        )  # fmt: skip
        sync = SecretSync(
            "api-keys-sync", settings.namespace, settings.service_account, API_KEYS_SECRET_PROVIDER_CLASS,
            vault_names[0],
        )  # fmt: skip
        secret_sync_pod(self, sync, was=None, depends_on=[self.namespace, spc])

    def _keep_alive_pod(self, settings: InferenceConfig) -> None:
        """The CSI driver syncs (and rotates) the Secret only while some pod mounts the volume, and
        deletes it with the last such pod. KAITO's pods read the Secret but cannot mount our volume,
        and vLLM may scale to zero; one tiny pod on the system pool keeps the Secret in place."""
        secret_sync_pod(
            self,
            SecretSync("hf-token-sync", settings.namespace, settings.service_account, SECRET_PROVIDER_CLASS,
                       HF_TOKEN_SECRET),
            was="hf-token-sync",
            depends_on=[self.namespace],
        )  # fmt: skip


@dataclass(frozen=True)
class SecretSync:
    """A keep-alive pod's place: its name, namespace, ServiceAccount (whose identity may read the
    vault), the SecretProviderClass it mounts and the file whose presence says the sync works."""

    name: str
    namespace: str
    service_account: str
    secret_provider_class: str
    check_file: str


def secret_sync_pod(
    owner: Component,
    sync: SecretSync,
    *,
    was: str | None,
    depends_on: Sequence[pulumi.Resource],
    skip_await: bool = False,
) -> None:
    """One tiny pod on the system pool holding a Secrets Store CSI mount (``was``: its previous name; None
    when new; ``skip_await``: `pulumi up` does not wait for it, for a secret a person puts in the vault
    after the first `up` created it), so the driver creates and
    rotates the synced Kubernetes Secret (it syncs only while a pod mounts the volume: AKS
    csi-secrets-store-driver docs; istio-gateway-api.md lines 273-274), and a NetworkPolicy denying it
    every connection (the driver on the node talks to Key Vault, not the pod)."""
    name = sync.name
    pod_labels = k8s_labels(name, "secrets")
    volume, mount = hf_token_volume(sync.secret_provider_class)
    check = ProbeArgs(
        exec_=ExecActionArgs(command=["test", "-s", f"{SECRETS_MOUNT}/{sync.check_file}"]),
        period_seconds=60,
        failure_threshold=3,
    )
    Deployment(
        owner.child_name(name),
        metadata=ObjectMetaArgs(
            name=name,
            namespace=sync.namespace,
            labels=pod_labels,
            annotations=SKIP_AWAIT if skip_await else None,
        ),
        spec=DeploymentSpecArgs(
            replicas=1,
            selector=LabelSelectorArgs(match_labels={"app.kubernetes.io/name": name}),
            template=PodTemplateSpecArgs(
                metadata=ObjectMetaArgs(labels=pod_labels),
                spec=PodSpecArgs(
                    service_account_name=sync.service_account,
                    automount_service_account_token=False,
                    security_context=PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=65534,
                        run_as_group=65534,
                        seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    node_selector={"kubernetes.io/os": "linux"},
                    tolerations=[TolerationArgs(**system_pool_toleration())],
                    containers=[
                        ContainerArgs(
                            name="sync",
                            image=SYNC_IMAGE,
                            image_pull_policy="Always",
                            command=[
                                "sh",
                                "-c",
                                "trap 'exit 0' TERM; while true; do sleep 3600 & wait $!; done",
                            ],
                            resources=ResourceRequirementsArgs(
                                requests={"cpu": "5m", "memory": "8Mi"},
                                limits={"cpu": "50m", "memory": "32Mi"},
                            ),
                            security_context=SecurityContextArgs(
                                allow_privilege_escalation=False,
                                read_only_root_filesystem=True,
                                capabilities=CapabilitiesArgs(drop=["ALL"]),
                            ),
                            readiness_probe=check,
                            liveness_probe=check,
                            volume_mounts=[mount],
                        )
                    ],
                    volumes=[volume],
                ),
            ),
        ),
        opts=_opts(owner, was, depends_on),
    )
    # The pod only holds the CSI mount (the driver on the node talks to Key Vault): no traffic at all.
    NetworkPolicy(
        owner.child_name(f"{name}-network-policy"),
        metadata=ObjectMetaArgs(name=name, namespace=sync.namespace, labels=pod_labels),
        spec=NetworkPolicySpecArgs(
            pod_selector=LabelSelectorArgs(match_labels={"app.kubernetes.io/name": name}),
            policy_types=["Ingress", "Egress"],
        ),
        opts=_opts(owner, f"{was}-network-policy" if was else None, depends_on),
    )


def _opts(owner: Component, was: str | None, depends_on: Sequence[pulumi.Resource]) -> pulumi.ResourceOptions:
    """A child's options; with an alias to ``was`` only where it had another name before."""
    if was is None:
        return pulumi.ResourceOptions(parent=owner, depends_on=list(depends_on))
    return owner.child_opts(was=was, depends_on=list(depends_on))
