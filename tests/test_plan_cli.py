"""The offline plan command: tree, counts, sizing, --json, --manifests, errors, speed."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.plan import main

REQUIRED_SIZING_KEYS = {
    "model",
    "sku",
    "gpusPerReplica",
    "weightsGiB",
    "kvBytesPerToken",
    "maxModelLen",
    "maxNumSeqs",
    "maxConcurrentAtFullContext",
    "fits",
    "kaitoNodesPerReplica",
}


def test_plan_prints_tree_counts_and_sizing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.root, "handlers", [])  # as outside pytest: logging's last resort prints
    assert main(["--stack", "prod"]) == 0
    out, err = capsys.readouterr()
    # the documentation-range warning once, among the notes (not also bare on stderr from pulumi.log)
    assert (out + err).count("RFC 5737 documentation ranges") == 1
    assert "+ aksllm:platform:Platform  platform" in out
    assert "    + azure-native:containerservice:ManagedCluster  platform-cluster-aks" in out
    assert "resources to create:" in out
    assert "Sizing per model:" in out and "qwen2.5-7b-instruct" in out and "phi-4" in out
    assert "Where pods run:" in out and "operand nvidia-driver-daemonset" in out


def test_json_document_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "plan.json"
    assert main(["--stack", "prod", "--json", str(target)]) == 0
    doc = json.loads(target.read_text())
    assert (doc["project"], doc["stack"]) == ("aks-llm", "prod")
    assert {"urn", "type", "name", "parent", "inputs"} <= set(doc["resources"][0])
    assert doc["sizing"] and all(set(row) >= REQUIRED_SIZING_KEYS for row in doc["sizing"])
    mc = next(r for r in doc["resources"] if r["type"].endswith(":ManagedCluster"))
    system = mc["inputs"]["agentPoolProfiles"][0]
    assert isinstance(system["count"], int) and not isinstance(system["count"], bool)
    provider = next(r for r in doc["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert "kubelogin" not in target.read_text(), "the kubeconfig leaked into the plan"
    rows = {(r["kind"], r["workload"]): r for r in doc["scheduling"]}
    assert rows[("Deployment", "qwen7b")]["pools"] == ["a100", "a100sp"]
    assert rows[("Deployment", "qwen7b")]["gpuRequest"] == {"nvidia.com/mig-3g.40gb": 1}
    assert (
        rows[("Deployment", "gpu-operator")] | {"pools": ["system"], "namespace": "gpu-operator"}
        == rows[("Deployment", "gpu-operator")]
    )


def test_an_unrenderable_chart_refuses_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scheduling check never disappears: no chart source and no repository -> exit 3, the reason."""
    import helm_python

    from tools import charts

    monkeypatch.setenv(charts.CHARTS_ENV, str(tmp_path / "no-charts"))
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "cache"))

    def offline(*args: object, **kwargs: object) -> dict[str, str]:
        raise helm_python.HelmRepoError("network unreachable")

    monkeypatch.setattr(helm_python, "pull", offline)
    target = tmp_path / "plan.json"
    assert main(["--stack", "dev", "--json", str(target)]) == charts.EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert "the plan renders are not on this machine" in err and "network unreachable" in err
    assert not target.exists()


def test_json_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["--stack", "dev", "--json", str(a)]) == 0
    assert main(["--stack", "dev", "--json", str(b)]) == 0
    assert a.read_text() == b.read_text()


def test_bad_config_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "config:\n  aks-llm:location: swedencentral\n  aks-llm:gpuPools: [{name: x, vmSize: nope}]\n"
    )
    out_json, out_dir = tmp_path / "plan.json", tmp_path / "manifests"
    code = main(
        ["--stack", "dev", "--config-file", str(bad), "--json", str(out_json), "--manifests", str(out_dir)]
    )
    assert code == 2
    assert not out_json.exists() and not out_dir.exists()
    err = capsys.readouterr().err
    assert f"{bad}: aks-llm:gpuPools[0]" in err


def test_unknown_stack_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "nosuch"]) == 2
    assert "no stack file" in capsys.readouterr().err


def test_plan_exit_code_through_a_process_for_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  aks-llm:location: Sweden Central\n")
    done = subprocess.run(
        [sys.executable, "-m", "tools.plan", "--stack", "dev", "--config-file", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "aks-llm:location" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  aks-llm:location: [x\n", "not valid YAML at line 3, column 1"),
        ("aks-llm:location: swedencentral\n", "a stack file holds its settings under a top-level `config:`"),
    ],
)
def test_unreadable_stack_files_exit_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    assert main(["--stack", "dev", "--config-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(bad) in err


def test_a_misspelt_project_namespace_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "Pulumi.dev.yaml").read_text() + "  aksllm:models: []\n")
    assert main(["--stack", "dev", "--config-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: aksllm:models: namespace 'aksllm' is not this project's" in err
    assert "accepted: aks-llm:models" in err
