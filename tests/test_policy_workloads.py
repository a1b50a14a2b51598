"""Workload policies on deliberately broken resources: GPU pods that miss their pools, unpinned images,
secrets in manifests, containers without limits."""

from __future__ import annotations

from typing import Any

import pytest

from aks_llm_policies import (
    containers_have_resource_limits,
    gpu_workloads_target_gpu_pools,
    images_pinned,
    no_plaintext_secrets,
)
from aks_llm_policies.credentials import credential_kind, is_secret_name, secret_flags
from aks_llm_policies.images import chart_version_problem, image_problem
from tests.policy_fixtures import (
    AGENT_POOL,
    TOKEN,
    committed,
    container,
    inference_set,
    kaito_workspace,
    nodepool,
    pod_spec,
    pod_template,
    rich_prod,
    vllm_deployment,
    workload,
)
from tests.policy_support import Res, Secret, messages, res, violations

GPU = "nvidia.com/mig-3g.40gb"
RELEASE = "kubernetes:helm.sh/v3:Release"


def prod_with(*extra: Res) -> list[Res]:
    return [*committed("prod"), *extra]


# --- gpu-workloads-target-gpu-pools ---------------------------------------------------------------


def test_gpu_pod_without_gpu_toleration_is_refused() -> None:
    deployment = vllm_deployment()
    pod_spec(deployment)["tolerations"] = [
        t for t in pod_spec(deployment)["tolerations"] if t["key"] != "sku"
    ]
    found = violations(gpu_workloads_target_gpu_pools, prod_with(deployment))
    assert [urn for urn, _ in found] == [deployment.urn, deployment.urn]
    assert found[0][1].startswith(
        f"Deployment inference/qwen7b requests {GPU} but does not tolerate sku=gpu:NoSchedule"
    )
    assert (
        "selects GPU pool(s) whose taints it does not tolerate (a100: sku=gpu:NoSchedule; a100sp:"
        in found[1][1]
    )


def test_gpu_pod_without_node_selection_is_refused() -> None:
    deployment = vllm_deployment()
    del pod_spec(deployment)["nodeSelector"]
    (message,) = messages(gpu_workloads_target_gpu_pools, prod_with(deployment))
    assert "selects no GPU pool (no nodeSelector or required node affinity)" in message
    assert "select one with nodeSelector aks-llm/gpu-pool: a100" in message


def test_gpu_pod_selecting_a_pool_that_does_not_exist_is_refused() -> None:
    deployment = vllm_deployment()
    pod_spec(deployment)["nodeSelector"] = {"aks-llm/gpu-pool": "h100"}
    (message,) = messages(gpu_workloads_target_gpu_pools, prod_with(deployment))
    assert "its node selection (aks-llm/gpu-pool=h100) matches no GPU pool of the stack" in message


def test_gpu_pod_selecting_linux_nodes_only_also_matches_the_system_pool() -> None:
    deployment = vllm_deployment()
    pod_spec(deployment)["nodeSelector"] = {"kubernetes.io/os": "linux"}
    (message,) = messages(gpu_workloads_target_gpu_pools, prod_with(deployment))
    assert "also matches non-GPU pool(s) system" in message


def test_gpu_pod_pinned_to_spot_without_spot_toleration_is_refused() -> None:
    deployment = vllm_deployment()
    spec = pod_spec(deployment)
    spec["nodeSelector"]["aks-llm/capacity-type"] = "spot"
    spec["tolerations"] = [t for t in spec["tolerations"] if t["key"] == "sku"]
    (message,) = messages(gpu_workloads_target_gpu_pools, prod_with(deployment))
    assert (
        "(a100sp: kubernetes.azure.com/scalesetpriority=spot:NoSchedule): it can never be scheduled"
        in message
    )


def test_required_node_affinity_counts_as_selection() -> None:
    deployment = vllm_deployment()
    spec = pod_spec(deployment)
    del spec["nodeSelector"]
    term = {"key": "aks-llm/gpu-pool", "operator": "In", "values": ["a100"]}
    spec["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [term]}]
            }
        }
    }
    assert messages(gpu_workloads_target_gpu_pools, prod_with(deployment)) == []
    term["values"] = ["t4"]
    (message,) = messages(gpu_workloads_target_gpu_pools, prod_with(deployment))
    assert "(1 required node affinity term(s)) matches no GPU pool" in message


@pytest.mark.parametrize("kind", ["StatefulSet", "Job", "CronJob", "ScaledJob"])
def test_every_pod_template_kind_is_checked(kind: str) -> None:
    template = pod_template(vllm_deployment())
    good = workload(kind, template)
    assert messages(gpu_workloads_target_gpu_pools, prod_with(good)) == []
    del template["spec"]["tolerations"]
    (found, _) = violations(gpu_workloads_target_gpu_pools, prod_with(workload(kind, template)))
    assert found[1].startswith(f"{kind} inference/worker requests {GPU} but does not tolerate sku=gpu")


def test_pods_without_gpu_requests_are_not_this_policys_business() -> None:
    deployment = vllm_deployment()
    spec = pod_spec(deployment)
    for section in container(deployment)["resources"].values():
        section.pop(GPU)
    del spec["nodeSelector"], spec["tolerations"]
    assert messages(gpu_workloads_target_gpu_pools, prod_with(deployment)) == []


def test_nap_workload_must_match_a_nodepool() -> None:
    pools = [nodepool("a100-od", ["on-demand"]), nodepool("a100-spot", ["spot"], weight=50)]
    cpu_only = [r for r in committed("prod") if r.type != AGENT_POOL]
    deployment = vllm_deployment()
    pod_spec(deployment)["nodeSelector"]["karpenter.azure.com/sku-name"] = "Standard_NC40ads_H100_v5"
    (message,) = messages(gpu_workloads_target_gpu_pools, [*cpu_only, *pools, deployment])
    assert "matches no GPU pool of the stack" in message


def test_kaito_workspace_needs_label_selector_and_gpu_instance_type() -> None:
    assert messages(gpu_workloads_target_gpu_pools, prod_with(kaito_workspace())) == []
    no_labels = kaito_workspace()
    no_labels.inputs["resource"]["labelSelector"] = {}
    (message,) = messages(gpu_workloads_target_gpu_pools, prod_with(no_labels))
    assert message.startswith("Workspace inference/phi4 has no resource.labelSelector")
    (message,) = messages(gpu_workloads_target_gpu_pools, prod_with(kaito_workspace(instance_type=None)))
    assert "has resource.instanceType none: with node auto-provisioning KAITO needs a GPU VM size" in message
    (message,) = messages(
        gpu_workloads_target_gpu_pools, prod_with(kaito_workspace(instance_type="Standard_D8ds_v5"))
    )
    assert "instanceType 'Standard_D8ds_v5'" in message


def test_kaito_inference_set_needs_label_selector_and_gpu_instance_type() -> None:
    assert messages(gpu_workloads_target_gpu_pools, prod_with(inference_set())) == []
    found = messages(
        gpu_workloads_target_gpu_pools, prod_with(inference_set(instance_type=None, labels=False))
    )
    assert found[0].startswith("InferenceSet inference/phi4 has no spec.labelSelector")
    assert "spec.template.resource.instanceType none" in found[1]


def test_kaito_on_own_nodes_selects_a_gpu_pool_and_no_instance_type() -> None:
    chart = res(
        RELEASE,
        "kaito-workspace",
        {
            "chart": "workspace",
            "version": "0.12.0",
            "values": {"featureGates": {"disableNodeAutoProvisioning": True}},
        },
    )
    on_pool = kaito_workspace(
        instance_type=None, match_labels={"aks-llm/gpu-pool": "a100", "accelerator": "nvidia"}
    )

    # prod's own KAITO model is left out: it is written for KAITO provisioning its nodes.
    def own_nodes(*extra: Any) -> list[Any]:
        return [
            r for r in prod_with(chart, *extra) if not r.type.startswith("kubernetes:kaito.sh") or r in extra
        ]

    assert messages(gpu_workloads_target_gpu_pools, own_nodes(on_pool)) == []
    found = messages(gpu_workloads_target_gpu_pools, own_nodes(kaito_workspace()))
    assert (
        "sets resource.instanceType 'Standard_NC24ads_A100_v4' but KAITO runs on your own nodes" in found[0]
    )
    assert (
        "selects nodes labelled {'apps': 'phi4'} but no GPU pool of the stack carries those labels"
        in found[1]
    )


# --- no-latest-images -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("vllm/vllm-openai:latest", "uses the moving tag :latest"),
        ("vllm/vllm-openai", "has no tag, so it means :latest"),
        ("myregistry.azurecr.io:5000/vllm", "has no tag, so it means :latest"),
        ("ollama/ollama:LATEST", "uses the moving tag :LATEST"),
        ("ghcr.io/org/server:nightly", "uses the moving tag :nightly"),
        ("vllm/vllm-openai@sha256:abc", "has a malformed digest 'sha256:abc'"),
    ],
)
def test_unpinned_images_are_refused(image: str, why: str) -> None:
    deployment = vllm_deployment()
    container(deployment)["image"] = image
    (message,) = messages(images_pinned, [deployment])
    assert message == (
        f"Deployment inference/qwen7b: image {image!r} at spec.template.spec.containers[0].image {why}; "
        "pin a version tag or a digest."
    )


def test_pinned_images_pass() -> None:
    for image in (
        "vllm/vllm-openai:v0.11.0",
        "myregistry.azurecr.io:5000/vllm:1.2",
        "busybox@sha256:" + "a" * 64,
    ):
        assert image_problem(image) is None, image


def test_init_containers_and_kaito_templates_are_checked() -> None:
    deployment = vllm_deployment()
    pod_spec(deployment)["initContainers"] = [{"name": "fetch", "image": "alpine"}]
    (message,) = messages(images_pinned, [deployment])
    assert "initContainers[0].image has no tag" in message
    workspace = kaito_workspace()
    workspace.inputs["inference"] = {
        "template": {"spec": {"containers": [{"name": "c", "image": "x/y:latest"}]}}
    }
    (message,) = messages(images_pinned, [workspace])
    assert message.startswith("Workspace inference/phi4: image 'x/y:latest' at inference.template.spec")


def test_unpinned_helm_charts_and_chart_image_tags_are_refused() -> None:
    release = next(r for r in rich_prod() if r.type == RELEASE and r.inputs["name"] == "gpu-operator")
    assert messages(images_pinned, [release]) == []
    del release.inputs["version"]
    values = release.inputs["values"]
    values["driver"].update(repository="nvcr.io/nvidia", image="driver", version="latest")
    values["toolkit"]["tag"] = "latest"
    values["dcgmExporter"]["image"] = "nvcr.io/nvidia/k8s/dcgm-exporter:latest"
    values["devicePlugin"]["image"] = "k8s-device-plugin"  # tag elsewhere or the chart's default: fine
    found = sorted(messages(images_pinned, [release]))
    assert found == [
        "Helm chart gpu-operator has no version, so Helm installs whatever the repository serves as newest: "
        "pin version to one chart release.",
        "Helm chart gpu-operator: image 'nvcr.io/nvidia/k8s/dcgm-exporter:latest' uses the moving tag "
        ":latest at values.dcgmExporter.image; pin a version tag.",
        "Helm chart gpu-operator: image tag 'latest' is a moving tag at values.driver.version; "
        "pin a version tag.",
        "Helm chart gpu-operator: image tag 'latest' is a moving tag at values.toolkit.tag; "
        "pin a version tag.",
    ]


@pytest.mark.parametrize("version", ["~0.12", "0.12.x", "latest", ">=1.0.0"])
def test_chart_version_ranges_are_refused(version: str) -> None:
    assert (
        chart_version_problem(version) == f"has version {version!r}, a range or tag rather than one release"
    )
    assert chart_version_problem("v26.7.0") is None and chart_version_problem("0.12.0") is None


# --- no-plaintext-secrets -------------------------------------------------------------------------


def test_token_as_literal_env_value_is_refused_without_printing_it() -> None:
    deployment = vllm_deployment()
    container(deployment)["env"].append({"name": "HF_TOKEN", "value": TOKEN})
    found = violations(no_plaintext_secrets, [deployment])
    assert [m for _, m in found] == [
        "Deployment inference/qwen7b: environment variable HF_TOKEN at "
        "spec.template.spec.containers[0].env[4] has a literal value, stored in plain text in the object "
        "for anyone who can read it. Use valueFrom.secretKeyRef (the hf-token Secret synced from Key Vault) "
        "instead."
    ]
    assert TOKEN not in repr(found)


def test_literal_api_key_on_the_command_line_is_refused() -> None:
    deployment = vllm_deployment()
    container(deployment)["args"] = ["--model", "x", "--api-key", "s3cr3t-value"]
    (message,) = messages(no_plaintext_secrets, [deployment])
    assert "container vllm passes --api-key a literal value in its command line" in message
    assert "s3cr3t" not in message


def test_secret_named_configmap_key_is_refused() -> None:
    config_map = res(
        "kubernetes:core/v1:ConfigMap",
        "settings",
        {"metadata": {"name": "settings"}, "data": {"HF_TOKEN": "x", "MODEL": "phi-4"}},
    )
    (message,) = messages(no_plaintext_secrets, [config_map])
    assert message.startswith("ConfigMap settings: key HF_TOKEN of data is named like a secret")


def test_credential_shaped_strings_are_refused_outside_secret_fields() -> None:
    release = res(
        RELEASE,
        "server",
        {"chart": "server", "version": "1.0.0", "values": {"model": {"download": f"--token={TOKEN}"}}},
    )
    (message,) = messages(no_plaintext_secrets, [release])
    assert "the value at values.model.download looks like a Hugging Face token" in message
    group = next(r for r in committed("prod") if r.type == "azure-native:resources:ResourceGroup")
    group.inputs["tags"]["note"] = "-----BEGIN RSA PRIVATE KEY-----"
    (message,) = messages(no_plaintext_secrets, [group])
    assert "the value at tags.note looks like a private key" in message


def test_the_token_in_its_key_vault_secret_is_expected() -> None:
    """The engine hands policies the token itself (secret marker removed): its own field is fine."""
    vault_secret = next(r for r in rich_prod() if r.type == "azure-native:keyvault:Secret")
    assert isinstance(vault_secret.inputs["properties"]["value"], Secret)
    assert messages(no_plaintext_secrets, [vault_secret]) == []


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("HF_TOKEN", True),
        ("hfToken", True),
        ("VLLM_API_KEY", True),
        ("AZURE_CLIENT_SECRET", True),
        ("storageAccountKey", True),
        ("DB_PASSWORD", True),
        ("HF_TOKEN_PATH", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("MAX_NUM_BATCHED_TOKENS", False),
        ("existingSecret", False),
        ("secretName", False),
        ("AZURE_CLIENT_ID", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_secret_flags_and_credential_shapes() -> None:
    assert secret_flags(["--api-key", "abc", "--hf-token=$(HF_TOKEN)", "--token", "--port"]) == ["api-key"]
    assert credential_kind("AccountKey=" + "A" * 86 + "==") == "an Azure storage account key"
    assert credential_kind("hf_short") is None


# --- containers-have-resource-limits --------------------------------------------------------------


def _limits(container_resources: Any, config: dict[str, Any] | None = None) -> list[str]:
    deployment = vllm_deployment()
    container(deployment)["resources"] = container_resources
    return messages(containers_have_resource_limits, [deployment], config)


def test_container_without_resources_is_refused() -> None:
    deployment = vllm_deployment()
    del container(deployment)["resources"]
    (message,) = messages(containers_have_resource_limits, [deployment])
    assert message == (
        "Deployment inference/qwen7b: container vllm has no memory limit (one leaking process can OOM the "
        "whole node); no CPU request (the scheduler packs it blind). Set resources."
    )


def test_gpu_request_without_equal_limit_is_refused() -> None:
    (message,) = _limits({"requests": {"cpu": "1", GPU: "1"}, "limits": {"memory": "1Gi"}})
    assert f"requests {GPU} without the same limit" in message


def test_cpu_limit_only_when_configured() -> None:
    ok = {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}
    assert _limits(ok) == []
    (message,) = _limits(ok, {"requireCpuLimit": True})
    assert "has no CPU limit" in message


def test_init_containers_need_limits_too() -> None:
    deployment = vllm_deployment()
    pod_spec(deployment)["initContainers"] = [{"name": "fetch", "image": "alpine:3.20"}]
    (message,) = messages(containers_have_resource_limits, [deployment])
    assert message.startswith("Deployment inference/qwen7b: init container fetch has no memory limit")
