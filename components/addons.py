"""The add-ons around the cluster, composed: Managed Prometheus, Key Vault, the async queue, the
inference namespace and its identity, KEDA and KAITO. ``Platform`` builds one of these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization

from components.cluster import AksCluster
from components.inference_namespace import InferenceNamespace, InferenceNamespaceArgs
from components.inference_refs import InferenceRuntimeRefs, QueueRefs
from components.kaito import Kaito, KaitoArgs
from components.keda import KedaArgs, KedaAutoscaling
from components.key_vault import KeyVault, KeyVaultArgs, cluster_egress_ips
from components.monitoring import ManagedPrometheus, ManagedPrometheusArgs
from components.roles import SERVICE_BUS_DATA_RECEIVER
from components.service_bus import AsyncQueue, AsyncQueueArgs
from components.workload_identity import IdentityHome, RoleGrant, WorkloadIdentity
from config.catalog import load_catalog
from config.gpu_software import kaito_gfd_values
from config.naming import Names
from config.schema import StackConfig
from sizing.autoscaling import wake_up_sources
from sizing.deployments import plan_models
from sizing.workloads import http_cold_start_wait_seconds


def http_readiness_timeout_seconds(config: StackConfig) -> int | None:
    """The interceptor-wide readiness wait: the longest cold-start wait of the models it fronts
    (each route also carries its own); None when it fronts none (the chart's default, no limit)."""
    http = config.addons.keda.http_addon
    if not http.enabled:
        return None
    waits = [
        http_cold_start_wait_seconds(plan, http.cold_start_timeout_seconds)
        for plan in plan_models(config, load_catalog())
        if "http" in wake_up_sources(plan, http_addon=True, queue=False)
    ]
    return max(waits, default=None)


def addon_features(config: StackConfig) -> dict[str, bool]:
    """The ``ClusterFeatures`` switches these add-ons need on the ManagedCluster."""
    return {
        "kaito_addon": config.addons.kaito.mode == "managed",
        "keda_addon": True,
        "key_vault_csi": True,
        "managed_prometheus": True,
    }


@dataclass(frozen=True)
class PlatformAddonsArgs:
    names: Names
    tags: Mapping[str, str]
    config: StackConfig
    cluster: AksCluster


class PlatformAddons(pulumi.ComponentResource):
    """Every add-on of one stack; ``inference`` is what model services build on."""

    inference: InferenceRuntimeRefs
    outputs: dict[str, Any]

    def __init__(self, name: str, args: PlatformAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:Addons", name, None, opts)
        cfg, names, tags, cluster = args.config, args.names, dict(args.tags), args.cluster
        child = pulumi.ResourceOptions(parent=self)
        client = authorization.get_client_config_output()
        common: dict[str, Any] = {
            "resource_group_name": cluster.resource_group_name,
            "location": cfg.location,
            "tags": tags,
        }
        home = IdentityHome(
            resource_group_name=cluster.resource_group_name,
            location=cfg.location,
            tags=tags,
            oidc_issuer_url=cluster.oidc_issuer_url,
            subscription_id=client.subscription_id,
            tenant_id=client.tenant_id,
            kube_provider=cluster.kube_provider,
        )

        prometheus = ManagedPrometheus(
            "prometheus", ManagedPrometheusArgs(names=names, cluster_id=cluster.cluster.id, **common), child
        )
        queue = (
            AsyncQueue(
                "async-queue", AsyncQueueArgs(names=names, settings=cfg.addons.async_queue, **common), child
            )
            if cfg.addons.async_queue.enabled
            else None
        )
        # The token only ever travels as a secret Output: masked in state, plan and logs.
        token = pulumi.Output.secret(cfg.hf_token) if cfg.hf_token is not None else None
        vault = KeyVault(
            "key-vault",
            KeyVaultArgs(
                names=names,
                tenant_id=client.tenant_id,
                settings=cfg.addons.key_vault,
                cluster_egress_ips=cluster_egress_ips(cluster.cluster),
                hf_token=token,
                **common,
            ),
            child,
        )
        queue_grants = (
            [RoleGrant(SERVICE_BUS_DATA_RECEIVER, queue.queue_id, "batch workers drain the async queue")]
            if queue is not None
            else []
        )
        namespace = InferenceNamespace(
            "inference",
            InferenceNamespaceArgs(
                settings=cfg.inference,
                identity_name=names.identity("inference"),
                vault_name=vault.vault_name,
                vault_id=vault.vault_id,
                hf_token_secret_name=vault.hf_token_secret_name,
                extra_grants=queue_grants,
                home=home,
            ),
            child,
        )
        keda = KedaAutoscaling(
            "keda",
            KedaArgs(
                identity_name=names.identity("keda"),
                inference_namespace=namespace.name,
                inference_namespace_resource=namespace.namespace,
                monitor_workspace_id=prometheus.workspace_id,
                http_addon=cfg.addons.keda.http_addon,
                queue_id=queue.queue_id if queue is not None else None,
                home=home,
                system_nodes=cfg.cluster.system_pool.count,
                readiness_timeout_seconds=http_readiness_timeout_seconds(cfg),
            ),
            child,
        )
        kaito = Kaito(
            "kaito",
            KaitoArgs(
                settings=cfg.addons.kaito,
                identity_name=names.identity("gpu-provisioner"),
                node_resource_group=cluster.cluster.node_resource_group.apply(lambda g: g or ""),
                cluster_name=cluster.cluster_name,
                cluster_id=cluster.cluster.id,
                home=home,
                gfd_values=kaito_gfd_values(cfg),
            ),
            child,
        )

        self.inference = InferenceRuntimeRefs(
            namespace=namespace.name,
            service_account=namespace.service_account_name,
            kube_provider=cluster.kube_provider,
            namespace_resource=namespace.namespace,
            prometheus_query_endpoint=prometheus.query_endpoint,
            prometheus_trigger_auth=keda.prometheus_trigger_auth,
            hf_token_secret=namespace.hf_token_secret,
            secret_provider_class=namespace.secret_provider_class,
            queue=QueueRefs(queue.namespace_name, queue.queue_name, keda.service_bus_trigger_auth)
            if queue is not None and keda.service_bus_trigger_auth is not None
            else None,
            http_addon=keda.http_addon,
        )
        identities: dict[str, WorkloadIdentity] = {"inference": namespace.identity, "keda": keda.identity}
        if kaito.gpu_provisioner is not None:
            identities["gpu-provisioner"] = kaito.gpu_provisioner
        # Client ids are not secrets (they identify, they do not authenticate); the token is never here.
        outputs: dict[str, Any] = {
            "identities": {key: ident.client_id for key, ident in identities.items()},
            "keyVaultName": vault.vault_name,
            "prometheusQueryEndpoint": prometheus.query_endpoint,
            "kaito": kaito.summary,
            "inferenceNamespace": namespace.name,
            "triggerAuthentications": {
                "prometheus": keda.prometheus_trigger_auth,
                **({"serviceBus": keda.service_bus_trigger_auth} if keda.service_bus_trigger_auth else {}),
            },
            "hfTokenSecret": namespace.hf_token_secret,
            "asyncQueue": {"namespace": queue.namespace_name, "queue": queue.queue_name} if queue else None,
        }
        self.outputs = {key: value for key, value in outputs.items() if value is not None}
        self.register_outputs(self.outputs)
