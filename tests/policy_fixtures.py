"""Resources the policy tests start from: the committed stacks' recorded resources, and GPU workloads
of the kinds other parts of the platform declare (vLLM Deployments, KAITO Workspaces and
InferenceSets, Karpenter NodePools), built the way the program builds them."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from config.catalog import load_catalog
from config.schema import StackConfig
from sizing.node_selection import PoolScheduling, pool_scheduling
from stack.loader import parse_stack_config
from tests.conftest import ROOT, planned
from tests.policy_support import Res, Secret, declare, from_recorded, res
from tools.mocks import run_program
from tools.stack_config import load_stack_settings

TOKEN = "hf_QpZrT8vLmN3kXwY7aBcDeFgHiJkLmNoPqRsT"  # looks real, is not
VLLM_IMAGE = "vllm/vllm-openai:v0.11.0"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
AGENT_POOL = "azure-native:containerservice:AgentPool"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
WORKSPACE = "kubernetes:kaito.sh/v1beta1:Workspace"
INFERENCE_SET = "kubernetes:kaito.sh/v1beta1:InferenceSet"
RICH_ADDONS = {
    "kaito": {"mode": "helm", "nodeProvisioner": "gpu-provisioner"},
    "keda": {"httpAddon": {"enabled": True}},
    # no asyncQueue: prod has no batch model for a queue worker to call (rules/queue.py)
}


def committed(stack: str) -> list[Res]:
    return from_recorded(planned(stack)[1].resources)


@functools.cache
def _rich() -> tuple[Res, ...]:
    settings = load_stack_settings(ROOT, "prod")
    config = {**settings.config, "aks-llm:hfToken": TOKEN, "aks-llm:addons": json.dumps(RICH_ADDONS)}
    run = run_program(
        ROOT / "__main__.py",
        project=settings.project,
        stack="prod",
        config=config,
        secret_keys=[*settings.secret_keys, "aks-llm:hfToken"],
    )
    assert run.exit_code == 0
    out = []
    for r in from_recorded(run.resources):
        if r.type == "azure-native:keyvault:Secret":  # what the engine sends: the token, marked secret
            r.inputs["properties"]["value"] = Secret(TOKEN)
        out.append(r)
    return tuple(out)


def rich_prod() -> list[Res]:
    """prod with the HF token (Key Vault secret, hf-token-sync Deployment), KAITO and KEDA HTTP charts."""
    return [r.with_inputs(copy.deepcopy(r.inputs)) for r in _rich()]


def stack_config(stack: str) -> StackConfig:
    settings = load_stack_settings(ROOT, stack)
    raw = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("aks-llm:")}
    return parse_stack_config(raw, source=settings.source, secret_keys=[])


def a100_scheduling() -> PoolScheduling:
    """How a model targets prod's a100 pool (on-demand or spot nodes), from the program's own module."""
    pool = stack_config("prod").gpu_pools[0]
    return pool_scheduling(pool, load_catalog().skus[pool.vm_size])


def _build_vllm(scheduling: PoolScheduling) -> None:
    from pulumi_kubernetes.apps.v1 import Deployment, DeploymentSpecArgs
    from pulumi_kubernetes.core.v1 import (
        ContainerArgs,
        EnvVarArgs,
        EnvVarSourceArgs,
        PodSpecArgs,
        PodTemplateSpecArgs,
        ResourceRequirementsArgs,
        SecretKeySelectorArgs,
        TolerationArgs,
    )
    from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

    labels = {"app.kubernetes.io/name": "qwen7b", "aks-llm/purpose": "serving"}
    gpu = scheduling.gpu_resource_name
    Deployment(
        "qwen7b",
        metadata=ObjectMetaArgs(name="qwen7b", namespace="inference", labels=labels),
        spec=DeploymentSpecArgs(
            replicas=1,
            selector=LabelSelectorArgs(match_labels={"app.kubernetes.io/name": "qwen7b"}),
            template=PodTemplateSpecArgs(
                metadata=ObjectMetaArgs(labels=labels),
                spec=PodSpecArgs(
                    node_selector=scheduling.node_selector,
                    tolerations=[
                        TolerationArgs(
                            key=t["key"], operator=t["operator"], value=t["value"], effect=t["effect"]
                        )
                        for t in scheduling.tolerations
                    ],
                    containers=[
                        ContainerArgs(
                            name="vllm",
                            image=VLLM_IMAGE,
                            args=["--model", "Qwen/Qwen2.5-7B-Instruct", "--api-key", "$(VLLM_API_KEY)"],
                            env=[
                                EnvVarArgs(name="TOKENIZERS_PARALLELISM", value="false"),
                                EnvVarArgs(name="HF_TOKEN_PATH", value="/mnt/secrets-store/hf-token"),
                                EnvVarArgs(
                                    name="HF_TOKEN",
                                    value_from=EnvVarSourceArgs(
                                        secret_key_ref=SecretKeySelectorArgs(name="hf-token", key="HF_TOKEN")
                                    ),
                                ),
                                EnvVarArgs(
                                    name="VLLM_API_KEY",
                                    value_from=EnvVarSourceArgs(
                                        secret_key_ref=SecretKeySelectorArgs(name="vllm-api", key="key")
                                    ),
                                ),
                            ],
                            resources=ResourceRequirementsArgs(
                                requests={"cpu": "4", "memory": "32Gi", gpu: "1"},
                                limits={"memory": "48Gi", gpu: "1"},
                            ),
                        )
                    ],
                ),
            ),
        ),
    )


@functools.cache
def _vllm() -> Res:
    (deployment,) = declare(lambda: _build_vllm(a100_scheduling()))
    return deployment


def vllm_deployment() -> Res:
    """A vLLM Deployment on prod's a100 pool, declared with the typed SDK classes (as the engine sees it)."""
    d = _vllm()
    return d.with_inputs(copy.deepcopy(d.inputs))


def pod_template(deployment: Res) -> dict[str, Any]:
    return copy.deepcopy(deployment.inputs["spec"]["template"])


def pod_spec(r: Res) -> dict[str, Any]:
    """The pod spec of a Deployment-shaped resource (to mutate in place)."""
    spec: dict[str, Any] = r.inputs["spec"]["template"]["spec"]
    return spec


def container(r: Res) -> dict[str, Any]:
    c: dict[str, Any] = pod_spec(r)["containers"][0]
    return c


def workload(kind: str, template: dict[str, Any], name: str = "worker") -> Res:
    """A StatefulSet, Job, CronJob or KEDA ScaledJob running ``template``."""
    meta = {"name": name, "namespace": "inference"}
    shapes: dict[str, tuple[str, dict[str, Any]]] = {
        "StatefulSet": ("kubernetes:apps/v1:StatefulSet", {"serviceName": name, "template": template}),
        "Job": ("kubernetes:batch/v1:Job", {"template": template}),
        "CronJob": (
            "kubernetes:batch/v1:CronJob",
            {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": template}}},
        ),
        "ScaledJob": ("kubernetes:keda.sh/v1alpha1:ScaledJob", {"jobTargetRef": {"template": template}}),
        "Deployment": (DEPLOYMENT, {"template": template}),
    }
    type_, spec = shapes[kind]
    return res(type_, name, {"apiVersion": "x", "kind": kind, "metadata": meta, "spec": spec})


def pool_name(r: Res) -> str:
    """An agent pool's own name (``agentPoolName``; the resource's logical name is the component's)."""
    return str(r.inputs.get("agentPoolName", r.name))


def agent_pool(stack_resources: list[Res], name: str) -> Res:
    return next(r for r in stack_resources if r.type == AGENT_POOL and pool_name(r) == name)


def without(resources: list[Res], *, type_: str, name: str | None = None) -> list[Res]:
    """``resources`` less those of ``type_`` (named ``name``: an agent pool's own name, else the logical
    name)."""
    return [r for r in resources if not (r.type == type_ and (name is None or pool_name(r) == name))]


def nodepool(
    name: str,
    capacity: list[str],
    *,
    pool: str = "a100",
    purpose: str = "serving",
    weight: int = 100,
    taints: list[dict[str, str]] | None = None,
    skus: tuple[str, ...] = ("Standard_NC24ads_A100_v4",),
    consolidate_after: str = "10m",
    stack: str = "prod",
) -> Res:
    """A Karpenter NodePool as Node Auto Provisioning declares it (``renderers/nap.py``'s manifest)."""
    default_taints = [{"key": "sku", "value": "gpu", "effect": "NoSchedule"}]
    if "spot" in capacity:
        default_taints.append(
            {"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}
        )
    return res(
        NODEPOOL,
        f"nodepool-{name}",
        {
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodePool",
            "metadata": {"name": name},
            "spec": {
                "weight": weight,
                "limits": {"nvidia.com/gpu": "8"},
                "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": consolidate_after},
                "template": {
                    "metadata": {
                        "labels": {
                            "aks-llm/gpu-pool": pool,
                            "aks-llm/purpose": purpose,
                            "aks-llm/gpu-driver": "managed",
                        }
                    },
                    "spec": {
                        "nodeClassRef": {
                            "group": "karpenter.azure.com",
                            "kind": "AKSNodeClass",
                            "name": pool,
                        },
                        "requirements": [
                            {"key": "karpenter.azure.com/sku-name", "operator": "In", "values": list(skus)},
                            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity},
                            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        ],
                        "taints": default_taints if taints is None else taints,
                        "expireAfter": "720h",
                    },
                },
            },
        },
        stack=stack,
    )


def kaito_workspace(
    *, instance_type: str | None = "Standard_NC24ads_A100_v4", match_labels: dict[str, str] | None = None
) -> Res:
    resource: dict[str, Any] = {"labelSelector": {"matchLabels": match_labels or {"apps": "phi4"}}}
    if instance_type is not None:
        resource["instanceType"] = instance_type
    return res(
        WORKSPACE,
        "phi4",
        {
            "apiVersion": "kaito.sh/v1beta1",
            "kind": "Workspace",
            "metadata": {"name": "phi4", "namespace": "inference"},
            "resource": resource,
            "inference": {"preset": {"name": "phi-4"}},
        },
    )


def inference_set(*, instance_type: str | None = "Standard_NC24ads_A100_v4", labels: bool = True) -> Res:
    template: dict[str, Any] = {"inference": {"preset": {"name": "phi-4"}}, "resource": {}}
    if instance_type is not None:
        template["resource"]["instanceType"] = instance_type
    spec: dict[str, Any] = {"replicas": 1, "template": template}
    if labels:
        spec["labelSelector"] = {"matchLabels": {"apps": "phi4"}}
    return res(
        INFERENCE_SET,
        "phi4-set",
        {
            "apiVersion": "kaito.sh/v1beta1",
            "kind": "InferenceSet",
            "metadata": {"name": "phi4", "namespace": "inference"},
            "spec": spec,
        },
    )
