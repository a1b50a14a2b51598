"""The stack's outputs, typed: one ``TypedDict`` per output, shared by the components that register them
and the reports that print them (``tools/report*.py``); ``docs/outputs.md`` is generated from them
(``python -m tools.gen_docs``). A ``pulumi.Input[str]`` is a name the program knows or a value Azure
assigns (an ``Output`` while the program runs); the reports read it resolved, as a string.

Each class's docstring is the output's description and each key's comment its meaning; the plan's own
typed fields (``planning.stack_plan.StackPlan``) become outputs here, in one place.
"""

from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict

import pulumi

from config.schema import StackConfig
from facts.aks_versions import AddonVersion
from facts.gateway_api import BUNDLE_VERSION
from planning.stack_plan import KubernetesVersionSummary
from renderers.api_keys import consumers, vault_secret_name
from renderers.gateway import GatewaySpec, ModelRoute, client_urls
from sizing.deployments import ModelPlan
from sizing.nap_summary import KaitoNodes, NapSummary
from sizing.queue_worker import WorkerPlan
from sizing.quota import QuotaRow


class ModelSummary(TypedDict):
    """How callers reach one model, what serves it and how far it scales (output ``models.<name>``)."""

    url: str  # the in-cluster Service, port 80
    servedModelName: str | None  # the name the OpenAI API takes (None: ask GET /v1/models)
    runtime: str  # vllm | kaito
    kind: str  # what serves it: Deployment, Workspace or InferenceSet
    pool: str  # the GPU pool or NAP NodePool it runs on
    replicasMin: int  # the floor (0: scales to zero)
    replicasMax: int
    scaleToZero: bool
    wakeUp: list[str]  # what wakes it from zero (schedule, queue, http); empty with a floor
    coldStart: dict[str, Any]  # predicted from zero nodes (sizing.cold_start.ColdStart.row, and its text)
    weightsSource: str  # where its weights come from, and why
    coldStartUrl: NotRequired[str]  # the KEDA HTTP add-on's interceptor, when HTTP wakes it
    coldStartHost: NotRequired[str]  # the Host header the interceptor routes by


class KaitoSummary(TypedDict):
    """KAITO's mode, the release it brings and the caveat (output ``kaito``)."""

    mode: str  # managed | helm
    version: str  # e.g. v0.6.0
    note: str


class TriggerAuthentications(TypedDict):
    """KEDA TriggerAuthentications the models' ScaledObjects name (output ``triggerAuthentications``)."""

    prometheus: pulumi.Input[str]
    serviceBus: NotRequired[pulumi.Input[str]]  # with the async queue


class AsyncQueueSummary(TypedDict):
    """The Service Bus queue, its reply queue and the worker image's registry (output ``asyncQueue``)."""

    namespace: pulumi.Input[str]
    queue: pulumi.Input[str]
    replyQueue: pulumi.Input[str]
    registry: pulumi.Input[str] | None  # the worker image's registry (login server)


class ModelWeightsSummary(TypedDict):
    """The Blob storage the models' weights stream from (output ``modelWeights``)."""

    accountId: pulumi.Input[str]
    accountName: pulumi.Input[str]
    container: pulumi.Input[str]


class AddonsSummary(TypedDict):
    """The add-ons' outputs (merged into the stack's top level; keys without a value are left out)."""

    identities: dict[str, pulumi.Input[str]]  # workload identity -> client id (not a secret)
    keyVaultName: pulumi.Input[str]
    prometheusQueryEndpoint: pulumi.Input[str]  # KEDA's serverAddress
    kaito: KaitoSummary
    inferenceNamespace: pulumi.Input[str]
    triggerAuthentications: TriggerAuthentications
    hfTokenSecret: NotRequired[pulumi.Input[str]]  # the Secret the HF token is synced to, with a token
    modelWeights: NotRequired[ModelWeightsSummary]  # with weights streamed from Blob storage
    asyncQueue: NotRequired[AsyncQueueSummary]  # with addons.asyncQueue.enabled


class QueueWorkerSummary(TypedDict):
    """The plan's view of the async queue's worker (output ``queueWorker``)."""

    model: str  # the batch model it feeds
    image: str  # the image, or why it is left out
    deployed: bool
    queue: str
    replyQueue: str
    concurrency: int  # messages per pod
    replicasMax: int
    modelWaitSeconds: int  # how long a delivery waits for a cold model
    requestTimeoutSeconds: int
    cooldownSeconds: int
    maxDeliveryCount: int


class ManagedAddon(TypedDict):
    """What AKS ships of one managed add-on on the cluster's minor."""

    version: str
    assumed: NotRequired[str]  # why the version is assumed, when the docs list none


class KubernetesVersion(TypedDict):
    """The cluster's version and its AKS end of life on the plan's date (output ``kubernetesVersion``)."""

    version: str
    minor: str
    tier: str
    supportPlan: str
    endOfLife: str | None  # YYYY-MM-DD
    planDate: str  # YYYY-MM-DD: the date the plan was made for
    status: str  # ok | warn | refuse
    note: str
    managedAddons: dict[str, ManagedAddon]


class UpgradeStepSummary(TypedDict):
    """One step of what a change of ``cluster.kubernetesVersion`` runs, in order (output ``upgradePath``)."""

    step: str  # what the step does
    command: str  # the command, as a shell would run it


class KaitoNodeRow(TypedDict):
    """GPU nodes KAITO provisions itself for one KAITO model, at its maximum."""

    model: str
    sku: str
    nodesPerReplica: int | None
    replicasMax: int
    maxNodes: int | None


class NodeProvisioningSummary(TypedDict):
    """Node Auto Provisioning: mode, NodePools, KAITO's own nodes and what governs what (output
    ``nodeProvisioning``)."""

    mode: str  # pools | nap
    keepDefaultNodePools: bool | None  # NAP mode only
    nodePools: list[dict[str, Any]]  # one row per Karpenter NodePool (sizing.nap.NodePoolSpec.row)
    kaitoNodes: list[KaitoNodeRow]
    kaitoMaxNodes: int
    notes: list[str]


class QuotaNeed(TypedDict):
    """The vCPUs one quota family needs and who needs them (output ``quota``, one row per family)."""

    family: str
    kind: Literal["on-demand", "spot"]
    pools: str  # each pool at its maximum plus upgrade surge
    needVcpus: int
    quotaVcpus: int | None  # as declared under quota:, if at all
    ok: bool | None  # None: no quota declared


class GatewayModel(TypedDict):
    """How an application calls one model through the gateway, and what the model accepts."""

    baseUrl: str  # the OpenAI base URL, with the header below
    header: str  # the header that selects the model on baseUrl
    pathBaseUrl: str  # the same model by path, for clients that cannot set a header
    maxModelLen: int  # context length (prompt + completion tokens) per request
    maxNumSeqs: int  # sequences one replica runs at once (more wait in its queue)
    maxConcurrent: int  # maxNumSeqs x the replica maximum
    backend: str  # service | interceptor (held while the model wakes from zero)


class GatewaySummary(TypedDict):
    """The gateway in front of the models: its URL, how callers authenticate (output ``gateway``)."""

    hostname: str
    baseUrl: str  # https://<hostname>/v1
    internal: bool  # an internal load balancer (a private address) or a public one
    address: str | None  # its fixed private address (with a gateway subnet); None: assigned by Azure
    namespace: str
    tlsCertificate: str  # the Key Vault certificate, synced into the tlsSecret Secret
    tlsSecret: str
    istioRevision: str  # the AKS Istio add-on revision that serves it
    gatewayApiCrds: str  # the Gateway API bundle the program installs
    authentication: str  # what a call must carry
    # consumer -> the Key Vault secret holding its key (names only, never a value)
    apiKeySecrets: dict[str, str]
    models: dict[str, GatewayModel]
    notBehindGateway: list[str]  # models reached in the cluster only (gateway.excludeModels)


class StackOutputs(TypedDict):
    """Every output of the stack (``pulumi stack output``); the offline plan prints them. The add-ons'
    keys (``AddonsSummary``) are merged in at the top level."""

    sizing: list[dict[str, Any]]  # one row per model (sizing.deployments.ModelPlan.row)
    resourceGroupName: pulumi.Input[str]  # the stack's resource group
    clusterName: pulumi.Input[str]  # the AKS cluster
    oidcIssuerUrl: pulumi.Input[str]  # the cluster's OIDC issuer (workload identity federation)
    gpuPools: list[dict[str, Any]]  # one row per agent pool (sizing.agent_pools.AgentPoolSpec.row)
    quota: list[QuotaNeed]  # vCPUs per quota family
    identities: dict[str, pulumi.Input[str]]  # from AddonsSummary
    keyVaultName: pulumi.Input[str]  # from AddonsSummary
    prometheusQueryEndpoint: pulumi.Input[str]  # from AddonsSummary
    kaito: KaitoSummary  # from AddonsSummary
    inferenceNamespace: pulumi.Input[str]  # from AddonsSummary
    triggerAuthentications: TriggerAuthentications  # from AddonsSummary
    hfTokenSecret: NotRequired[pulumi.Input[str]]  # with an HF token
    modelWeights: NotRequired[ModelWeightsSummary]  # from AddonsSummary, with weights from Blob storage
    asyncQueue: NotRequired[AsyncQueueSummary]  # with addons.asyncQueue.enabled
    kubernetesVersion: KubernetesVersion  # the version and its end of life
    upgradePath: list[UpgradeStepSummary]  # what a change of cluster.kubernetesVersion runs
    gateway: NotRequired[GatewaySummary]  # the gateway, its URL and keys (issue 23)
    notes: NotRequired[list[str]]  # what the plan wants you to know (warnings, caveats, next steps)
    nodeProvisioning: NodeProvisioningSummary  # agent pools or NAP, and KAITO's own nodes
    network: NotRequired[
        dict[str, Any]
    ]  # the VNet, its subnets and egress (sizing.network.NetworkPlan.summary)
    cost: dict[str, Any]  # the cost estimate (cost.estimate.CostEstimate.to_dict)
    budgetName: NotRequired[str]  # with budget:
    models: dict[str, ModelSummary]  # model name -> how to reach it
    queueWorker: NotRequired[QueueWorkerSummary]  # with the async queue


def quota_output(row: QuotaRow) -> QuotaNeed:
    return {
        "family": row.family,
        "kind": row.kind,
        "pools": "; ".join(p.describe() for p in row.pools),
        "needVcpus": row.need,
        "quotaVcpus": row.quota,
        "ok": row.ok,
    }


def queue_worker_output(worker: WorkerPlan) -> QueueWorkerSummary:
    return {
        "model": worker.model,
        "image": worker.image or "not set: the worker is left out (docs/async-queue.md)",
        "deployed": worker.deployed,
        "queue": worker.queue,
        "replyQueue": worker.reply_queue,
        "concurrency": worker.concurrency,
        "replicasMax": worker.max_replicas,
        "modelWaitSeconds": worker.model_wait_seconds,
        "requestTimeoutSeconds": worker.request_timeout_seconds,
        "cooldownSeconds": worker.cooldown_seconds,
        "maxDeliveryCount": worker.max_delivery_count,
    }


def kubernetes_version_output(summary: KubernetesVersionSummary) -> KubernetesVersion:
    return {
        "version": summary.version,
        "minor": summary.minor,
        "tier": summary.tier,
        "supportPlan": summary.support_plan,
        "endOfLife": summary.end_of_life.isoformat() if summary.end_of_life else None,
        "planDate": summary.plan_date.isoformat(),
        "status": summary.status,
        "note": summary.note,
        "managedAddons": {name: _managed_addon(v) for name, v in summary.managed_addons.items()},
    }


def _managed_addon(addon: AddonVersion) -> ManagedAddon:
    """What AKS ships (config/catalog/aks-versions.yaml); ``assumed`` says why, if so."""
    row: ManagedAddon = {"version": addon.version}
    if addon.assumed:
        row["assumed"] = addon.assumed
    return row


def _kaito_node_row(row: KaitoNodes) -> KaitoNodeRow:
    return {
        "model": row.model,
        "sku": row.sku,
        "nodesPerReplica": row.nodes_per_replica,
        "replicasMax": row.replicas_max,
        "maxNodes": row.max_nodes,
    }


def node_provisioning_output(summary: NapSummary) -> NodeProvisioningSummary:
    kaito = [_kaito_node_row(r) for r in summary.kaito_nodes]
    return {
        "mode": summary.mode,
        "keepDefaultNodePools": summary.keep_default_node_pools,
        "nodePools": [spec.row() for spec in summary.node_pools],
        "kaitoNodes": kaito,
        "kaitoMaxNodes": sum(r.max_nodes or 0 for r in summary.kaito_nodes),
        "notes": list(summary.notes),
    }


def gateway_output(
    config: StackConfig, spec: GatewaySpec, plans: Sequence[ModelPlan], routes: Sequence[ModelRoute]
) -> GatewaySummary:
    """The gateway's summary from the config, the rendered spec, the model plans and their routes
    (``renderers.gateway.model_routes``); key names only."""
    gw = config.gateway
    assert gw is not None
    keys = consumers(config)
    by_name = {p.config.name: p for p in plans}
    models: dict[str, GatewayModel] = {}
    for route in routes:
        plan = by_name[route.name]
        urls = client_urls(spec, route)
        seqs = plan.sizing.max_num_seqs
        models[route.name] = {
            "baseUrl": urls["baseUrl"],
            "header": urls["header"],
            "pathBaseUrl": urls["pathBaseUrl"],
            "maxModelLen": plan.sizing.max_model_len,
            "maxNumSeqs": seqs,
            "maxConcurrent": seqs * plan.replicas_max,
            "backend": "service" if route.interceptor is None else "interceptor",
        }
    return {
        "hostname": gw.hostname,
        "baseUrl": f"https://{gw.hostname}/v1",
        "internal": gw.internal,
        "address": spec.address,
        "namespace": gw.namespace,
        "tlsCertificate": gw.certificate_name,
        "tlsSecret": spec.tls_secret,
        "istioRevision": gw.istio_revision,
        "gatewayApiCrds": BUNDLE_VERSION,
        "authentication": "Authorization: Bearer <key> (one key per consumer, in Key Vault)"
        if keys
        else "none (gateway.apiKeys is false): anonymous calls",
        "apiKeySecrets": {c: vault_secret_name(c) for c in keys},
        "models": models,
        "notBehindGateway": list(gw.exclude_models),
    }
