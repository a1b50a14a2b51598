"""The add-ons around the cluster, composed: Managed Prometheus, Key Vault, the async queue, the
inference namespace and its identity, KEDA and KAITO. ``Platform`` builds one of these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization

from components.alerting import Alerting, AlertingArgs
from components.azure_place import AzurePlace
from components.child_names import Component
from components.cluster import AksCluster
from components.container_registry import ContainerRegistry, ContainerRegistryArgs, kubelet_object_id
from components.inference_namespace import InferenceNamespace, InferenceNamespaceArgs
from components.inference_refs import InferenceRuntimeRefs, QueueRefs, WeightsRefs
from components.kaito import Kaito, KaitoArgs
from components.keda import KedaArgs, KedaAutoscaling
from components.key_vault import KeyVault, KeyVaultArgs, cluster_egress_ips
from components.model_weights import SEEDER_SERVICE_ACCOUNT, ModelWeightsArgs, ModelWeightsStore
from components.monitoring import ManagedPrometheus, ManagedPrometheusArgs
from components.name_suffix import unique_suffix
from components.outputs import AddonsSummary, TriggerAuthentications
from components.prometheus_rules import PrometheusRules, PrometheusRulesArgs
from components.roles import (
    SERVICE_BUS_DATA_RECEIVER,
    SERVICE_BUS_DATA_SENDER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
)
from components.service_bus import AsyncQueue, AsyncQueueArgs
from components.workload_identity import IdentityHome, RoleGrant, WorkloadIdentity, WorkloadIdentityArgs
from config.schema import StackConfig
from facts.naming import Names
from facts.tags import k8s_labels
from renderers.alerts import ALERT_INTERVAL, alert_contacts, prometheus_alert_rules, queue_metric_alerts
from renderers.api_keys import consumers
from renderers.autoscaling import RULE_INTERVAL, load_recording_rule
from renderers.gpu_software import kaito_gfd_values
from sizing.deployments import ModelPlan
from sizing.queue_worker import WORKER_NAME, WORKER_SERVICE_ACCOUNT


@dataclass(frozen=True)
class PlatformAddonsArgs:
    names: Names
    tags: Mapping[str, str]
    config: StackConfig
    cluster: AksCluster
    model_plans: Sequence[ModelPlan] = ()  # the alert rules' per-model rules
    http_readiness_timeout_seconds: int | None = None  # the plan's (planning.stack_plan.StackPlan)
    private_endpoint_targets: Sequence[str] = ()  # the plan's: services behind a private endpoint


class PlatformAddons(Component):
    """Every add-on of one stack; ``inference`` is what model services build on."""

    inference: InferenceRuntimeRefs
    outputs: AddonsSummary

    def __init__(self, name: str, args: PlatformAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:Addons", name, opts)
        cfg, names, tags, cluster = args.config, args.names, dict(args.tags), args.cluster
        plans = args.model_plans
        client = authorization.get_client_config_output()
        place = AzurePlace(resource_group_name=cluster.resource_group_name, location=cfg.location, tags=tags)
        home = IdentityHome(
            place=place,
            oidc_issuer_url=cluster.oidc_issuer_url,
            subscription_id=client.subscription_id,
            tenant_id=client.tenant_id,
        )

        # The suffix of the globally unique names: random once, kept in state (or naming.suffix).
        unique = unique_suffix(
            self.child_name("name-suffix"), cfg.naming.suffix, self.child_opts(was="name-suffix")
        )
        prometheus = ManagedPrometheus(
            self.child_name("prometheus"),
            ManagedPrometheusArgs(names=names, cluster_id=cluster.cluster.id, place=place),
            self.child_opts(was="prometheus"),
        )
        private = args.private_endpoint_targets  # services behind a private endpoint (issue 23)
        queue = (
            AsyncQueue(
                self.child_name("async-queue"),
                AsyncQueueArgs(
                    names=names,
                    unique=unique,
                    settings=cfg.addons.async_queue,
                    place=place,
                    private="namespace" in private,
                ),
                self.child_opts(was="async-queue"),
            )
            if cfg.addons.async_queue.enabled
            else None
        )
        alerting = Alerting(
            self.child_name("alerting"),
            AlertingArgs(
                names=names,
                place=place,
                contact_emails=alert_contacts(cfg) if cfg.alerts.enabled else [],
                queue_namespace_id=queue.namespace.id if queue is not None else None,
                queue_alerts=queue_metric_alerts(cfg),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.action_group_id = alerting.action_group_id
        # The rule groups: each model's load recorded for the KEDA triggers, and the alert rules; new,
        # so no alias.
        rules = PrometheusRules(
            self.child_name("prometheus-rules"),
            PrometheusRulesArgs(
                rule_group_name=names.prometheus_rule_group(),
                place=place,
                workspace_id=prometheus.workspace_id,
                cluster_id=cluster.cluster.id,
                cluster_name=cluster.cluster_name,
                recording_rules=[load_recording_rule()],
                interval=RULE_INTERVAL,
                query_endpoint=prometheus.query_endpoint,
                alert_group_name=names.prometheus_alert_group(),
                alert_rules=prometheus_alert_rules(cfg, plans, cfg.inference.namespace),
                alert_interval=ALERT_INTERVAL,
                action_group_id=alerting.action_group_id,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        # The token only ever travels as a secret Output: masked in state, plan and logs.
        token = pulumi.Output.secret(cfg.hf_token.get_secret_value()) if cfg.hf_token is not None else None
        vault = KeyVault(
            self.child_name("key-vault"),
            KeyVaultArgs(
                names=names,
                unique=unique,
                tenant_id=client.tenant_id,
                settings=cfg.addons.key_vault,
                cluster_egress_ips=cluster_egress_ips(cluster.cluster),
                hf_token=token,
                place=place,
                api_key_consumers=consumers(cfg),
            ),
            self.child_opts(was="key-vault"),
        )
        self.vault, self.home = vault, home  # the gateway (components.gateway) reads its certificate here
        weights_store: ModelWeightsStore | None = None
        weights_grants: list[RoleGrant] = []
        if cfg.model_weights is not None:
            weights_store = ModelWeightsStore(
                self.child_name("model-weights"),
                ModelWeightsArgs(
                    settings=cfg.model_weights,
                    network=cfg.addons.key_vault,
                    account_name=unique.apply(names.storage_account),
                    place=place,
                    cluster_egress_ips=cluster_egress_ips(cluster.cluster),
                ),
                self.child_opts(was="model-weights"),
            )
            # vLLM's streamer reads the weights: on this one container, nothing else.
            weights_grants.append(
                RoleGrant(STORAGE_BLOB_DATA_READER, weights_store.container_id, "stream the model weights")
            )
        namespace = InferenceNamespace(
            self.child_name("inference"),
            InferenceNamespaceArgs(
                settings=cfg.inference,
                identity_name=names.identity("inference"),
                vault_name=vault.vault_name,
                vault_id=vault.vault_id,
                hf_token_secret_name=vault.hf_token_secret_name,
                home=home,
                extra_grants=weights_grants,
                api_key_consumers=consumers(cfg),
                api_key_secrets=vault.api_key_secrets,
            ),
            self.child_opts(was="inference"),
        )
        seeder: WorkloadIdentity | None = None
        if weights_store is not None:
            seeder = WorkloadIdentity(
                self.child_name("weights-seeder-identity"),
                WorkloadIdentityArgs(
                    identity_name=names.identity(SEEDER_SERVICE_ACCOUNT),
                    home=home,
                    namespace=namespace.name,
                    service_account=SEEDER_SERVICE_ACCOUNT,
                    grants=[
                        RoleGrant(
                            STORAGE_BLOB_DATA_CONTRIBUTOR,
                            weights_store.container_id,
                            "the seeding Jobs write each model's pinned revision",
                        )
                    ],
                    labels=k8s_labels(SEEDER_SERVICE_ACCOUNT, "weights-seeding"),
                    depends_on=[namespace.namespace],
                ),
                self.child_opts(was="weights-seeder-identity"),
            )
        keda = KedaAutoscaling(
            self.child_name("keda"),
            KedaArgs(
                identity_name=names.identity("keda"),
                inference_namespace=namespace.name,
                inference_namespace_resource=namespace.namespace,
                monitor_workspace_id=prometheus.workspace_id,
                http_addon=cfg.addons.keda.http_addon,
                queue_id=queue.queue_id if queue is not None else None,
                home=home,
                system_nodes=cfg.cluster.system_pool.count,
                readiness_timeout_seconds=args.http_readiness_timeout_seconds,
            ),
            self.child_opts(was="keda"),
        )
        kaito = Kaito(
            self.child_name("kaito"),
            KaitoArgs(
                settings=cfg.addons.kaito,
                identity_name=names.identity("gpu-provisioner"),
                node_resource_group=cluster.cluster.node_resource_group.apply(lambda g: g or ""),
                cluster_name=cluster.cluster_name,
                cluster_id=cluster.cluster.id,
                home=home,
                gfd_values=kaito_gfd_values(cfg),
            ),
            self.child_opts(was="kaito"),
        )

        # The queue worker: its own identity, with exactly the rights it uses, each on one queue (the
        # model pods' inference identity gets no Service Bus rights). The registry holds its image.
        worker: WorkloadIdentity | None = None
        registry: ContainerRegistry | None = None
        if queue is not None:
            worker = WorkloadIdentity(
                self.child_name("queue-worker-identity"),
                WorkloadIdentityArgs(
                    identity_name=names.identity(WORKER_NAME),
                    home=home,
                    namespace=namespace.name,
                    service_account=WORKER_SERVICE_ACCOUNT,
                    grants=[
                        RoleGrant(
                            SERVICE_BUS_DATA_RECEIVER, queue.queue_id, "the queue worker drains the requests"
                        ),
                        RoleGrant(
                            SERVICE_BUS_DATA_SENDER, queue.reply_queue_id, "the queue worker writes results"
                        ),
                    ],
                    labels=k8s_labels(WORKER_NAME, "queue-worker", instance=WORKER_NAME, version="v1"),
                    depends_on=[namespace.namespace],
                ),
                self.child_opts(was="queue-worker-identity"),
            )
            registry = ContainerRegistry(
                self.child_name("container-registry"),
                ContainerRegistryArgs(
                    registry_name=unique.apply(names.container_registry),
                    subscription_id=client.subscription_id,
                    kubelet_object_id=cluster.cluster.identity_profile.apply(kubelet_object_id),
                    deployer_object_id=client.object_id,
                    deployer_principal_type=cfg.cluster.deployer_principal_type,
                    place=place,
                    private="registry" in private,
                ),
                self.child_opts(was="container-registry"),
            )

        if private and cluster.network is not None:
            # Imported here: pulumi_azure_native.network costs about 0.9 s, paid by private stacks only.
            from components.private_endpoints import private_endpoints

            self.private_endpoints = private_endpoints(
                self,
                cluster.network,
                {"vault": vault.vault_id}
                | ({"namespace": queue.namespace.id} if queue is not None else {})
                | ({"registry": registry.registry_id} if registry is not None else {})
                | ({"blob": weights_store.account_id} if weights_store is not None else {}),
                list(private),
                place,
                names.base,
            )

        self.inference = InferenceRuntimeRefs(
            namespace=namespace.name,
            service_account=namespace.service_account_name,
            kube_provider=cluster.kube_provider,
            namespace_resource=namespace.namespace,
            prometheus_query_endpoint=rules.load_query_endpoint,
            prometheus_trigger_auth=keda.prometheus_trigger_auth,
            hf_token_secret=namespace.hf_token_secret,
            secret_provider_class=namespace.secret_provider_class,
            queue=QueueRefs(
                queue.namespace_name,
                queue.queue_name,
                keda.service_bus_trigger_auth,
                reply_queue_name=queue.reply_queue_name,
                worker_service_account=WORKER_SERVICE_ACCOUNT,
                registry_login_server=registry.login_server if registry is not None else None,
            )
            if queue is not None and keda.service_bus_trigger_auth is not None
            else None,
            http_addon=keda.http_addon,
            kaito_release=kaito.release,
            weights=WeightsRefs(
                weights_store.account_name, weights_store.container_name, SEEDER_SERVICE_ACCOUNT
            )
            if weights_store is not None
            else None,
        )
        identities: dict[str, WorkloadIdentity] = {"inference": namespace.identity, "keda": keda.identity}
        if kaito.gpu_provisioner is not None:
            identities["gpu-provisioner"] = kaito.gpu_provisioner
        if worker is not None:
            identities["queue-worker"] = worker
        if seeder is not None:
            identities["weights-seeder"] = seeder
        # Client ids are not secrets (they identify, they do not authenticate); the token is never here.
        triggers: TriggerAuthentications = {"prometheus": keda.prometheus_trigger_auth}
        if keda.service_bus_trigger_auth:
            triggers["serviceBus"] = keda.service_bus_trigger_auth
        self.outputs = {
            "identities": {key: ident.client_id for key, ident in identities.items()},
            "keyVaultName": vault.vault_name,
            "prometheusQueryEndpoint": prometheus.query_endpoint,
            "kaito": kaito.summary,
            "inferenceNamespace": namespace.name,
            "triggerAuthentications": triggers,
        }
        _optional_outputs(self.outputs, namespace, weights_store, queue, registry)
        self.register_outputs(dict(self.outputs))


def _optional_outputs(
    outputs: AddonsSummary,
    namespace: InferenceNamespace,
    weights_store: ModelWeightsStore | None,
    queue: AsyncQueue | None,
    registry: ContainerRegistry | None,
) -> None:
    """The add-on outputs only some stacks have: the HF token's Secret, the weights store, the queue."""
    if namespace.hf_token_secret is not None:
        outputs["hfTokenSecret"] = namespace.hf_token_secret
    if weights_store is not None:
        outputs["modelWeights"] = {
            "accountId": weights_store.account_id,
            "accountName": weights_store.account_name,
            "container": weights_store.container_name,
        }
    if queue:
        outputs["asyncQueue"] = {
            "namespace": queue.namespace_name,
            "queue": queue.queue_name,
            "replyQueue": queue.reply_queue_name,
            "registry": registry.login_server if registry is not None else None,
        }
