"""The Hugging Face token never shows up in the plan JSON, the outputs or the console; and the typed
refs the model services build on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import settings as psettings
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

from stack.loader import parse_stack_config
from tests.conftest import ROOT, by_type, one
from tools.mocks import PlatformMocks, RecordingMonitor, run_program
from tools.plan import plan_document
from tools.stack_config import load_stack_settings

TOKEN = "hf_QpZrT8vLmN3kXwY7aBcDeFgHiJkLmNoPqRsT"  # looks real, is not


def test_a_real_token_appears_nowhere(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_stack_settings(ROOT, "dev")
    config = {**settings.config, "aks-llm:hfToken": TOKEN}
    secret_keys = [*settings.secret_keys, "aks-llm:hfToken"]
    monkeypatch.chdir(ROOT)
    run = run_program(
        ROOT / "__main__.py", project=settings.project, stack="dev", config=config, secret_keys=secret_keys
    )
    assert run.exit_code == 0
    # The token did flow: into the Key Vault secret, as a secret value.
    secret = one(run, "azure-native:keyvault:Secret").inputs
    assert secret["properties"]["value"] == "[secret]"
    assert by_type(run, "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
    doc = json.dumps(plan_document(settings, run))
    assert TOKEN not in doc
    assert TOKEN not in json.dumps(run.outputs)
    assert "hfTokenSecret" in run.outputs and run.outputs["hfTokenSecret"] == "hf-token"  # a name only
    captured = capsys.readouterr()
    assert TOKEN not in captured.out and TOKEN not in captured.err


def test_platform_exposes_typed_inference_refs() -> None:
    from components.platform import Platform, PlatformArgs
    from config.catalog import load_catalog
    from planning.stack_plan import plan_stack

    raw = {
        "location": "swedencentral",
        "cluster": json.dumps({"apiServer": {"privateCluster": True}}),
        "addons": json.dumps({"asyncQueue": {"enabled": True}, "keda": {"httpAddon": {"enabled": True}}}),
        # the queue feeds a batch model (rules/queue.py)
        "gpuPools": json.dumps(
            [
                {
                    "name": "t4",
                    "vmSize": "Standard_NC4as_T4_v3",
                    "purpose": "batch",
                    "spot": {"min": 0, "max": 2},  # one replica + its rollout surge
                }
            ]
        ),
        "models": json.dumps(
            [
                {
                    "name": "nightly",
                    "model": "phi-4-mini-instruct",
                    "pool": "t4",
                    "purpose": "batch",
                    # no worker image: nothing would wake it from zero (rules/models.py), so one replica
                    "replicas": {"min": 1},
                    "scaleToZero": False,
                }
            ]
        ),
        "hfToken": "[secret]",
    }
    cfg = parse_stack_config(raw, source="test", secret_keys=["hfToken"])
    psettings.set_root_resource(None)  # type: ignore[arg-type]
    mocks = PlatformMocks()
    pmocks.set_mocks(mocks, project="aks-llm", stack="refs", preview=True, monitor=RecordingMonitor(mocks))
    plan = plan_stack(cfg, load_catalog())
    platform = Platform("platform", PlatformArgs(project="aks-llm", stack="refs", plan=plan))
    refs = platform.inference
    assert (refs.namespace, refs.service_account) == ("inference", "inference")
    assert (refs.hf_token_secret, refs.hf_token_key, refs.secret_provider_class) == (
        "hf-token",
        "HF_TOKEN",
        "hf-token",
    )
    assert refs.prometheus_trigger_auth == "keda-prometheus"
    assert refs.queue is not None and refs.queue.trigger_auth == "keda-servicebus"
    assert refs.queue.queue_name == "batch-inference"
    assert (refs.queue.reply_queue_name, refs.queue.worker_service_account) == (
        "batch-inference-results",
        "queue-worker",
    )
    assert refs.http_addon is not None
    assert refs.http_addon.external_scaler_address == "keda-add-ons-http-external-scaler.keda:9090"
    assert refs.kube_provider is platform.cluster.kube_provider
    volume_and_mount = refs.hf_token_volume()
    assert volume_and_mount is not None
    volume, mount = volume_and_mount
    assert volume.csi.volume_attributes == {"secretProviderClass": "hf-token"}  # type: ignore[union-attr]
    assert mount.read_only is True
    endpoint = _sync_await(refs.prometheus_query_endpoint.future())
    assert endpoint == "https://amw-llm-refs.prometheus.monitor.azure.com"
    namespace = _sync_await(refs.queue.namespace.future())
    assert namespace is not None and namespace.startswith("sb-llm-refs-")
    _sync_await(wait_for_rpcs())


def test_written_plan_json_masks_a_secure_token(tmp_path: Path) -> None:
    from tools.plan import main

    stack = tmp_path / "Pulumi.tok.yaml"
    stack.write_text(
        "config:\n  aks-llm:location: swedencentral\n"
        "  aks-llm:cluster:\n    apiServer: {privateCluster: true}\n"
        "  aks-llm:hfToken:\n    secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=\n"
    )
    out = tmp_path / "plan.json"
    assert main(["--stack", "tok", "--config-file", str(stack), "--json", str(out)]) == 0
    text = out.read_text()
    assert "c2VjcmV0LWNpcGhlcnRleHQ" not in text
    doc = json.loads(text)
    (secret,) = [r for r in doc["resources"] if r["type"] == "azure-native:keyvault:Secret"]
    assert secret["inputs"]["properties"]["value"] == "[secret]"
