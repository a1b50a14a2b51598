"""Add-ons, identities, Key Vault and the async queue, through the real program under mocks."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.roles import (
    ACR_PULL,
    ACR_PUSH,
    AKS_RBAC_CLUSTER_ADMIN,
    GPU_PROVISIONER_AGENT_POOLS,
    KEY_VAULT_SECRETS_USER,
    MONITORING_DATA_READER,
    NETWORK_CONTRIBUTOR,
    SERVICE_BUS_DATA_OWNER,
    SERVICE_BUS_DATA_RECEIVER,
    SERVICE_BUS_DATA_SENDER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    assignment_name,
)
from tests.conftest import ROOT, by_type, one, planned, run_with
from tests.k8s_schemas import iter_docs, manifest_errors, requires_crds
from tools.mocks import (
    MOCK_CLUSTER_PRINCIPAL_ID,
    MOCK_KUBELET_OBJECT_ID,
    MOCK_OUTBOUND_IP,
    MOCK_SUBSCRIPTION,
    ProgramRun,
    mock_resource_id,
)
from tools.plan import kubernetes_manifests, run_stack

DEPLOYER = "00000000-0000-0000-0000-00000000000b"  # the mocked getClientConfig objectId

MI = "azure-native:managedidentity:UserAssignedIdentity"
FIC = "azure-native:managedidentity:FederatedIdentityCredential"
RA = "azure-native:authorization:RoleAssignment"
MC = "azure-native:containerservice:ManagedCluster"
RELEASE = "kubernetes:helm.sh/v3:Release"
TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
ISSUER = "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/mock/"
AUDIENCE = ["api://AzureADTokenExchange"]
SUBSCRIPTION_OR_GROUP = re.compile(r"^/subscriptions/[^/]+(/resourceGroups/[^/]+)?/?$", re.IGNORECASE)

BASE = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster:
    apiServer: {privateCluster: true}
"""
FULL = (
    BASE
    + """  aks-llm:hfToken:
    secure: v1:AAAAAAAAAAAAAAAAAAAAAAAA
  aks-llm:addons:
    kaito:
      mode: helm
      featureGates: {inferenceSet: true, mig: true}
    keda:
      httpAddon: {enabled: true, coldStartTimeoutSeconds: 900, responseHeaderTimeoutSeconds: 120}
    keyVault:
      allowedIpRanges: ["20.50.0.0/24", "52.1.2.3/32"]
    asyncQueue:
      enabled: true
      queueName: nightly
      lockDurationSeconds: 120
      maxDeliveryCount: 3
      worker: {image: "crllmfull1234.azurecr.io/aks-llm-worker@sha256:%s"}
  aks-llm:gpuPools:
    - {name: t4, vmSize: Standard_NC4as_T4_v3, purpose: batch, spot: {min: 0, max: 2}}
  aks-llm:models:
    - {name: nightly, model: phi-4-mini-instruct, pool: t4, purpose: batch}
"""
    % ("0" * 64)
)


@cache
def _full() -> ProgramRun:
    """The stack with every option on (helm KAITO, HTTP add-on, token, queue), run once."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.full.yaml"
        path.write_text(FULL)
        return run_stack(ROOT, "full", path)[1]


def identity_name(stack: str, purpose: str) -> str:
    return f"id-llm-{stack}-{purpose}"


def resource_id(run: ProgramRun, type_: str, name: str | None = None) -> str:
    (resource,) = [r for r in by_type(run, type_) if name is None or r.name == name]
    name = next(
        v for k, v in sorted(resource.inputs.items()) if k.endswith("Name") and k != "resourceGroupName"
    )
    kind = type_.split(":")[-1]
    name = resource.inputs.get(kind[:1].lower() + kind[1:] + "Name", name)
    return mock_resource_id(type_, name)


def grants(run: ProgramRun) -> dict[tuple[str, str], str]:
    """(principal id, role GUID) -> scope, for every role assignment."""
    out: dict[tuple[str, str], str] = {}
    for r in by_type(run, RA):
        key = (r.inputs["principalId"], r.inputs["roleDefinitionId"].rsplit("/", 1)[1])
        assert key not in out, f"role assigned twice: {key}"
        out[key] = r.inputs["scope"]
    return out


def principal(stack: str, purpose: str) -> str:
    return f"principal-id-of-{identity_name(stack, purpose)}"


ALL_STACKS = ["dev", "prod", "full"]


def run_of(stack: str) -> ProgramRun:
    return _full() if stack == "full" else planned(stack)[1]


# --- workload identities ---------------------------------------------------------------------------


EXPECTED_SUBJECTS = {
    "inference": "system:serviceaccount:inference:inference",
    "keda": "system:serviceaccount:kube-system:keda-operator",
    "gpu-provisioner": "system:serviceaccount:gpu-provisioner:gpu-provisioner",
    "queue-worker": "system:serviceaccount:inference:queue-worker",
    "weights-seeder": "system:serviceaccount:inference:weights-seeder",
    "gateway": "system:serviceaccount:llm-gateway:gateway-tls-sync",
}


@pytest.mark.parametrize(
    ("stack", "purposes"),
    [
        ("dev", {"inference", "keda", "queue-worker", "weights-seeder"}),
        ("prod", {"inference", "keda", "gpu-provisioner", "weights-seeder", "gateway"}),
    ],
)
def test_each_identity_is_federated_to_its_service_account(stack: str, purposes: set[str]) -> None:
    run = planned(stack)[1]
    identities = {r.inputs["resourceName"] for r in by_type(run, MI)}
    assert identities == {identity_name(stack, p) for p in purposes}
    credentials = {r.inputs["resourceName"]: r.inputs for r in by_type(run, FIC)}
    assert set(credentials) == identities
    for purpose in purposes:
        fic = credentials[identity_name(stack, purpose)]
        assert fic["issuer"] == ISSUER == run.outputs["oidcIssuerUrl"]
        assert fic["subject"] == EXPECTED_SUBJECTS[purpose]
        assert fic["audiences"] == AUDIENCE


@pytest.mark.parametrize("stack", ["dev"])  # prod and nap install KAITO's chart (their phi4 scales)
def test_managed_kaito_creates_no_identity_and_no_chart(stack: str) -> None:
    run = planned(stack)[1]
    names = [r.inputs["resourceName"] for r in by_type(run, MI)]
    assert not [n for n in names if "kaito" in n or "provisioner" in n], names
    charts = {r.inputs["chart"] for r in by_type(run, RELEASE)}
    assert not charts & {"workspace", "gpu-provisioner"}, charts
    assert one(run, MC).inputs["aiToolchainOperatorProfile"] == {"enabled": True}
    kaito = run.outputs["kaito"]
    assert kaito["mode"] == "managed" and kaito["version"] == "v0.6.0"
    note = kaito["note"]
    assert "runs KAITO 0.6.0" in note and "no InferenceSet" in note and "v0.12.0" in note


def custom_role(run: ProgramRun) -> str:
    """The GUID of the gpu-provisioner's custom role definition in this plan (components/kaito.py)."""
    definitions = by_type(run, "azure-native:authorization:RoleDefinition")
    assert len(definitions) <= 1
    guid: str = definitions[0].inputs["roleDefinitionId"] if definitions else "(none)"
    return guid


def test_role_scopes_are_exactly_one_resource_each(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    vault = resource_id(run, "azure-native:keyvault:Vault")
    workspace = resource_id(run, "azure-native:monitor:AzureMonitorWorkspace")
    cluster = resource_id(run, "azure-native:containerservice:ManagedCluster")
    expected = {
        (principal(stack, "inference"), KEY_VAULT_SECRETS_USER.guid): vault,
        (principal(stack, "keda"), MONITORING_DATA_READER.guid): workspace,
        (DEPLOYER, AKS_RBAC_CLUSTER_ADMIN.guid): cluster,
    }
    if stack == "prod":  # KAITO's chart with the self-hosted gpu-provisioner: the cluster only
        expected[(principal(stack, "gpu-provisioner"), custom_role(run))] = cluster
        # prod's own VNet: the cluster's identity manages its subnets and internal load balancers
        vnet = resource_id(run, "azure-native:network:VirtualNetwork")
        expected[(MOCK_CLUSTER_PRINCIPAL_ID, NETWORK_CONTRIBUTOR.guid)] = vnet
        # prod's gateway: its TLS certificate, read as a secret from the vault (components/gateway.py)
        expected[(principal(stack, "gateway"), KEY_VAULT_SECRETS_USER.guid)] = vault
    if "modelWeights" in run.outputs:  # weights in Blob: the container, never the account
        container = resource_id(run, "azure-native:storage:BlobContainer")
        expected |= {
            (principal(stack, "inference"), STORAGE_BLOB_DATA_READER.guid): container,
            (principal(stack, "weights-seeder"), STORAGE_BLOB_DATA_CONTRIBUTOR.guid): container,
        }
    if "asyncQueue" in run.outputs:  # dev and nap drain a queue; prod has no batch model
        queue = resource_id(run, "azure-native:servicebus:Queue", "platform-addons-async-queue-queue")
        replies = resource_id(run, "azure-native:servicebus:Queue", "platform-addons-async-queue-reply-queue")
        registry = resource_id(run, "azure-native:containerregistry:Registry")
        expected |= {
            # the worker: receive on the request queue, send on the reply queue, nothing else
            (principal(stack, "queue-worker"), SERVICE_BUS_DATA_RECEIVER.guid): queue,
            (principal(stack, "queue-worker"), SERVICE_BUS_DATA_SENDER.guid): replies,
            # KEDA reads the request queue's count (azure-servicebus trigger)
            (principal(stack, "keda"), SERVICE_BUS_DATA_OWNER.guid): queue,
            # the nodes pull the worker's image from the stack's registry
            (MOCK_KUBELET_OBJECT_ID, ACR_PULL.guid): registry,
            # the deployer's worker-image workflow pushes it
            (DEPLOYER, ACR_PUSH.guid): registry,
        }
    assert grants(run) == expected


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_no_role_is_ever_granted_on_a_subscription_or_resource_group(stack: str) -> None:
    run = run_of(stack)
    assignments = by_type(run, RA)
    assert assignments
    for r in assignments:
        scope, inputs = r.inputs["scope"], r.inputs
        assert not SUBSCRIPTION_OR_GROUP.match(scope), f"{r.name}: broad scope {scope}"
        assert scope.startswith(f"/subscriptions/{MOCK_SUBSCRIPTION}/mock/"), scope
        # workload identities are service principals; so is the deployer the committed stacks expect (CI)
        assert inputs["principalType"] == "ServicePrincipal"
        assert inputs["roleDefinitionId"].startswith(
            f"/subscriptions/{MOCK_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        )
        purpose = inputs["principalId"].removeprefix(f"principal-id-of-id-llm-{stack}-")
        role = next(
            role
            for role in (
                GPU_PROVISIONER_AGENT_POOLS,
                KEY_VAULT_SECRETS_USER,
                MONITORING_DATA_READER,
                SERVICE_BUS_DATA_OWNER,
                SERVICE_BUS_DATA_RECEIVER,
                SERVICE_BUS_DATA_SENDER,
                STORAGE_BLOB_DATA_CONTRIBUTOR,
                STORAGE_BLOB_DATA_READER,
                ACR_PULL,
                ACR_PUSH,
                AKS_RBAC_CLUSTER_ADMIN,
                NETWORK_CONTRIBUTOR,
            )
            if inputs["roleDefinitionId"].endswith(role.guid)
            or (role is GPU_PROVISIONER_AGENT_POOLS and inputs["roleDefinitionId"].endswith(custom_role(run)))
        )
        # Deterministic GUID names: uuid5 of scope, role and the identity's (or deployer's) name.
        principal = (
            f"deployer-{DEPLOYER}"
            if inputs["principalId"] == DEPLOYER
            else "kubelet"
            if inputs["principalId"] == MOCK_KUBELET_OBJECT_ID
            else "cluster"
            if inputs["principalId"] == MOCK_CLUSTER_PRINCIPAL_ID
            else identity_name(stack, purpose)
        )
        assert inputs["roleAssignmentName"] == assignment_name(scope, role, principal)


def test_service_accounts_carry_their_identity_client_id(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    sa = one(run, "kubernetes:core/v1:ServiceAccount", "platform-addons-inference-identity-sa").inputs
    assert sa["metadata"]["namespace"] == "inference" and sa["metadata"]["name"] == "inference"
    annotations = sa["metadata"]["annotations"]
    assert (
        annotations["azure.workload.identity/client-id"]
        == f"client-id-of-{identity_name(stack, 'inference')}"
    )
    assert sa["automountServiceAccountToken"] is False
    # KEDA's ServiceAccount belongs to the AKS add-on: annotated by a patch, never created.
    patch = one(run, "kubernetes:core/v1:ServiceAccountPatch").inputs
    assert (patch["metadata"]["namespace"], patch["metadata"]["name"]) == ("kube-system", "keda-operator")
    assert patch["metadata"]["annotations"]["azure.workload.identity/client-id"] == (
        f"client-id-of-{identity_name(stack, 'keda')}"
    )
    expected = {
        "inference": f"client-id-of-{identity_name(stack, 'inference')}",
        "keda": f"client-id-of-{identity_name(stack, 'keda')}",
    }
    if "asyncQueue" in run.outputs:
        worker = one(
            run, "kubernetes:core/v1:ServiceAccount", "platform-addons-queue-worker-identity-sa"
        ).inputs
        assert (worker["metadata"]["namespace"], worker["metadata"]["name"]) == ("inference", "queue-worker")
        assert worker["metadata"]["annotations"]["azure.workload.identity/client-id"] == (
            f"client-id-of-{identity_name(stack, 'queue-worker')}"
        )
        expected["queue-worker"] = f"client-id-of-{identity_name(stack, 'queue-worker')}"
    if stack == "prod":  # KAITO's chart with the self-hosted gpu-provisioner; the gateway's TLS sync
        expected["gpu-provisioner"] = f"client-id-of-{identity_name(stack, 'gpu-provisioner')}"
        expected["gateway"] = f"client-id-of-{identity_name(stack, 'gateway')}"
    if "modelWeights" in run.outputs:
        expected["weights-seeder"] = f"client-id-of-{identity_name(stack, 'weights-seeder')}"
    assert run.outputs["identities"] == expected


# --- cluster add-on profiles, KEDA, Managed Prometheus -----------------------------------------------


def test_cluster_add_on_profiles(stack_run: tuple[str, ProgramRun]) -> None:
    _, run = stack_run
    mc = one(run, MC).inputs
    assert mc["workloadAutoScalerProfile"] == {"keda": {"enabled": True}}
    assert mc["azureMonitorProfile"] == {"metrics": {"enabled": True}}
    csi = mc["addonProfiles"]["azureKeyvaultSecretsProvider"]
    assert csi["enabled"] is True and csi["config"]["enableSecretRotation"] == "true"


def test_trigger_authentications_use_kedas_workload_identity(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    auths = {r.inputs["metadata"]["name"]: r.inputs for r in by_type(run, TRIGGER_AUTH)}
    queue = "asyncQueue" in run.outputs  # dev and nap; prod has no batch model, so no queue
    assert set(auths) == ({"keda-prometheus", "keda-servicebus"} if queue else {"keda-prometheus"})
    for auth in auths.values():
        assert auth["metadata"]["namespace"] == "inference"
        assert auth["spec"]["podIdentity"] == {
            "provider": "azure-workload",
            "identityId": f"client-id-of-{identity_name(stack, 'keda')}",
        }
    assert run.outputs["triggerAuthentications"] == {
        "prometheus": "keda-prometheus",
        **({"serviceBus": "keda-servicebus"} if queue else {}),
    }


def test_managed_prometheus_is_wired_to_the_cluster(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    workspace = resource_id(run, "azure-native:monitor:AzureMonitorWorkspace")
    endpoint = resource_id(run, "azure-native:monitor:DataCollectionEndpoint")
    rule_res = one(run, "azure-native:monitor:DataCollectionRule", "platform-addons-prometheus-dcr").inputs
    assert rule_res["destinations"]["monitoringAccounts"][0]["accountResourceId"] == workspace
    assert rule_res["dataSources"]["prometheusForwarder"][0]["streams"] == ["Microsoft-PrometheusMetrics"]
    assert rule_res["dataFlows"] == [
        {"streams": ["Microsoft-PrometheusMetrics"], "destinations": ["MonitoringAccount1"]}
    ]
    assert rule_res["dataCollectionEndpointId"] == endpoint
    cluster = mock_resource_id(MC, f"aks-llm-{stack}")
    associations = {
        r.inputs["associationName"]: r.inputs
        for r in by_type(run, "azure-native:monitor:DataCollectionRuleAssociation")
    }
    assert associations["ContainerInsightsMetricsExtension"]["resourceUri"] == cluster
    assert associations["ContainerInsightsMetricsExtension"]["dataCollectionRuleId"].endswith(
        "/" + rule_res["dataCollectionRuleName"]
    )
    assert associations["configurationAccessEndpoint"] == {
        "associationName": "configurationAccessEndpoint",
        "dataCollectionEndpointId": endpoint,
        "resourceUri": cluster,
    }
    assert run.outputs["prometheusQueryEndpoint"] == f"https://amw-llm-{stack}.prometheus.monitor.azure.com"


def test_container_insights_sends_logs_to_log_analytics_through_its_rule(
    stack_run: tuple[str, ProgramRun],
) -> None:
    """useAADAuth on the omsagent add-on needs the MSCI rule and its association, or nothing is sent."""
    stack, run = stack_run
    logs = resource_id(run, "azure-native:operationalinsights:Workspace")
    rule = one(
        run, "azure-native:monitor:DataCollectionRule", "platform-cluster-container-insights-dcr"
    ).inputs
    assert rule["dataCollectionRuleName"] == f"MSCI-swedencentral-aks-llm-{stack}"
    (extension,) = rule["dataSources"]["extensions"]
    assert (extension["extensionName"], extension["streams"]) == (
        "ContainerInsights",
        ["Microsoft-ContainerInsights-Group-Default"],
    )
    assert rule["destinations"]["logAnalytics"] == [{"name": "ciworkspace", "workspaceResourceId": logs}]
    assert rule["dataFlows"] == [
        {"streams": ["Microsoft-ContainerInsights-Group-Default"], "destinations": ["ciworkspace"]}
    ]
    association = next(
        r.inputs
        for r in by_type(run, "azure-native:monitor:DataCollectionRuleAssociation")
        if r.inputs["associationName"] == "ContainerInsightsExtension"
    )
    assert association["resourceUri"] == mock_resource_id(MC, f"aks-llm-{stack}")
    assert association["dataCollectionRuleId"].endswith("/" + rule["dataCollectionRuleName"])
    addon = one(run, MC).inputs["addonProfiles"]["omsagent"]
    assert addon["config"] == {"logAnalyticsWorkspaceResourceID": logs, "useAADAuth": "true"}


# --- Key Vault and the token -------------------------------------------------------------------------


def test_key_vault_is_rbac_purge_protected_and_denies_by_default(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    vault = one(run, "azure-native:keyvault:Vault").inputs
    props = vault["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True and props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == {"dev": 7, "prod": 90, "nap": 7}[stack]
    assert props["tenantId"] == "00000000-0000-0000-0000-000000000001"
    acls = props["networkAcls"]
    assert acls["defaultAction"] == "Deny" and acls["bypass"] == "AzureServices"
    if stack == "prod":  # private (issue 23): public access off, no IP rule (tests/test_private_endpoints.py)
        assert props["publicNetworkAccess"] == "Disabled" and acls["ipRules"] == []
    else:  # only the cluster's own egress IP: the Secrets Store CSI driver on the nodes must reach it
        assert props["publicNetworkAccess"] == "Enabled"
        assert acls["ipRules"] == [{"value": MOCK_OUTBOUND_IP}]
    assert run.outputs["keyVaultName"] == vault["vaultName"]
    # No token configured in the committed stacks: no token secret, nothing of it to sync; prod's
    # gateway keeps its consumers' API keys there (tests/test_gateway_program.py).
    secrets = {r.inputs["secretName"] for r in by_type(run, "azure-native:keyvault:Secret")}
    assert secrets == ({"model-key-chat-app", "model-api-keys-vllm"} if stack == "prod" else set())
    classes = {
        r.inputs["metadata"]["name"]
        for r in by_type(run, "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
    }
    assert classes == ({"model-api-keys", "gateway-tls"} if stack == "prod" else set())
    assert "hfTokenSecret" not in run.outputs


def test_key_vault_firewall_from_config(tmp_path: Path) -> None:
    run = _full()
    rules = one(run, "azure-native:keyvault:Vault").inputs["properties"]["networkAcls"]["ipRules"]
    # /32 becomes a bare address (Key Vault refuses /31 and /32 prefixes); the egress IP comes last.
    assert rules == [{"value": "20.50.0.0/24"}, {"value": "52.1.2.3"}, {"value": MOCK_OUTBOUND_IP}]
    closed = run_with(
        tmp_path,
        BASE + "  aks-llm:addons:\n    keyVault: {publicNetworkAccess: false, allowClusterEgress: false}\n",
    )
    # Without a private endpoint (the program creates none) a closed vault is unreachable: refused
    # before any resource (rules/azure.py key_vault_reachable).
    assert closed.exit_code == 2 and not closed.resources


def test_token_becomes_a_key_vault_secret_synced_to_hf_token() -> None:
    run = _full()
    secret = one(run, "azure-native:keyvault:Secret").inputs
    assert secret["properties"]["value"] == "[secret]"  # a secret Output, masked by the engine
    assert secret["secretName"] == "hf-token" and secret["vaultName"] == run.outputs["keyVaultName"]
    spc = one(run, "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass").inputs
    assert spc["metadata"] == {
        "name": "hf-token",
        "namespace": "inference",
        "labels": spc["metadata"]["labels"],
    }
    params = spc["spec"]["parameters"]
    assert spc["spec"]["provider"] == "azure"
    assert params["usePodIdentity"] == "false"
    assert params["clientID"] == run.outputs["identities"]["inference"]
    assert params["keyvaultName"] == run.outputs["keyVaultName"]
    assert params["tenantId"] == "00000000-0000-0000-0000-000000000001"
    assert "objectName: hf-token" in params["objects"] and "objectType: secret" in params["objects"]
    assert spc["spec"]["secretObjects"] == [
        {
            "secretName": "hf-token",
            "type": "Opaque",
            "labels": spc["spec"]["secretObjects"][0]["labels"],
            "data": [{"objectName": "hf-token", "key": "HF_TOKEN"}],
        }
    ]
    # The CSI driver syncs only while a pod mounts the volume: a keep-alive pod does.
    sync = one(run, "kubernetes:apps/v1:Deployment", "platform-addons-inference-hf-token-sync").inputs
    pod = sync["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "inference"
    assert pod["volumes"][0]["csi"] == {
        "driver": "secrets-store.csi.k8s.io",
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": "hf-token"},
    }
    assert ":latest" not in pod["containers"][0]["image"]
    assert run.outputs["hfTokenSecret"] == "hf-token"


@requires_crds
def test_every_manifest_of_the_full_stack_validates() -> None:
    manifests = kubernetes_manifests(_full().resources)
    kinds = {doc["kind"] for doc in manifests}
    assert {"SecretProviderClass", "TriggerAuthentication", "Deployment", "ServiceAccount"} <= kinds
    failures = {name: errs for name, doc in iter_docs(manifests) if (errs := manifest_errors(doc))}
    assert not failures, failures


# --- KAITO helm mode ---------------------------------------------------------------------------------


def releases(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["chart"]: r.inputs for r in by_type(run, RELEASE)}


def test_helm_kaito_brings_the_pinned_chart_and_a_cluster_scoped_provisioner() -> None:
    run = _full()
    assert "aiToolchainOperatorProfile" not in one(run, MC).inputs
    workspace = releases(run)["workspace"]
    assert workspace["version"] == "0.12.0" and workspace["namespace"] == "kaito-workspace"
    assert workspace["repositoryOpts"]["repo"] == "https://kaito-project.github.io/kaito/charts/kaito"
    assert workspace["values"]["featureGates"] == {
        "enableInferenceSetController": True,
        "enableMIG": True,
        "disableNodeAutoProvisioning": False,
    }
    assert workspace["values"]["nodeProvisioner"] == "azure-gpu-provisioner"
    provisioner = releases(run)["gpu-provisioner"]
    assert provisioner["version"] == "0.4.3"
    assert provisioner["values"]["serviceAccount"] == {"create": False, "name": "gpu-provisioner"}
    fic = next(r.inputs for r in by_type(run, FIC) if r.inputs["resourceName"].endswith("gpu-provisioner"))
    assert fic["subject"] == EXPECTED_SUBJECTS["gpu-provisioner"]
    assert fic["issuer"] == ISSUER and fic["audiences"] == AUDIENCE
    cluster = mock_resource_id(MC, "aks-llm-full")
    assert grants(run)[(principal("full", "gpu-provisioner"), custom_role(run))] == cluster
    sa = next(
        r.inputs
        for r in by_type(run, "kubernetes:core/v1:ServiceAccount")
        if r.inputs["metadata"]["name"] == "gpu-provisioner"
    )
    assert sa["metadata"]["namespace"] == "gpu-provisioner"
    assert (
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"]
        == (run.outputs["identities"]["gpu-provisioner"])
    )
    assert sa["automountServiceAccountToken"] is True  # a controller that talks to the API server
    assert run.outputs["kaito"]["mode"] == "helm" and run.outputs["kaito"]["version"] == "v0.12.0"


# (karpenter is refused: facts/kaito_nap.py, tests/test_nap_kaito.py)
@pytest.mark.parametrize(("provisioner", "chart_value"), [("none", None)])
def test_helm_kaito_without_gpu_provisioner_creates_no_identity(
    tmp_path: Path, provisioner: str, chart_value: str | None
) -> None:
    run = run_with(
        tmp_path, BASE + f"  aks-llm:addons:\n    kaito: {{mode: helm, nodeProvisioner: {provisioner}}}\n"
    )
    values = releases(run)["workspace"]["values"]
    assert values.get("nodeProvisioner") == chart_value
    assert values["featureGates"]["disableNodeAutoProvisioning"] is (provisioner == "none")
    assert "gpu-provisioner" not in releases(run)
    assert not [r for r in by_type(run, MI) if "provisioner" in r.inputs["resourceName"]]


# --- KEDA HTTP add-on and the async queue --------------------------------------------------------------


def test_http_addon_is_pinned_and_placed_on_the_system_pool(stack_run: tuple[str, ProgramRun]) -> None:
    _, run = stack_run
    assert "keda-add-ons-http" not in releases(run)  # off by default
    http = releases(_full())["keda-add-ons-http"]
    assert (
        http["version"] == "0.15.0" and http["repositoryOpts"]["repo"] == "https://kedacore.github.io/charts"
    )
    values = http["values"]
    interceptor = values["interceptor"]
    assert "waitTimeout" not in interceptor["replicas"]  # deprecated in 0.15.0: readinessTimeout
    assert "readinessTimeout" not in interceptor  # it fronts no model here: no wait to derive
    assert interceptor["responseHeaderTimeout"] == "120s"
    for component in ("operator", "scaler", "interceptor"):  # every node is tainted
        assert values[component]["nodeSelector"] == {"kubernetes.azure.com/mode": "system"}
        assert values[component]["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]


@pytest.mark.parametrize("stack", ["dev", "nap"])
def test_async_queue_is_entra_only(stack: str) -> None:
    run = planned(stack)[1]
    namespace = one(run, "azure-native:servicebus:Namespace").inputs
    assert namespace["disableLocalAuth"] is True
    assert namespace["minimumTlsVersion"] == "1.2"
    assert namespace["sku"] == {"name": "Standard", "tier": "Standard"}
    assert namespace["tags"]["stack"] == stack
    queue = one(run, "azure-native:servicebus:Queue", "platform-addons-async-queue-queue").inputs
    assert queue["queueName"] == "batch-inference"
    assert queue["lockDuration"] == "PT300S" and queue["deadLetteringOnMessageExpiration"] is True
    replies = one(run, "azure-native:servicebus:Queue", "platform-addons-async-queue-reply-queue").inputs
    assert replies["queueName"] == "batch-inference-results"
    registry = one(run, "azure-native:containerregistry:Registry").inputs
    # Entra ID only: no admin user (a shared password), no anonymous pull
    assert registry["adminUserEnabled"] is False and registry["anonymousPullEnabled"] is False
    assert run.outputs["asyncQueue"] == {
        "namespace": namespace["namespaceName"],
        "queue": "batch-inference",
        "replyQueue": "batch-inference-results",
        "registry": f"{registry['registryName']}.azurecr.io",
    }
    custom = one(_full(), "azure-native:servicebus:Queue", "platform-addons-async-queue-queue").inputs
    assert (custom["queueName"], custom["lockDuration"], custom["maxDeliveryCount"]) == (
        "nightly",
        "PT120S",
        3,
    )


def test_without_the_queue_keda_only_reads_prometheus(tmp_path: Path) -> None:
    run = run_with(tmp_path, BASE)
    assert not [r for r in run.resources if r.type.startswith("azure-native:servicebus:")]
    assert grants(run) == {
        (principal("test", "inference"), KEY_VAULT_SECRETS_USER.guid): resource_id(
            run, "azure-native:keyvault:Vault"
        ),
        (principal("test", "keda"), MONITORING_DATA_READER.guid): resource_id(
            run, "azure-native:monitor:AzureMonitorWorkspace"
        ),
        (DEPLOYER, AKS_RBAC_CLUSTER_ADMIN.guid): resource_id(
            run, "azure-native:containerservice:ManagedCluster"
        ),
    }
    assert [r.inputs["metadata"]["name"] for r in by_type(run, TRIGGER_AUTH)] == ["keda-prometheus"]
    assert "asyncQueue" not in run.outputs


# --- whole-program properties -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_urn_is_unique(stack: str) -> None:
    run = run_of(stack)
    urns = [r.urn for r in run.resources]
    assert len(urns) == len(set(urns)), [u for u in urns if urns.count(u) > 1]
