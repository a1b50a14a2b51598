"""Replicas against GPU slots (sizing.slots, rules.runtime): a model's maximum plus rollout
surge, and all models on a pool together, fit the pool at its maximum; a serving floor fits on-demand;
no vLLM on time-sliced GPUs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.catalog import load_catalog
from config.schema import StackConfig
from sizing.deployments import plan_models
from sizing.slots import pool_slot_demand, pool_slots, slot_shortfalls, stack_pool_slots
from tests.conftest import ROOT, run_with

CATALOG = load_catalog()


def _config(pools: list[dict[str, Any]], models: list[dict[str, Any]], **extra: object) -> StackConfig:
    return StackConfig.model_validate(
        {
            "location": "swedencentral",
            "cluster": {"apiServer": {"privateCluster": True}},
            "gpuPools": pools,
            "models": models,
            **extra,
        }
    )


def test_pool_slots_count_gpus_mig_slices_or_nodepool_limits() -> None:
    prod = _config(
        [
            {
                "name": "a100",
                "vmSize": "Standard_NC24ads_A100_v4",
                "driver": "operator",
                "mig": "3g.40gb",
                "onDemand": {"min": 1, "max": 3},
                "spot": {"min": 1, "max": 4},
            }
        ],
        [],
    )
    slots = stack_pool_slots(prod, CATALOG)["a100"]
    assert (slots.slots_per_node, slots.on_demand, slots.spot, slots.total) == (2, 6, 8, 14)
    nap = StackConfig.model_validate(
        {
            "location": "swedencentral",
            "cluster": {"apiServer": {"privateCluster": True}},
            "nodeProvisioning": {
                "mode": "nap",
                "nodePools": [
                    {
                        "name": "batch",
                        "skuFamilies": ["NCas_T4_v3"],
                        "spot": {"limits": {"gpus": 4, "cpu": 32}},
                        "onDemand": {"limits": {"gpus": 1}},
                    }
                ],
            },
        }
    )
    batch = stack_pool_slots(nap, CATALOG)["batch"]  # sized on Standard_NC4as_T4_v3: 1 GPU, 4 vCPU
    assert (batch.on_demand, batch.spot) == (1, 4)
    t4 = CATALOG.skus["Standard_NC4as_T4_v3"]
    assert pool_slots(nap.node_provisioning.node_pools[0], t4).total == 5


def test_demand_is_max_plus_one_surge_replica_times_the_gpus_per_replica() -> None:
    config = _config(
        [{"name": "x4", "vmSize": "Standard_NC96ads_A100_v4", "onDemand": {"max": 2}}],
        [{"name": "big", "model": "qwen2.5-72b-instruct", "pool": "x4", "replicas": {"max": 1}}],
    )
    (plan,) = plan_models(config, CATALOG)
    demand = pool_slot_demand(plan)
    # qwen2.5-72b bf16 (135.4 GiB of weights) takes tensor parallel 2 on A100 80GB at their CUDA total
    # (2 x 79.32 GiB x 0.90 - 2 x 2.3 GiB overhead = 138.2 GiB, config/catalog/gpu-memory.yaml)
    assert (demand.slots_per_replica, demand.replicas_max, demand.surge_replicas, demand.at_max) == (
        2,
        1,
        1,
        4,
    )
    assert slot_shortfalls([plan], config, CATALOG) == []  # 4 <= 2 nodes x 4 GPUs


def test_dev_at_peak_400_is_refused_with_the_slots_per_model_and_the_pools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = (ROOT / "Pulumi.dev.yaml").read_text()
    assert "peakConcurrentRequests: 8\n" in dev
    assert "replicas: {min: 1, max: 1}\n" in dev
    peak = dev.replace("peakConcurrentRequests: 8\n", "peakConcurrentRequests: 400\n")
    run = run_with(tmp_path, peak.replace("replicas: {min: 1, max: 1}\n", "replicas: {min: 1}\n"), "dev")
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    # 400 / max-num-seqs 17 -> 24 replicas, + 1 surge, 1 T4 each; the pool: 1 on-demand + 2 spot T4 nodes
    assert (
        "aks-llm:models[0].replicas: the models on pool t4 need 25 GPU slots at their maximum "
        "(phi4mini: (24 replicas + 1 rollout surge) x 1 slots = 25), and the pool has 3 at its maximum "
        "(1 on-demand + 2 spot nodes x 1 slots = 3, 1 of them on-demand)"
    ) in err
    assert "accepted: replicas.max (or a higher maxNumSeqs) so the models need at most 3 slots" in err


TWO = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools:
    - {name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 1, max: 3}, spot: {min: 0, max: SPOT}}
  aks-llm:models:
    - {name: one, model: phi-4-mini-instruct, pool: a10, replicas: {min: MIN, max: 2}, scaleToZero: false}
    - {name: two, model: phi-4-mini-instruct, pool: a10, replicas: {min: 1, max: 2}, scaleToZero: false}
"""


def test_two_models_on_one_pool_together_exceed_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(tmp_path, TWO.replace("SPOT", "2").replace("MIN", "1"))
    assert run.exit_code == 2
    err = capsys.readouterr().err
    assert (
        "need 6 GPU slots at their maximum (one: (2 replicas + 1 rollout surge) x 1 slots = 3; two: " in err
    )
    assert "the pool has 5 at its maximum" in err
    assert run_with(tmp_path, TWO.replace("SPOT", "3").replace("MIN", "1")).exit_code == 0  # 6 <= 6


def test_a_serving_floor_must_fit_on_demand_spot_does_not_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    floor = TWO.replace("SPOT", "6").replace("MIN", "2").replace("max: 3}", "max: 2}")
    run = run_with(tmp_path, floor)
    assert run.exit_code == 2
    err = capsys.readouterr().err
    assert (
        "aks-llm:models[0].replicas.min: the serving models on pool a10 keep 3 GPU slots as their floor "
        "(replicas.min or the schedule's minReplicas: one: 2 replicas x 1 slots = 2; two: 1 replicas x 1 "
        "slots = 1), and the pool has 2 on-demand slots; spot slots do not count"
    ) in err


def test_committed_nap_stack_at_two_replicas_would_not_fit_its_nodepool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nap = (ROOT / "Pulumi.nap.yaml").read_text()
    assert nap.count("replicas: {min: 0, max: 1}") >= 1
    before = nap.replace(
        'replicas: {min: 0, max: 1}\n      schedule: {timezone: Europe/Stockholm, start: "08:00"',
        'replicas: {min: 0, max: 2}\n      schedule: {timezone: Europe/Stockholm, start: "08:00"',
        1,
    )
    assert before != nap
    run = run_with(tmp_path, before, "nap")
    assert run.exit_code == 2
    assert "the models on pool serve need 5 GPU slots" in capsys.readouterr().err


TIME_SLICED = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools:
    - {name: shared, vmSize: Standard_NV36ads_A10_v5, purpose: batch, driver: operator,
       timeSlicing: {replicas: 4}, onDemand: {min: 0, max: 2}}
  aks-llm:models:
    - {name: m, model: phi-4-mini-instruct, pool: shared, purpose: batch, replicas: {min: 1, max: 2},
       scaleToZero: false}
"""


def test_vllm_on_a_time_sliced_pool_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(tmp_path, TIME_SLICED)
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert (
        "aks-llm:models[0].pool: pool shared time-slices each GPU 4 ways, and vLLM cannot share a GPU" in err
    )
    assert "claims --gpu-memory-utilization 0.90 of the whole GPU's memory" in err
    assert "the second replica on a GPU crash-loops" in err
    assert "accepted: a pool without timeSlicing (whole GPUs), or MIG slices" in err
