"""KAITO per release: the managed add-on's 0.6.0 (Workspaces only, preset-sized node count, T4 and
V100 still accepted) against the chart's 0.12.0 (InferenceSet, estimator), and every KAITO object
the program renders validated against the CRD of the release it runs under."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from facts.kaito_versions import (
    CHART_KAITO_VERSION,
    MANAGED_KAITO_VERSION,
    kaito_capabilities,
    managed_kaito_version,
    preset_nodes,
)
from tests.conftest import ROOT, planned, run_with
from tests.k8s_schemas import manifest_errors, strictify
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests

CRD_V0_6_0 = ROOT.parent / "shared" / "crds" / "kaito-v0.6.0" / "kaito.sh_workspaces.yaml"
requires_v0_6_crd = pytest.mark.skipif(
    not CRD_V0_6_0.is_file(),
    reason="../shared/crds/kaito-v0.6.0 (KAITO 0.6.0's CRD) is on team machines only",
)


def errors_v0_6_0(doc: dict[str, Any]) -> list[str]:
    """Strict validation of a Workspace against KAITO 0.6.0's CRD (v1beta1, its storage version)."""
    crd = yaml.safe_load(CRD_V0_6_0.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == doc["apiVersion"].split("/")[1]]
    schema = strictify(version["schema"]["openAPIV3Schema"])
    schema = {**schema, "properties": {**schema["properties"], "metadata": {}}}
    body = {k: v for k, v in doc.items() if k != "metadata"}
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(body)]


def test_managed_add_on_runs_kaito_0_6_0_from_kubernetes_1_34() -> None:
    assert MANAGED_KAITO_VERSION == "0.6.0"
    assert managed_kaito_version("1.34") == managed_kaito_version("1.36.2") == "0.6.0"
    assert managed_kaito_version("1.33") == "0.4.5"  # the version table's 1.33 row: not modelled here


def test_the_chart_capabilities_were_read_at_the_pinned_release() -> None:
    """Moving the KAITO chart pin must come with re-reading its capabilities (facts/kaito_versions.py)."""
    assert CHART_KAITO_VERSION == "0.12.0"


def test_capabilities_differ_where_the_releases_do() -> None:
    old, new = kaito_capabilities("0.6.0"), kaito_capabilities("v0.12.0")
    assert (old.inference_set, old.estimator, new.inference_set, new.estimator) == (False, False, True, True)
    assert old.presets is not None and old.skus is not None
    # supported_models.yaml @v0.6.0: no gemma-3, no gpt-oss; phi-4 and llama 3.x are there
    assert not [p for p in old.presets if p.startswith(("gemma-3", "gpt-oss"))]
    assert {"phi-4", "phi-4-mini-instruct", "llama-3.3-70b-instruct"} <= set(old.presets)
    # azure_sku_handler.go @v0.6.0 still lists T4 and V100
    assert {"Standard_NC4as_T4_v3", "Standard_NC6s_v3"} <= set(old.skus)
    with pytest.raises(KeyError):
        kaito_capabilities("0.11.0")


@pytest.mark.parametrize(
    ("preset", "sku", "nodes"),
    [
        ("llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 4),  # 4 GPUs, 320Gi: 4 x (1 x 80)
        ("llama-3.3-70b-instruct", "Standard_NC48ads_A100_v4", 2),  # 2 x (2 x 80)
        ("phi-4", "Standard_NC24ads_A100_v4", 1),  # 40Gi on 80
        ("phi-4", "Standard_NC4as_T4_v3", 3),  # 40Gi total on 16Gi nodes, no per-GPU minimum
        ("phi-4-mini-instruct", "Standard_NC4as_T4_v3", 1),  # 8Gi
    ],
)
def test_0_6_0_node_count_is_the_fewest_that_pass_its_validation(preset: str, sku: str, nodes: int) -> None:
    assert preset_nodes(kaito_capabilities("0.6.0"), preset, sku) == (nodes, None)


def test_0_6_0_refuses_what_no_node_count_fixes() -> None:
    caps = kaito_capabilities("0.6.0")
    count, reason = preset_nodes(caps, "llama-3.3-70b-instruct", "Standard_NV36ads_A10_v5")
    assert count is None and reason == (
        "preset llama-3.3-70b-instruct needs 80 GiB per GPU at KAITO 0.6.0; "
        "Standard_NV36ads_A10_v5 has 24 GiB per GPU"
    )
    assert preset_nodes(caps, "gemma-3-27b-instruct", "Standard_NC24ads_A100_v4")[1] == (
        "KAITO 0.6.0 has no preset gemma-3-27b-instruct"
    )


MANAGED = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:hfToken:
    secure: v1:AAAAAAAAAAAAAAAAAAAAAAAA
  aks-llm:gpuPools:
    - {name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 0, max: 3}}
    - {name: t4, vmSize: Standard_NC4as_T4_v3, onDemand: {min: 0, max: 1}}
  aks-llm:models:
    - {name: llama, model: llama-3.1-8b-instruct, runtime: kaito, pool: a10, FIXED}
    - {name: mistral, model: mistral-7b-instruct, runtime: kaito, pool: a10, FIXED}
    - {name: mini, model: phi-4-mini-instruct, runtime: kaito, pool: t4, FIXED}
""".replace("FIXED", "replicas: {min: 1, max: 1}, scaleToZero: false")


@pytest.fixture(scope="module")
def managed_run(tmp_path_factory: pytest.TempPathFactory) -> ProgramRun:
    run = run_with(tmp_path_factory.mktemp("managed"), MANAGED)
    assert run.exit_code == 0
    return run


def kaito_objects(run: ProgramRun) -> list[dict[str, Any]]:
    return [m for m in kubernetes_manifests(run.resources) if m["apiVersion"].startswith("kaito.sh/")]


@requires_v0_6_crd
def test_managed_workspaces_validate_against_kaito_0_6_0(managed_run: ProgramRun) -> None:
    docs = {d["metadata"]["name"]: d for d in kaito_objects(managed_run)}
    assert {d["kind"] for d in docs.values()} == {"Workspace"}  # no InferenceSet CRD at 0.6.0
    for name, doc in docs.items():
        assert errors_v0_6_0(doc) == [], name
        assert doc["resource"]["count"] == 1  # 0.6.0 has no estimator: the Workspace says how many
        assert "kaito.sh/disable-benchmark" not in (doc["metadata"].get("annotations") or {})
    # a T4 pool: KAITO 0.6.0 still accepts it (removed in 0.12.0)
    assert docs["mini-ws"]["resource"]["instanceType"] == "Standard_NC4as_T4_v3"
    # modelAccessSecret exactly for presets whose weights download at run time (llama), and not for
    # mistral-7b-instruct, whose 0.6.0 image carries its weights (the webhook refuses the secret there)
    assert docs["llama-ws"]["inference"]["preset"]["presetOptions"] == {"modelAccessSecret": "hf-token"}
    assert "presetOptions" not in docs["mistral-ws"]["inference"]["preset"]


def test_helm_kaito_objects_validate_against_the_0_12_crds() -> None:
    """prod runs the chart 0.12.0: an InferenceSet, no count (the estimator sizes it). (nap has no KAITO
    model: KAITO's own node provisioning does not serve on NAP, facts/kaito_nap.py.)"""
    for stack in ("prod",):
        docs = kaito_objects(planned(stack)[1])
        assert [d["kind"] for d in docs] == ["InferenceSet"]
        if (ROOT.parent / "shared" / "crds").is_dir():
            assert manifest_errors(docs[0]) == []
        assert "count" not in docs[0]["spec"]["template"]["resource"]


def test_managed_kaito_refuses_scaling_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mini = "{name: mini, model: phi-4-mini-instruct, runtime: kaito, pool: t4, "
    scaled = MANAGED.replace(
        mini + "replicas: {min: 1, max: 1}, scaleToZero: false}",
        mini + 'replicas: {min: 0, max: 1}, schedule: {start: "08:00", end: "18:00"}}',
    )
    assert scaled != MANAGED
    run = run_with(tmp_path, scaled)
    err = capsys.readouterr().err
    assert run.exit_code == 2 and run.resources == []
    assert (
        "aks-llm:models[2].replicas: the managed AKS add-on runs KAITO 0.6.0, which has no InferenceSet"
        in err
    )
    assert "a Workspace has no scale subresource, so KEDA cannot scale it" in err
    assert "accepted: addons.kaito.mode: helm (KAITO 0.12.0: a scalable InferenceSet), runtime: vllm" in err
    helm = scaled.replace(
        "  aks-llm:gpuPools:", "  aks-llm:addons: {kaito: {mode: helm}}\n  aks-llm:gpuPools:"
    )
    assert run_with(tmp_path, helm).exit_code == 2  # 0.12.0 refuses the T4 pool instead (kaito_accepts_sku)
    assert "KAITO does not accept Standard_NC4as_T4_v3" in capsys.readouterr().err


def test_managed_kaito_refuses_a_model_without_a_0_6_0_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MANAGED.replace("model: mistral-7b-instruct", "model: qwen2.5-7b-instruct")
    run = run_with(tmp_path, text)
    err = capsys.readouterr().err
    assert run.exit_code == 2
    assert "KAITO 0.6.0 serves registered presets only, and this model has none" in err


def test_the_managed_release_follows_the_cluster_minor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """managed_kaito_version reads the AKS calendar: on 1.33 (LTS, Premium) the add-on runs KAITO 0.4.5,
    which the program does not model, so a KAITO model there is refused before anything is created."""
    lts = MANAGED.replace(
        "aks-llm:cluster: {apiServer: {privateCluster: true}}",
        "aks-llm:cluster: {apiServer: {privateCluster: true}, kubernetesVersion: '1.33', tier: Premium, "
        "supportPlan: AKSLongTermSupport}",
    )
    assert lts != MANAGED
    run = run_with(tmp_path, lts)
    err = capsys.readouterr().err
    assert run.exit_code == 2 and run.resources == []
    assert "aks-llm:addons.kaito.mode: the managed add-on on Kubernetes 1.33 runs KAITO 0.4.5" in err
    assert "mode: helm (KAITO 0.12.0)" in err


def test_managed_services_select_the_deployment_pods_kaito_0_6_0_creates(managed_run: ProgramRun) -> None:
    """KAITO 0.6.0 runs a one-node Workspace as a Deployment (pkg/workspace/inference/
    preset_inferences.go:167-200 @v0.6.0): its pods carry ``kaito.sh/workspace`` and no StatefulSet
    pod-index label, so a Service selecting pod index 0 would have no endpoints."""
    services = {
        m["metadata"]["name"]: m
        for m in kubernetes_manifests(managed_run.resources)
        if m["kind"] == "Service" and "kaito.sh/workspace" in (m["spec"].get("selector") or {})
    }
    assert set(services) == {"llama", "mistral", "mini"}
    for name, service in services.items():
        assert "apps.kubernetes.io/pod-index" not in service["spec"]["selector"], name
    # The scrape job keeps pods without an index (Deployment pods) as well as StatefulSet leaders.
    scrape = next(
        m
        for m in kubernetes_manifests(managed_run.resources)
        if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "ama-metrics-prometheus-config"
    )
    assert ".+;5000;(0|)" in yaml.safe_dump(scrape["data"])


def test_every_supported_kaito_release_names_the_vllm_it_runs() -> None:
    from facts.kaito_versions import KAITO_VLLM, KNOWN_KAITO_VERSIONS

    assert set(KAITO_VLLM) == set(KNOWN_KAITO_VERSIONS)  # a new KAITO pin: read its requirements.txt
    assert KAITO_VLLM["0.12.0"] == "0.25.1" and KAITO_VLLM["0.6.0"] == "0.9.0"
