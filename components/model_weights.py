"""Model weights in Blob: the storage account (created, or adopted by id) and its container, and each
model's seeding Job (``renderers.model_weights`` renders its steps).

Self-contained: it exposes the account's id and name and the container's id, so a private endpoint
(another component) can attach to the account. Network: as the stack's Key Vault (the data services share
one mode): public endpoint off when ``addons.keyVault.publicNetworkAccess`` is false (reached by a private
endpoint), else on without an IP firewall, which cannot admit a same-region cluster (see below).
No shared keys, no anonymous blob access, TLS 1.2: Entra ID only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.storage as storage
from pulumi_kubernetes.batch.v1 import Job, JobSpecArgs
from pulumi_kubernetes.core.v1 import (
    ContainerArgs,
    EmptyDirVolumeSourceArgs,
    EnvVarArgs,
    PersistentVolumeClaimVolumeSourceArgs,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    SecretVolumeSourceArgs,
    TolerationArgs,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.networking.v1 import (
    IPBlockArgs,
    NetworkPolicy,
    NetworkPolicyEgressRuleArgs,
    NetworkPolicyPeerArgs,
    NetworkPolicyPortArgs,
    NetworkPolicySpecArgs,
)

from components.azure_place import AzurePlace
from components.child_names import Component
from components.kube_annotations import SKIP_AWAIT
from components.model_common import DNS_NAMESPACE, restricted_security_context
from config import versions
from config.schema import KeyVaultConfig, ModelWeightsConfig
from facts.platform import SYSTEM_POOL_TAINT, system_pool_selector, system_pool_toleration
from facts.tags import k8s_labels
from facts.vllm_runai import ACCOUNT_ENV, WORKLOAD_IDENTITY_LABEL
from renderers.model_weights import SEED_DIR, check_script, download_command, upload_script, wait_script
from renderers.vllm import VLLM_GID, VLLM_UID, vllm_environment
from sizing.deployments import ModelPlan
from sizing.workloads import VLLM_IMAGE, seed_wait_seconds

SEED_IMAGE = versions.image("weights-seed").reference
SEEDER_SERVICE_ACCOUNT = "weights-seeder"
SEEDER_UID = 65532


def _account_parts(resource_id: str) -> tuple[str, str]:
    """(resource group, account name) of an adopted account's id (the schema checked its form)."""
    parts = resource_id.split("/")
    return parts[4], parts[-1]


@dataclass(frozen=True)
class ModelWeightsArgs:
    settings: ModelWeightsConfig
    network: KeyVaultConfig  # the data services' network mode (the vault's)
    account_name: pulumi.Input[str]  # a created account's globally unique name (facts.naming)
    place: AzurePlace
    cluster_egress_ips: pulumi.Input[Sequence[str]] = ()


class ModelWeightsStore(Component):
    """The weights' storage account (or the adopted one) and its private container."""

    account_id: pulumi.Output[str]
    account_name: pulumi.Output[str]
    container_id: pulumi.Output[str]
    container_name: str

    def __init__(self, name: str, args: ModelWeightsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:ModelWeights", name, opts)
        settings, network = args.settings, args.network
        if settings.storage_account_id is not None:
            group, account = _account_parts(settings.storage_account_id)
            self.account_id = pulumi.Output.from_input(settings.storage_account_id)
            self.account_name = pulumi.Output.from_input(account)
            resource_group: pulumi.Input[str] = group
        else:
            # With the public endpoint on, no IP firewall: Azure Storage ignores IP rules for requests from
            # the same region ("Azure Storage firewall rules and limitations", Microsoft Learn:
            # storage-network-security-limitations), so the cluster's egress IP, in the stack's region,
            # could never be let in and every az:// read and seed upload would get 403. Access is by
            # Entra ID only (no shared keys, no anonymous blobs); with the vault private the public
            # endpoint is off and the pods use the private endpoint (components.private_endpoints).
            account_resource = storage.StorageAccount(
                self.child_name("account"),
                account_name=args.account_name,
                resource_group_name=args.place.resource_group_name,
                location=args.place.location,
                kind=storage.Kind.STORAGE_V2,
                sku=storage.SkuArgs(name=storage.SkuName.STANDARD_ZRS),
                access_tier=storage.AccessTier.HOT,
                allow_blob_public_access=False,
                allow_shared_key_access=False,
                default_to_o_auth_authentication=True,
                enable_https_traffic_only=True,
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
                allow_cross_tenant_replication=False,
                public_network_access="Enabled" if network.public_network_access else "Disabled",
                network_rule_set=storage.NetworkRuleSetArgs(
                    default_action=storage.DefaultAction.DENY
                    if not network.public_network_access
                    else storage.DefaultAction.ALLOW,
                    bypass=storage.Bypass.AZURE_SERVICES,
                ),
                tags=dict(args.place.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.account_id = account_resource.id
            self.account_name = account_resource.name
            resource_group = args.place.resource_group_name
        self.container_name = settings.container
        container = storage.BlobContainer(
            self.child_name("container"),
            account_name=self.account_name,
            resource_group_name=resource_group,
            container_name=settings.container,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.container_id = container.id
        self.register_outputs(
            {"accountId": self.account_id, "accountName": self.account_name, "container": self.container_name}
        )


def seed_job_name(plan: ModelPlan) -> str:
    """``seed-<model>-<first 10 of the revision>``: a new revision is a new Job (a Job's pod template is
    immutable), the same revision the same Job."""
    revision = plan.config.revision or ""
    return f"seed-{plan.config.name}"[:52] + f"-{revision[:10]}"


def wait_for_weights(
    plan: ModelPlan, *, namespace: str, account_name: pulumi.Input[str], container: str, tmp_volume: str
) -> ContainerArgs:
    """The init container of a Blob-streaming vLLM pod: waits, as the pod's (inference) identity, until
    the seeding Job has written the revision's marker, so vLLM never starts on an empty prefix; fails
    after the seed's predicted time with margin (``sizing.workloads.seed_wait_seconds``), naming the Job.
    The workload identity webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and the token file into init
    containers as into containers (read at Azure/azure-workload-identity pkg/webhook/webhook.go, a stored
    version: ``pod.Spec.InitContainers = m.mutateContainers(...)``); the seeding Job's ``check`` relies on
    the same."""
    revision = plan.config.revision or ""
    script = wait_script(
        container,
        f"{plan.config.name}/{revision}",
        deadline_s=seed_wait_seconds(plan),
        job=seed_job_name(plan),
        namespace=namespace,
    )
    return ContainerArgs(
        name="wait-for-weights",
        image=SEED_IMAGE,
        image_pull_policy="Always",
        command=["/bin/sh", "-c", script],
        env=[
            EnvVarArgs(name=ACCOUNT_ENV, value=account_name),
            EnvVarArgs(name="AZURE_CONFIG_DIR", value="/tmp/azure"),
            EnvVarArgs(name="HOME", value="/tmp"),
        ],
        volume_mounts=[VolumeMountArgs(name=tmp_volume, mount_path="/tmp")],
        resources=ResourceRequirementsArgs(
            requests={"cpu": "100m", "memory": "256Mi"}, limits={"cpu": "1", "memory": "512Mi"}
        ),
        security_context=restricted_security_context(SEEDER_UID),
    )


def seed_job(
    parent: Component,
    plan: ModelPlan,
    *,
    namespace: str,
    account_name: pulumi.Input[str],
    container: str,
    cache_claim: str,
    hf_token_secret: str | None,
    hf_token_key: str,
    opts: pulumi.ResourceOptions,
) -> Job:
    """The model's seeding Job: check, download (the pinned revision), upload; on the system pool, as
    the seeder's workload identity, scratch on the model's own Files share (resumable across retries)."""
    revision = plan.config.revision or ""
    blob_path = f"{plan.config.name}/{revision}"
    name = seed_job_name(plan)
    labels = k8s_labels(name, "weights-seeding", instance=plan.config.name, version=revision[:10])
    az_env = [
        EnvVarArgs(name=ACCOUNT_ENV, value=account_name),
        EnvVarArgs(name="AZURE_CONFIG_DIR", value="/tmp/azure"),
        EnvVarArgs(name="HOME", value="/tmp"),
    ]
    scratch = VolumeMountArgs(name="seed", mount_path=SEED_DIR)
    tmp = VolumeMountArgs(name="tmp", mount_path="/tmp")
    small = ResourceRequirementsArgs(
        requests={"cpu": "250m", "memory": "512Mi"}, limits={"cpu": "1", "memory": "1Gi"}
    )
    # The vLLM image's environment, with the hub's cache on the scratch share (the root is read-only).
    seed_env = vllm_environment() | {"HF_HOME": f"{SEED_DIR}/.hf-home"}
    download_env = [EnvVarArgs(name=k, value=v) for k, v in seed_env.items()]
    download_mounts = [scratch, tmp, VolumeMountArgs(name="home", mount_path=vllm_environment()["HOME"])]
    volumes = [
        VolumeArgs(
            name="seed",
            persistent_volume_claim=PersistentVolumeClaimVolumeSourceArgs(claim_name=cache_claim),
        ),
        VolumeArgs(name="tmp", empty_dir=EmptyDirVolumeSourceArgs(size_limit="2Gi")),
        VolumeArgs(name="home", empty_dir=EmptyDirVolumeSourceArgs(size_limit="2Gi")),
    ]
    if hf_token_secret is not None:
        # The token as a file (huggingface_hub reads HF_TOKEN_PATH), from the Secret synced from Key Vault.
        volumes.append(
            VolumeArgs(
                name="hf-token",
                secret=SecretVolumeSourceArgs(secret_name=hf_token_secret, optional=True),
            )
        )
        download_mounts.append(VolumeMountArgs(name="hf-token", mount_path="/var/run/hf", read_only=True))
        download_env.append(EnvVarArgs(name="HF_TOKEN_PATH", value=f"/var/run/hf/{hf_token_key}"))
    # Nothing calls the seeding pod; it reaches DNS, and the hub, Entra ID and Blob over TLS only.
    NetworkPolicy(
        parent.child_name(f"seed-{plan.config.name}-network-policy"),
        metadata=ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
        spec=NetworkPolicySpecArgs(
            pod_selector=LabelSelectorArgs(match_labels={"app.kubernetes.io/name": name}),
            policy_types=["Ingress", "Egress"],
            egress=[
                NetworkPolicyEgressRuleArgs(
                    to=[
                        NetworkPolicyPeerArgs(
                            namespace_selector=LabelSelectorArgs(
                                match_labels={"kubernetes.io/metadata.name": DNS_NAMESPACE}
                            )
                        )
                    ],
                    ports=[NetworkPolicyPortArgs(port=53, protocol=p) for p in ("UDP", "TCP")],
                ),
                NetworkPolicyEgressRuleArgs(
                    to=[NetworkPolicyPeerArgs(ip_block=IPBlockArgs(cidr="0.0.0.0/0"))],
                    ports=[NetworkPolicyPortArgs(port=443, protocol="TCP")],
                ),
            ],
        ),
        opts=opts,
    )
    return Job(
        parent.child_name(f"seed-{plan.config.name}"),
        metadata=ObjectMetaArgs(name=name, namespace=namespace, labels=labels, annotations=SKIP_AWAIT),
        spec=JobSpecArgs(
            backoff_limit=6,  # each retry resumes the download
            ttl_seconds_after_finished=7 * 24 * 3600,
            template=PodTemplateSpecArgs(
                metadata=ObjectMetaArgs(labels={**labels, WORKLOAD_IDENTITY_LABEL: "true"}),
                spec=PodSpecArgs(
                    service_account_name=SEEDER_SERVICE_ACCOUNT,
                    automount_service_account_token=False,
                    restart_policy="OnFailure",
                    security_context=PodSecurityContextArgs(
                        run_as_non_root=True, seccomp_profile=SeccompProfileArgs(type="RuntimeDefault")
                    ),
                    # The system pool is the only CPU pool (GPU pools may be at zero): tolerate its taint.
                    node_selector=system_pool_selector(),
                    tolerations=[TolerationArgs(**system_pool_toleration(), effect=SYSTEM_POOL_TAINT.effect)],
                    init_containers=[
                        ContainerArgs(
                            name="check",
                            image=SEED_IMAGE,
                            image_pull_policy="Always",
                            command=["/bin/sh", "-c", check_script(container, blob_path)],
                            env=az_env,
                            volume_mounts=[scratch, tmp],
                            resources=small,
                            security_context=restricted_security_context(SEEDER_UID),
                        ),
                        ContainerArgs(
                            name="download",
                            image=VLLM_IMAGE,
                            image_pull_policy="Always",
                            command=download_command(plan.hf_id, revision, blob_path),
                            env=download_env,
                            volume_mounts=download_mounts,
                            resources=ResourceRequirementsArgs(
                                requests={"cpu": "500m", "memory": "1Gi"},
                                limits={"cpu": "2", "memory": "4Gi"},
                            ),
                            security_context=restricted_security_context(VLLM_UID, VLLM_GID),
                        ),
                    ],
                    containers=[
                        ContainerArgs(
                            name="upload",
                            image=SEED_IMAGE,
                            image_pull_policy="Always",
                            command=["/bin/sh", "-c", upload_script(container, blob_path)],
                            env=az_env,
                            volume_mounts=[scratch, tmp],
                            resources=small,
                            security_context=restricted_security_context(SEEDER_UID),
                        )
                    ],
                    volumes=volumes,
                ),
            ),
        ),
        opts=opts,
    )
