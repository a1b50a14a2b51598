"""The Kubernetes provider's kubeconfig never waits for a person (CI runs `pulumi up`)."""

from __future__ import annotations

import base64

import yaml

from components.kubeconfig import with_azure_cli_login
from tools.mocks import _KUBECONFIG

AKS_EXEC = """apiVersion: v1
kind: Config
users:
- name: clusterUser_rg_aks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,
             --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, t, --login, devicecode]
- name: other
  user: {token: abc}
"""


def test_devicecode_login_becomes_azure_cli() -> None:
    users = {u["name"]: u["user"] for u in yaml.safe_load(with_azure_cli_login(AKS_EXEC))["users"]}
    args = users["clusterUser_rg_aks"]["exec"]["args"]
    assert args[args.index("--login") + 1] == "azurecli" and "devicecode" not in args
    assert args.count("--login") == 1 and "--server-id" in args
    assert users["other"] == {"token": "abc"}  # non-kubelogin users are left alone


def test_a_kubeconfig_without_login_flag_gets_one() -> None:
    text = AKS_EXEC.replace(", --login, devicecode", "")
    args = yaml.safe_load(with_azure_cli_login(text))["users"][0]["user"]["exec"]["args"]
    assert args[-2:] == ["--login", "azurecli"]


def test_the_mock_kubeconfig_is_what_aks_writes() -> None:
    assert "--login, devicecode" in _KUBECONFIG
    assert base64.b64encode(_KUBECONFIG.encode())  # the mocked invoke returns it base64-encoded


def test_the_deployer_is_cluster_admin_before_any_kubernetes_object() -> None:
    from tests.conftest import one, planned

    run = planned("prod")[1]
    admin = one(run, "azure-native:authorization:RoleAssignment", "platform-cluster-deployer-cluster-admin")
    assert admin.inputs["roleDefinitionId"].endswith("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")
    assert admin.inputs["scope"].endswith("/ManagedCluster/aks-llm-prod")
    provider = one(run, "pulumi:providers:kubernetes")
    assert admin.urn in provider.options["dependencies"], provider.options
