"""The KEDA HTTP add-on's cold-start wait: each HTTPScaledObject's conditionWait and the
interceptor-wide readinessTimeout come from the model's predicted cold start (a GPU node from zero,
then the startup budget), and a configured cap below it is refused with the numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.catalog import load_catalog
from config.schema import StackConfig
from sizing.deployments import plan_models
from sizing.workloads import cold_start, cooldown_seconds, predicted_cold_start_seconds
from tests.conftest import by_type, run_with
from tests.k8s_schemas import manifest_errors, requires_crds
from tools.plan import kubernetes_manifests

STACK = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:addons: {keda: {httpAddon: {enabled: true CAP}}}
  aks-llm:gpuPools:
    - {name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 0, max: 4}}  # 2 models + surge
  aks-llm:models:
    - {name: small, model: phi-4-mini-instruct, pool: a10}
    - {name: big, model: qwen2.5-7b-instruct, pool: a10}
"""


def test_predicted_cold_start_is_the_high_end_of_its_parts_and_the_cooldown_its_low_end() -> None:
    config = StackConfig.model_validate(
        {
            "location": "swedencentral",
            "gpuPools": [
                {"name": "a10", "vmSize": "Standard_NV36ads_A10_v5", "onDemand": {"min": 0, "max": 2}}
            ],
            "models": [{"name": "small", "model": "phi-4-mini-instruct", "pool": "a10"}],
        }
    )
    (plan,) = plan_models(config, load_catalog())
    # phi-4-mini (7.15 GiB) on an NV A10 v5 node from zero, weights from its 100 GiB Files share
    # (60 + ceil(6) = 66 to 100 + 4 + 6 = 110 MiB/s): node 240-600 + image 10 GiB at 35-200 MiB/s
    # (51.2-292.6) + weights 7.15 x 1024 / 110-66 (66.6-110.9) + server 30-300 s (persistent compile cache)
    c = cold_start(plan)
    assert (c.low_seconds, c.high_seconds) == (388, 1304)
    assert predicted_cold_start_seconds(plan) == 1320  # the high end, in whole minutes
    assert predicted_cold_start_seconds(plan) > 600  # the old fixed default answered 504 first
    assert cooldown_seconds(plan) == 390  # the low end in 30 s steps: above KEDA's 300 s floor


@requires_crds
def test_each_route_waits_its_models_cold_start_and_the_interceptor_the_longest(tmp_path: Path) -> None:
    run = run_with(tmp_path, STACK.replace(" CAP", ""))
    assert run.exit_code == 0
    routes = {
        m["metadata"]["name"]: m
        for m in kubernetes_manifests(run.resources)
        if m["kind"] == "HTTPScaledObject"
    }
    waits = {
        name: int(m["spec"]["timeouts"]["conditionWait"].removesuffix("s")) for name, m in routes.items()
    }
    assert len(waits) == 2 and len(set(waits.values())) == 2  # per model, not one figure
    for doc in routes.values():
        assert manifest_errors(doc) == []  # http.keda.sh_httpscaledobjects.yaml
    (release,) = [
        r for r in by_type(run, "kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "keda-add-ons-http"
    ]
    interceptor = release.inputs["values"]["interceptor"]
    assert interceptor["readinessTimeout"] == f"{max(waits.values())}s"
    assert "waitTimeout" not in interceptor["replicas"]


def test_a_cap_below_a_models_cold_start_is_refused_with_the_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(tmp_path, STACK.replace(" CAP", ", coldStartTimeoutSeconds: 600"))
    err = capsys.readouterr().err
    assert run.exit_code == 2 and run.resources == []
    assert "aks-llm:addons.keda.httpAddon.coldStartTimeoutSeconds: model small may need" in err
    assert "from zero on pool a10: node 240-600 s + image 51-293 s + weights 67-111 s" in err
    assert "the interceptor would answer 504 before the model is ready (got 600)" in err
    assert run_with(tmp_path, STACK.replace(" CAP", ", coldStartTimeoutSeconds: 7200")).exit_code == 0
