"""Cross-rules between Node Auto Provisioning and the add-ons."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, run_with


def test_kaito_helm_with_gpu_provisioner_is_refused_in_nap_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nap = (ROOT / "Pulumi.nap.yaml").read_text()
    text = nap.replace("      nodeProvisioner: karpenter\n", "      nodeProvisioner: gpu-provisioner\n", 1)
    assert text != nap
    run = run_with(tmp_path, text)
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert "aks-llm:addons.kaito.nodeProvisioner: nodeProvisioning.mode is nap" in err
    assert "accepted: karpenter" in err
    ok = run_with(
        tmp_path, text.replace("nodeProvisioner: gpu-provisioner", "nodeProvisioner: karpenter"), "ok"
    )
    assert ok.exit_code == 0
