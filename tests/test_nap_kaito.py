"""Cross-rules between Node Auto Provisioning and KAITO's node provisioners: on NAP neither the
self-hosted gpu-provisioner (a second provisioner) nor KAITO's karpenter provisioner (a NodePool with
``replicas``, honoured only behind Karpenter's alpha StaticCapacity gate, which AKS's NAP does not
expose: facts/kaito_nap.py) is accepted; the committed nap stack serves phi4 on vLLM instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from facts import kaito_nap
from tests.conftest import ROOT, parse_values, planned, run_with, value_problems


def kaito_on_nap(provisioner: str) -> str:
    """The committed nap stack with phi4 on KAITO from the chart, with ``provisioner``."""
    text = (ROOT / "Pulumi.nap.yaml").read_text()
    model = "      model: phi-4\n      runtime: vllm\n"
    assert model in text
    text = text.replace(model, "      model: phi-4\n      runtime: kaito\n")
    addons = "  aks-llm:addons:\n"
    kaito = f"  aks-llm:addons:\n    kaito:\n      mode: helm\n      nodeProvisioner: {provisioner}\n"
    return text.replace(addons, kaito, 1)


def test_the_committed_nap_stack_serves_every_model_on_vllm_in_its_nodepools() -> None:
    run = planned("nap")[1]
    assert run.exit_code == 0
    models = run.outputs["models"]
    assert {name: m["runtime"] for name, m in models.items()} == {
        "qwen7b": "vllm",
        "phi4mini": "vllm",
        "phi4": "vllm",
    }
    assert {m["pool"] for m in models.values()} <= {"serve", "batch"}
    assert not any(r.type.startswith("kubernetes:kaito.sh") for r in run.resources)


@pytest.mark.parametrize(
    ("provisioner", "says"),
    [
        ("gpu-provisioner", "nodeProvisioning.mode is nap, so AKS already provisions nodes with Karpenter"),
        ("karpenter", "Karpenter honours only with its alpha StaticCapacity feature gate"),
    ],
)
def test_kaito_provisioning_its_own_nodes_is_refused_on_nap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], provisioner: str, says: str
) -> None:
    run = run_with(tmp_path, kaito_on_nap(provisioner))
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert "aks-llm:addons.kaito.nodeProvisioner: " in err and says in err
    assert "accepted: runtime: vllm" in err
    assert "Traceback" not in err


def test_karpenter_is_refused_off_nap_too_with_what_serves_there() -> None:
    (problem,) = [
        p
        for p in value_problems(
            {
                "addons": {"kaito": {"mode": "helm", "nodeProvisioner": "karpenter"}},
                "gpuPools": [
                    {"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"min": 0, "max": 2}}
                ],
            }
        )
        if p.path == "addons.kaito.nodeProvisioner"
    ]
    assert problem.value == "karpenter" and problem.message == kaito_nap.REASON
    assert problem.accepted.startswith("gpu-provisioner")
    # the provisioners that serve are still accepted
    for provisioner in ("gpu-provisioner", "none"):
        parse_values({"addons": {"kaito": {"mode": "helm", "nodeProvisioner": provisioner}}})


def test_the_reading_names_its_sources() -> None:
    assert len(kaito_nap.SOURCES) == 3
    assert all("@" in s and ":" in s for s in kaito_nap.SOURCES)
    assert "nodepool.go:148" in kaito_nap.KAITO_NODEPOOL_REPLICAS
    assert "StaticCapacity" in kaito_nap.REASON and "facts/kaito_nap.py" in kaito_nap.REASON
