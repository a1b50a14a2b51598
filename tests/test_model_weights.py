"""Weights in Blob: the weights source per model and vLLM pin, the storage account and container, the
identities' rights on the container only, the seeding Job's rendering and vLLM's streaming arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from config import versions
from config.schema import ModelConfig, ModelWeightsConfig
from facts.vllm_runai import streams_from_azure_blob, version_tuple
from renderers.model_weights import loader_config
from sizing import model_weights
from sizing.model_weights import weights_source
from tests.conftest import ROOT, by_type, planned
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests, run_stack

PHI_REVISION = "c0fb9e74abda11b496b7907a9c6c9009a7a0488f"
READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def model(**extra: Any) -> ModelConfig:
    return ModelConfig.model_validate(
        {"name": "chat", "model": "phi-4-mini-instruct", "pool": "gpu", **extra}
    )


def test_the_az_scheme_needs_vllm_0_18() -> None:
    assert version_tuple("v0.11.0") == (0, 11, 0) and version_tuple("0.18.1rc1") == (0, 18, 1)
    assert not streams_from_azure_blob("v0.11.0") and not streams_from_azure_blob("v0.17.9")
    assert streams_from_azure_blob("v0.18.0") and streams_from_azure_blob("v0.30.0")


def test_weights_source_at_either_pin_and_why_not() -> None:
    blob = ModelWeightsConfig()
    pinned = model(revision=PHI_REVISION)
    streamed = weights_source(pinned, blob, "v0.18.0")
    assert streamed.streamed and (streamed.container, streamed.blob_path) == (
        "model-weights",
        f"chat/{PHI_REVISION}",
    )
    old = weights_source(pinned, blob, "v0.11.0")
    assert not old.streamed and "vLLM v0.11.0 cannot stream az:// (needs >= 0.18.0)" in old.reason
    assert "no revision pinned" in weights_source(model(), blob, "v0.18.0").reason
    assert "modelWeights unset" in weights_source(pinned, None, "v0.18.0").reason
    kaito = weights_source(model(runtime="kaito", revision=PHI_REVISION), blob, "v0.18.0")
    assert not kaito.streamed and "ModelMirror" in kaito.reason


@pytest.mark.parametrize("bad", ["main", "C0FB9E74ABDA11B496B7907A9C6C9009A7A0488F", "c0fb9e7", "v1.0"])
def test_a_revision_is_a_commit_hash_never_a_branch(bad: str) -> None:
    with pytest.raises(ValidationError, match="40-character commit hash"):
        model(revision=bad)


def test_streamer_tuning_follows_the_pod() -> None:
    assert loader_config(4000, 20) == {"concurrency": 16, "memory_limit": 5 * 1024**3}
    assert loader_config(96000, 800) == {"concurrency": 64, "memory_limit": 200 * 1024**3}


def _manifests(run: ProgramRun, kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in kubernetes_manifests(run.resources) if m["kind"] == kind}


def test_the_storage_account_is_private_keyless_and_the_container_closed() -> None:
    _, run = planned("dev")
    (account,) = by_type(run, "azure-native:storage:StorageAccount")
    i = account.inputs
    assert (i["allowBlobPublicAccess"], i["allowSharedKeyAccess"], i["minimumTlsVersion"]) == (
        False,
        False,
        "TLS1_2",
    )
    # public endpoint on: no IP firewall (Azure Storage ignores IP rules from the same region, where the
    # cluster is), access by Entra ID only
    assert i["networkRuleSet"]["defaultAction"] == "Allow" and "ipRules" not in i["networkRuleSet"]
    # the data services share the Key Vault's network mode (dev keeps the vault's public endpoint)
    (vault,) = by_type(run, "azure-native:keyvault:Vault")
    assert i["publicNetworkAccess"] == vault.inputs["properties"]["publicNetworkAccess"] == "Enabled"
    assert 3 <= len(i["accountName"]) <= 24 and i["accountName"].isalnum() and i["accountName"].islower()
    (container,) = by_type(run, "azure-native:storage:BlobContainer")
    assert (container.inputs["containerName"], container.inputs["publicAccess"]) == ("model-weights", "None")


def test_reader_for_the_inference_identity_contributor_for_the_seeder_each_on_the_container_only() -> None:
    _, run = planned("dev")
    (container,) = by_type(run, "azure-native:storage:BlobContainer")
    blob_grants = {
        a.name: a.inputs
        for a in by_type(run, "azure-native:authorization:RoleAssignment")
        if a.inputs["roleDefinitionId"].endswith((READER, CONTRIBUTOR))
    }
    assert len(blob_grants) == 2
    for name, inputs in blob_grants.items():
        assert "/BlobContainer/" in inputs["scope"], name  # the container's id, not the account's
        role = READER if "inference-identity" in name else CONTRIBUTOR
        assert inputs["roleDefinitionId"].endswith(role), name
    assert any("weights-seeder-identity" in n for n in blob_grants)
    assert container.inputs["containerName"] == "model-weights"


def test_the_seeding_job_checks_downloads_the_pinned_revision_and_uploads_it_last_marker_last() -> None:
    _, run = planned("dev")
    jobs = _manifests(run, "Job")
    job = jobs[f"seed-phi4mini-{PHI_REVISION[:10]}"]
    assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "weights-seeder"
    check, download = spec["initContainers"]
    (upload,) = spec["containers"]
    for c in (check, download, upload):
        assert "@sha256:" in c["image"], c["name"]
        assert c["securityContext"]["runAsNonRoot"] and c["securityContext"]["readOnlyRootFilesystem"]
    assert check["image"].startswith("mcr.microsoft.com/azure-cli:2.73.0@sha256:")
    assert f"--name phi4mini/{PHI_REVISION}/.seeded" in check["command"][2]
    assert download["command"][3:6] == [
        "microsoft/Phi-4-mini-instruct",
        PHI_REVISION,
        f"/seed/phi4mini/{PHI_REVISION}",
    ]
    script = upload["command"][2]
    # each listed file (tests/test_seed_scripts.py runs it), then the marker
    assert script.index(f"done < /seed/phi4mini/{PHI_REVISION}.files") < script.index(
        f"--name phi4mini/{PHI_REVISION}/.seeded"
    )
    assert "--auth-mode login" in script and "--account-key" not in script
    claims = [
        v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v
    ]
    assert claims == ["phi4mini-model-cache"]  # resumable: the scratch survives a retried pod


def test_at_vllm_0_11_the_deployment_reads_its_files_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_weights, "vllm_version", lambda: "v0.11.0")
    _, run = run_stack(ROOT, "dev")
    deployment = _manifests(run, "Deployment")["phi4mini"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--load-format" not in container["args"]
    assert container["args"][0] == "microsoft/Phi-4-mini-instruct"
    assert "aks-llm/hf-model" not in (deployment["spec"]["template"]["metadata"].get("annotations") or {})
    assert "AZURE_STORAGE_ACCOUNT_NAME" not in {e["name"] for e in container["env"]}
    assert "initContainers" not in deployment["spec"]["template"]["spec"]  # nothing to wait for
    # the rollout's deadline: a node from zero plus the startup probe's budget, no seed to wait for
    probe = container["startupProbe"]
    budget = probe["periodSeconds"] * probe["failureThreshold"]
    assert deployment["spec"]["progressDeadlineSeconds"] - budget in range(240, 1000)  # the node's high end


def test_at_vllm_0_18_the_deployment_streams_from_blob(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_weights, "vllm_version", lambda: "v0.18.0")
    _, run = run_stack(ROOT, "dev")
    deployment = _manifests(run, "Deployment")["phi4mini"]
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    container = pod["spec"]["containers"][0]
    args = container["args"]
    assert args[0] == f"az://model-weights/phi4mini/{PHI_REVISION}"  # vllm serve's positional model
    annotations = pod["metadata"]["annotations"]
    assert annotations["aks-llm/hf-model"] == f"microsoft/Phi-4-mini-instruct@{PHI_REVISION}"
    assert args[args.index("--load-format") + 1] == "runai_streamer"
    assert set(json.loads(args[args.index("--model-loader-extra-config") + 1])) == {
        "concurrency",
        "memory_limit",
    }
    env = {e["name"]: e.get("value") for e in container["env"]}
    (account,) = by_type(run, "azure-native:storage:StorageAccount")
    assert env["AZURE_STORAGE_ACCOUNT_NAME"] == account.inputs["accountName"]
    assert pod["spec"]["serviceAccountName"] != "weights-seeder"  # the inference identity: Reader only
    # vLLM starts only once the seeding Job's marker exists, polled as the same (inference) identity
    (wait,) = pod["spec"]["initContainers"]
    assert wait["name"] == "wait-for-weights" and wait["image"] == versions.image("weights-seed").reference
    script = wait["command"][2]
    assert f"--container-name model-weights --name phi4mini/{PHI_REVISION}/.seeded" in script
    # the deadline: the seed's predicted high end x 1.5 in whole minutes (tests/test_cold_start.py)
    deadline = int(script.split("$(date +%s) + ", 1)[1].split(" ", 1)[0])
    assert deadline % 60 == 0 and deadline >= 600 and f"not seeded after {deadline} s" in script
    assert f"job/seed-phi4mini-{PHI_REVISION[:10]}" in script
    # the rollout is not reported failed before the init container itself gives up: its deadline holds
    # the seed wait, then a node from zero and the startup probe's budget
    probe = container["startupProbe"]
    budget = probe["periodSeconds"] * probe["failureThreshold"]
    assert deployment["spec"]["progressDeadlineSeconds"] - budget - deadline in range(240, 1000)
    assert {e["name"]: e.get("value") for e in wait["env"]}["AZURE_STORAGE_ACCOUNT_NAME"] == env[
        "AZURE_STORAGE_ACCOUNT_NAME"
    ]
    sc = wait["securityContext"]
    assert sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
    assert wait["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}


def test_the_committed_pin_streams_every_pinned_vllm_model() -> None:
    # at the committed vLLM pin (>= 0.18.0), every vLLM model with a revision streams from Blob
    for stack in ("dev", "prod", "nap"):
        run = planned(stack)[1]
        for name, deployment in _manifests(run, "Deployment").items():
            containers = [
                c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm"
            ]
            for c in containers:
                assert c["args"][0].startswith("az://model-weights/"), (stack, name)
                assert "runai_streamer" in c["args"], (stack, name)


def test_the_pinned_image_ships_the_streamer_and_one_without_it_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from config import versions
    from facts import vllm_image

    pinned = versions.image("vllm").version.lstrip("v")
    assert vllm_image.IMAGES[pinned].runai_streamer  # runai-model-streamer[s3,gcs,azure] in its Dockerfile
    bare = {pinned: replace(vllm_image.IMAGES[pinned], runai_streamer=False)}
    monkeypatch.setattr(model_weights, "IMAGES", bare)
    source = weights_source(model(revision=PHI_REVISION), ModelWeightsConfig(), f"v{pinned}")
    assert not source.streamed and "lacks the Run:ai streamer" in source.reason
