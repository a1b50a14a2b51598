"""Add-on config: defaults, the rules' messages, and the pure helpers behind the components."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi_kubernetes.core.v1 import CSIVolumeSourceArgs

from components.inference_namespace import hf_token_volume, secret_provider_parameters
from components.kaito import kaito_summary, workspace_values
from components.key_vault import ip_rules
from components.roles import KEY_VAULT_SECRETS_USER, MONITORING_DATA_READER, assignment_name
from config.schema import KaitoConfig
from tests.conftest import parse_values as parse
from tests.conftest import run_with
from tests.conftest import value_problems as problems
from tools.report import addons_section


def test_defaults_are_the_managed_secure_choice() -> None:
    addons = parse({}).addons
    assert addons.kaito.mode == "managed"
    assert addons.keda.http_addon.enabled is False
    assert addons.key_vault.public_network_access is True and addons.key_vault.allowed_ip_ranges == []
    assert addons.key_vault.allow_cluster_egress is True
    assert addons.async_queue.enabled is False
    assert parse({}).inference.namespace == "inference"


def test_helm_only_kaito_keys_are_refused_in_managed_mode() -> None:
    (problem,) = problems({"addons": {"kaito": {"featureGates": {"mig": True}}}})
    assert problem.path == "addons.kaito.featureGates"
    assert problem.value == {"inferenceSet": True, "mig": True}
    assert "only used with mode: helm" in problem.message
    assert problem.accepted == "mode: helm, or remove addons.kaito.featureGates"


def test_gpu_provisioner_version_needs_the_gpu_provisioner() -> None:
    (problem,) = problems(
        {
            "addons": {
                "kaito": {
                    "mode": "helm",
                    "nodeProvisioner": "none",
                    "gpuProvisionerChartVersion": "0.4.3",
                }
            }
        }
    )
    assert problem.path == "addons.kaito.gpuProvisionerChartVersion"
    assert "(got none)" in problem.message


@pytest.mark.parametrize(
    ("section", "key", "value", "path"),
    [
        (
            "keda",
            "httpAddon",
            {"coldStartTimeoutSeconds": 60},
            "addons.keda.httpAddon.coldStartTimeoutSeconds",
        ),
        ("asyncQueue", None, {"queueName": "jobs"}, "addons.asyncQueue.queueName"),
    ],
)
def test_settings_of_disabled_addons_are_refused(
    section: str, key: str | None, value: Any, path: str
) -> None:
    body = {key: value} if key else value
    (problem,) = problems({"addons": {section: body}})
    assert problem.path == path
    assert "not enabled, so this setting would do nothing" in problem.message
    assert problem.accepted.endswith("enabled: true, or remove " + path)


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        (["2001:db8::/32"], "Key Vault IP rules take IPv4 only"),
        (["10.1.0.0/16"], "a private or reserved range never reaches the vault's public endpoint"),
        (["203.0.113.0/24"], "a private or reserved range never reaches the vault's public endpoint"),
    ],
)
def test_key_vault_ranges_must_be_public_ipv4(ranges: list[str], message: str) -> None:
    (problem,) = problems({"addons": {"keyVault": {"allowedIpRanges": ranges}}})
    assert problem.path == "addons.keyVault.allowedIpRanges[0]"
    assert problem.message == message and problem.value == ranges[0]


def test_ip_rules_need_the_public_endpoint() -> None:
    rules, reachable = problems(
        {"addons": {"keyVault": {"publicNetworkAccess": False, "allowedIpRanges": ["20.1.0.0/16"]}}}
    )
    assert rules.path == "addons.keyVault.allowedIpRanges"
    assert "publicNetworkAccess is false" in rules.message
    # and a closed vault is refused without a virtualNetwork for its private endpoint
    assert reachable.path == "addons.keyVault.publicNetworkAccess"
    assert "without virtualNetwork" in reachable.message


def test_inference_namespace_must_not_be_a_system_one() -> None:
    (problem,) = problems({"inference": {"namespace": "kube-system"}})
    assert problem.path == "inference.namespace" and problem.value == "kube-system"
    assert "belongs to Kubernetes, AKS or a platform add-on" in problem.message


def test_schema_bounds_are_reported_with_their_path() -> None:
    (problem,) = problems({"addons": {"asyncQueue": {"enabled": True, "lockDurationSeconds": 600}}})
    assert problem.path == "addons.asyncQueue.lockDurationSeconds"
    assert problem.accepted == "a number <= 300"
    (problem,) = problems({"addons": {"kaito": {"mode": "helm", "chartVersion": "latest"}}})
    assert problem.path == "addons.kaito.chartVersion" and problem.message == "not in the accepted form"


def test_rule_error_stops_the_program_before_any_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(
        tmp_path,
        "config:\n  aks-llm:location: swedencentral\n"
        "  aks-llm:cluster:\n    apiServer: {privateCluster: true}\n"
        "  aks-llm:addons:\n    keyVault: {allowedIpRanges: ['192.168.0.0/16']}\n",
    )
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert "aks-llm:addons.keyVault.allowedIpRanges[0]: a private or reserved range" in err
    assert "Traceback" not in err


# --- pure helpers --------------------------------------------------------------------------------------


def test_key_vault_ip_rules_turn_tiny_prefixes_into_addresses() -> None:
    assert ip_rules(["20.0.0.0/24", "20.1.1.1/32", "20.2.2.2/31", "20.1.1.1"]) == [
        "20.0.0.0/24",
        "20.1.1.1",
        "20.2.2.2",
        "20.2.2.3",
    ]


def test_role_assignment_names_are_stable_guids() -> None:
    scope = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
    first = assignment_name(scope, KEY_VAULT_SECRETS_USER, "id-a")
    assert first == assignment_name(scope.upper(), KEY_VAULT_SECRETS_USER, "id-a")  # ARM ids are case-blind
    assert len(first) == 36 and first.count("-") == 4
    assert first != assignment_name(scope, MONITORING_DATA_READER, "id-a")
    assert first != assignment_name(scope, KEY_VAULT_SECRETS_USER, "id-b")


@pytest.mark.parametrize(
    "scope",
    ["/subscriptions/s", "/subscriptions/s/resourceGroups/rg", "/", "/providers/Microsoft.Management/x/y"],
)
def test_role_assignments_refuse_broad_scopes(scope: str) -> None:
    with pytest.raises(ValueError, match="is not a single resource"):
        assignment_name(scope, KEY_VAULT_SECRETS_USER, "id-a")


def test_hf_token_volume_is_a_read_only_csi_mount() -> None:
    volume, mount = hf_token_volume("my-spc")
    csi = volume.csi
    assert isinstance(csi, CSIVolumeSourceArgs)
    assert csi.driver == "secrets-store.csi.k8s.io" and csi.read_only is True
    assert csi.volume_attributes == {"secretProviderClass": "my-spc"}
    assert (mount.name, mount.mount_path, mount.read_only) == (volume.name, "/mnt/secrets-store", True)


def test_secret_provider_parameters_use_workload_identity() -> None:
    params = secret_provider_parameters("cid", "kv-x", "tid")
    assert params["usePodIdentity"] == "false" and params["clientID"] == "cid"
    assert params["objects"] == "array:\n  - |\n    objectName: hf-token\n    objectType: secret\n"


def test_kaito_summary_names_the_release_it_runs() -> None:
    managed = kaito_summary(KaitoConfig())
    assert managed["mode"] == "managed" and managed["version"] == "v0.6.0"
    assert "runs KAITO 0.6.0" in managed["note"] and "no InferenceSet" in managed["note"]
    helm = kaito_summary(KaitoConfig.model_validate({"mode": "helm", "chartVersion": "0.11.0"}))
    assert helm["version"] == "v0.11.0" and "deprecated upstream" in helm["note"]
    values = workspace_values(KaitoConfig.model_validate({"mode": "helm", "nodeProvisioner": "none"}), "aks")
    assert values["featureGates"]["disableNodeAutoProvisioning"] is True and "nodeProvisioner" not in values


def test_report_prints_kaito_identities_and_where_the_token_goes() -> None:
    partial: Any = {  # a partial plan's outputs: the report prints what is there
        "kaito": {"mode": "managed", "version": "chosen by AKS", "note": "lags upstream"},
        "identities": {"keda": "c-keda", "inference": "c-inf"},
        "keyVaultName": "kv-1",
        "hfTokenSecret": "hf-token",
        "prometheusQueryEndpoint": "https://amw",
        "asyncQueue": {"namespace": "sb-1", "queue": "q"},
    }
    text = addons_section(partial)
    assert text.splitlines() == [
        "Add-ons:",
        "  KAITO: managed, version chosen by AKS; lags upstream",
        "  identity inference: client id c-inf",
        "  identity keda: client id c-keda",
        "  Key Vault: kv-1; synced to Secret hf-token (key HF_TOKEN)",
        "  Prometheus (KEDA serverAddress): https://amw",
        "  async queue: q in Service Bus sb-1",
    ]
    assert addons_section({}) == ""  # type: ignore[typeddict-item]  # nothing: an empty section
