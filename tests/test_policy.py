"""The policy pack as a whole: what __main__.py serves, the committed stacks pass every policy, the
documented enforcement levels, the labels it shares with the program, unknown values in preview."""

from __future__ import annotations

import re
import runpy
from typing import Any

import pulumi_policy
import pytest

import aks_llm_policies as pack
import facts.platform as scheduling
from aks_llm_policies import capacity
from tests.conftest import ROOT
from tests.policy_fixtures import (
    AGENT_POOL,
    committed,
    kaito_workspace,
    nodepool,
    pool_name,
    rich_prod,
    vllm_deployment,
)
from tests.policy_support import POLICY_DIR, Res, messages, violations

NAMES = {
    "gpu-pools-tainted": "mandatory",
    "gpu-workloads-target-gpu-pools": "mandatory",
    "serving-not-spot-only": "mandatory",
    "no-latest-images": "mandatory",
    "dev-gpu-pools-scale-to-zero": "advisory",
    "budget-alert-exists": "advisory",
    "no-plaintext-secrets": "mandatory",
    "containers-have-resource-limits": "mandatory",
}


def test_main_serves_every_policy_without_starting_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}

    def fake_pack(**kwargs: Any) -> None:
        served.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", fake_pack)
    runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    assert served["name"] == pack.PACK_NAME == "aks-llm-guardrails"
    assert served["policies"] is pack.ALL_POLICIES
    assert {p.name: p.enforcement_level.value for p in pack.ALL_POLICIES if p.enforcement_level} == NAMES


def test_pack_files_are_what_pulumi_needs() -> None:
    import yaml

    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    pins = dict(
        line.split("==") for line in (POLICY_DIR / "requirements.txt").read_text().split() if "==" in line
    )
    root_pins = dict(
        line.split("==") for line in (ROOT / "requirements.txt").read_text().split() if "==" in line
    )
    assert pins["pulumi-policy"] == "1.21.0"
    assert pins["pulumi"] == root_pins["pulumi"]  # the pack and the program speak the same engine protocol
    assert "pulumi-policy==1.21.0" in (ROOT / "requirements-dev.txt").read_text()


@pytest.mark.parametrize("doc", ["docs/policy-pack.md", "policy/README.md"])
def test_docs_list_every_policy_with_its_level(doc: str) -> None:
    text = (ROOT / doc).read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (mandatory|advisory) \|", text, re.MULTILINE))
    assert rows == NAMES


def test_example_config_names_real_policies_and_properties() -> None:
    import json

    example = json.loads((POLICY_DIR / "policy-config.example.json").read_text())
    by_name = {p.name: p for p in pack.ALL_POLICIES}
    for name, value in example.items():
        assert name in by_name
        if isinstance(value, dict):
            schema = by_name[name].config_schema
            allowed = {"enforcementLevel", *(schema.properties if schema else {})}
            assert set(value) <= allowed, name


def test_labels_and_taints_are_the_programs() -> None:
    assert str(capacity.GPU_TAINT) == scheduling.GPU_TAINT.aks()
    assert str(capacity.SPOT_TAINT) == scheduling.SPOT_TAINT.aks()
    assert capacity.LABEL_POOL == scheduling.LABEL_POOL
    assert capacity.LABEL_CAPACITY == scheduling.LABEL_CAPACITY
    assert capacity.LABEL_PURPOSE == scheduling.LABEL_PURPOSE
    assert capacity.LABEL_ACCELERATOR == scheduling.LABEL_ACCELERATOR


# --- passing: what the program declares --------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
@pytest.mark.parametrize("policy", pack.ALL_POLICIES, ids=lambda p: p.name)
def test_committed_stacks_pass(stack: str, policy: pulumi_policy.Policy) -> None:
    assert violations(policy, committed(stack)) == []


@pytest.mark.parametrize("policy", pack.ALL_POLICIES, ids=lambda p: p.name)
def test_prod_with_token_charts_and_a_vllm_model_passes(policy: pulumi_policy.Policy) -> None:
    resources = rich_prod()
    types = {r.type for r in resources}
    assert {"azure-native:keyvault:Secret", "kubernetes:apps/v1:Deployment"} <= types
    assert violations(policy, [*resources, vllm_deployment()]) == []


@pytest.mark.parametrize("policy", pack.ALL_POLICIES, ids=lambda p: p.name)
def test_nap_stack_with_kaito_passes(policy: pulumi_policy.Policy) -> None:
    """A Node Auto Provisioning stack: on-demand (heavier) and spot NodePools, KAITO provisioning nodes."""
    resources = [r for r in committed("prod") if r.type != AGENT_POOL] + [
        nodepool("a100-od", ["on-demand"], weight=100),
        nodepool("a100-spot", ["spot"], weight=50),
        kaito_workspace(),
    ]
    deployment = vllm_deployment()
    spec = deployment.inputs["spec"]["template"]["spec"]
    spec["nodeSelector"]["karpenter.azure.com/sku-name"] = "Standard_NC24ads_A100_v4"
    for c in spec["containers"]:
        for section in c["resources"].values():
            section["nvidia.com/gpu"] = section.pop("nvidia.com/mig-3g.40gb")
    assert violations(policy, [*resources, deployment]) == []


# --- unknown values during preview -------------------------------------------------------------


def test_unknown_values_neither_fail_nor_pass_silently_as_errors() -> None:
    """Values not known during preview are skipped, never an exception (which would skip the policy)."""
    deployment = vllm_deployment()
    spec = deployment.inputs["spec"]["template"]["spec"]
    spec["containers"][0]["image"] = "[unknown]"
    spec["containers"][0]["resources"] = "[unknown]"
    pool = next(r for r in committed("prod") if r.type == AGENT_POOL and pool_name(r) == "a100")
    pool.inputs["nodeTaints"] = "[unknown]"
    pool.inputs["resourceName"] = "[unknown]"
    others = [r for r in committed("prod") if r.urn != pool.urn]
    resources: list[Res] = [*others, pool, deployment]
    for policy in pack.ALL_POLICIES:
        assert messages(policy, resources) == [], policy.name


def test_unknown_autoscaling_is_not_read_as_a_fixed_pool() -> None:
    pool = next(r for r in committed("dev") if r.type == AGENT_POOL and pool_name(r) == "t4")
    pool.inputs.update(enableAutoScaling="[unknown]", count=1)
    assert messages(pack.dev_gpu_pools_scale_to_zero, [pool]) == []


def test_stack_policies_read_outputs_too() -> None:
    """Stack policies see outputs, where an agent pool's name is ``name``, not ``agentPoolName``."""
    resources = [r for r in committed("prod") if not (r.type == AGENT_POOL and pool_name(r) == "a100")]
    spot = next(r for r in resources if r.type == AGENT_POOL)
    spot.inputs["name"] = spot.inputs.pop("agentPoolName")
    found = messages(pack.serving_not_spot_only, resources)
    assert any("serving pool a100 has spot capacity (a100sp)" in m for m in found), found


def test_the_sdk_servicer_reports_what_validate_reports() -> None:
    """The same policies through pulumi-policy's own servicer (no gRPC server): what the engine gets."""
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime import proto
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    servicer = _PolicyAnalyzerServicer(
        pack.PACK_NAME, "0.1.0", pack.ALL_POLICIES, pulumi_policy.EnforcementLevel.ADVISORY
    )
    info = servicer.GetAnalyzerInfo(empty_pb2.Empty(), None)  # type: ignore[no-untyped-call]
    assert {p.name: proto.EnforcementLevel.Name(p.enforcementLevel).lower() for p in info.policies} == NAMES
    pool = next(r for r in committed("prod") if r.type == AGENT_POOL and pool_name(r) == "a100")
    pool.inputs["nodeTaints"] = []
    props = struct_pb2.Struct()
    props.update(pool.inputs)
    request = proto.AnalyzeRequest(type=pool.type, properties=props, urn=pool.urn, name=pool.name)
    response = servicer.Analyze(request, None)  # type: ignore[no-untyped-call]
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("gpu-pools-tainted", proto.MANDATORY)
    ]
    assert messages(pack.gpu_pools_tainted, [pool])[0] in response.diagnostics[0].message
