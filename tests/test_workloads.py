"""The pure figures behind the model manifests (sizing.workloads, sizing.autoscaling, renderers)."""

from __future__ import annotations

from typing import Any

import pytest

from config.catalog import load_catalog
from config.schema import ScheduleConfig, StackConfig
from renderers.autoscaling import cron_window, scaled_object_spec
from renderers.vllm import vllm_args
from sizing.autoscaling import load_target, wake_up_sources
from sizing.deployments import ModelPlan, plan_models
from sizing.workloads import (
    cooldown_seconds,
    drain_seconds,
    kaito_kind,
    kaito_nodes_per_replica,
    pod_resources,
    replica_floor,
    served_model_name,
    startup_budget_seconds,
    workload_scheduling,
)


def plan(model: dict[str, Any], pool: dict[str, Any] | None = None) -> ModelPlan:
    pool = pool or {"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"min": 0, "max": 2}}
    config = StackConfig.model_validate(
        {
            "location": "swedencentral",
            "cluster": {"apiServer": {"privateCluster": True}},
            "gpuPools": [pool],
            "models": [{"name": "m", "pool": pool["name"], **model}],
        }
    )
    (p,) = plan_models(config, load_catalog())
    return p


def schedule(start: str, end: str, days: str = "1-5") -> ScheduleConfig:
    return ScheduleConfig.model_validate({"start": start, "end": end, "days": days})


def test_cron_window_of_a_day_and_of_a_night() -> None:
    assert cron_window(schedule("07:30", "19:00")) == ("30 7 * * 1-5", "0 19 * * 1-5")
    # a window ending at or before its start ends the next day (Saturday's night ends Sunday = 0)
    assert cron_window(schedule("22:00", "06:00", "5-6")) == ("0 22 * * 5-6", "0 6 * * 0,6")
    # start == end is refused (issue 12): KEDA refuses equal start and end (cron_scaler.go at v2.19.0)
    with pytest.raises(ValueError, match="KEDA's cron scaler refuses"):
        schedule("00:00", "00:00", "0")


def test_timings_from_the_longest_generation_and_the_weights() -> None:
    p = plan({"model": "qwen2.5-7b-instruct", "workload": {"p95CompletionTokens": 4000}})
    # 4,000 tokens at 10 tokens/s = 400 s; cooldown 2 x 400 = 800 s (30 s steps: 810); grace period:
    # 15 s settle + 400 s drain bound + 30 s shutdown = 445 s -> 450 s
    assert (cooldown_seconds(p), drain_seconds(p)) == (810, 450)
    # 14.19 GiB at 40 MiB/s = 363.3 s, + 300 s engine start = 663.3 s, x 1.5 = 995 s -> 1,020 s
    assert startup_budget_seconds(p) == 1020
    short = plan({"model": "qwen2.5-7b-instruct", "workload": {"p95CompletionTokens": 100}})
    # the cooldown's floor is the cold start's low end: node 300 + image 51.2 + weights 14.19 GiB at
    # 110 MiB/s (132.1) + server 30 (cached compile) = 513.3 s -> 540 s; the grace period's floor
    # (15 + 10 + 30 < 60)
    assert (cooldown_seconds(short), drain_seconds(short)) == (540, 60)


def test_a_replica_takes_its_share_of_the_node() -> None:
    whole = pod_resources(plan({"model": "qwen2.5-7b-instruct"}))
    # a whole NC24ads_A100_v4 (24 vCPU, 220 GiB, 1 GPU): 24,000 x 0.9 - 1,000 = 20,600m;
    # 225,280 MiB x 0.85 - 4,096 = 187,392 MiB = 183 GiB; cache max(100, 2 x 14.19 -> 30) = 100 GiB
    assert (whole.gpu_resource, whole.gpus, whole.cpu_milli, whole.memory_gib) == (
        "nvidia.com/gpu",
        1,
        20600,
        183,
    )
    assert (whole.shm_gib, whole.cache_gib) == (2, 100)
    # (vLLM never runs time-sliced: rules.runtime refuses it; MIG slices share the node instead)
    sliced = {
        "name": "mig",
        "vmSize": "Standard_NC24ads_A100_v4",
        "driver": "operator",
        "purpose": "batch",
        "mig": "3g.40gb",
        "onDemand": {"min": 1, "max": 1},
    }
    half = pod_resources(plan({"model": "qwen2.5-7b-instruct"}, sliced))
    assert (half.gpu_resource, half.gpus) == ("nvidia.com/mig-3g.40gb", 1)
    assert (half.cpu_milli, half.memory_gib) == (10300, 91)  # 20,600 / 2 -> 10,300m; 187,392 / 2 MiB
    big = pod_resources(
        plan(
            {"model": "qwen2.5-72b-instruct"},
            {"name": "x4", "vmSize": "Standard_NC96ads_A100_v4", "onDemand": {"max": 1}},
        )
    )
    # 145.4e9 B (135.4 GiB) of weights fit TP 2 (79.32 GiB x 0.9 = 71.39 GiB usable per GPU, 67.7 GiB
    # of weights each, 1.39 GiB left after the 2.3 GiB overhead); /dev/shm 2 GiB x 2; cache 135.4 x 2 -> 280
    assert (big.gpus, big.shm_gib, big.cache_gib) == (2, 4, 280)


def test_scheduling_adapter_is_the_pools() -> None:
    p = plan({"model": "qwen2.5-7b-instruct"})
    s = workload_scheduling(p)
    assert s.node_selector == {"aks-llm/gpu-pool": "a100"} and s.gpu_resource_name == "nvidia.com/gpu"


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ({"runtime": "kaito", "replicas": {"min": 1, "max": 1}, "scaleToZero": False}, "Workspace"),
        ({"runtime": "kaito", "replicas": {"min": 1, "max": 2}, "scaleToZero": False}, "InferenceSet"),
        ({"runtime": "kaito"}, "InferenceSet"),  # scales to zero
        (
            {
                "runtime": "kaito",
                "replicas": {"min": 1, "max": 1},
                "scaleToZero": False,
                "schedule": {"minReplicas": 1},
            },
            "InferenceSet",
        ),
    ],
)
def test_kaito_kind(model: dict[str, Any], kind: str) -> None:
    p = plan({"model": "phi-4", **model})
    assert kaito_kind(p) == kind
    assert served_model_name(p) == (None if kind == "Workspace" else "m")


def test_replica_floor_follows_the_cost_estimates_floor() -> None:
    assert replica_floor(plan({"model": "phi-4"})) == 0
    assert replica_floor(plan({"model": "phi-4", "replicas": {"min": 2}, "scaleToZero": False})) == 2


def test_vllm_args_carry_quantization_and_the_load_target_scales_with_the_batch() -> None:
    p = plan({"model": "qwen2.5-7b-instruct", "quantization": "fp8"})
    args = vllm_args(p)
    assert args[args.index("--quantization") + 1] == "fp8_per_tensor"  # vLLM v0.31.0 name of online FP8
    assert "--quantization" not in vllm_args(plan({"model": "qwen2.5-7b-instruct"}))
    assert load_target(p) == int(p.sizing.max_num_seqs * 0.9)  # 90 % of one replica's batch
    one = plan({"model": "qwen2.5-7b-instruct", "workload": {"maxNumSeqs": 1}})
    assert load_target(one) == 1


def test_kaito_nodes_per_replica_falls_back_to_whole_nodes() -> None:
    assert kaito_nodes_per_replica(plan({"model": "phi-4", "runtime": "kaito"})) == 1
    custom = {
        "runtime": "kaito",
        "custom": {
            "hfId": "a/b",
            "parameters": 3_000_000_000,
            "layers": 28,
            "attentionHeads": 24,
            "kvHeads": 8,
            "headDim": 128,
            "contextLength": 8192,
        },
    }
    assert kaito_nodes_per_replica(plan(custom)) == 1


def test_wake_up_sources() -> None:
    serving = plan({"model": "phi-4"})
    assert wake_up_sources(serving, http_addon=True, queue=True) == ["http"]
    assert wake_up_sources(serving, http_addon=False, queue=True) == []
    batch = plan({"model": "phi-4", "purpose": "batch", "schedule": {"minReplicas": 1}})
    assert wake_up_sources(batch, http_addon=True, queue=True) == ["schedule", "queue"]
    kaito = plan({"model": "phi-4", "runtime": "kaito"})
    assert wake_up_sources(kaito, http_addon=True, queue=False) == []


def test_scale_down_stays_within_the_hpa_limits_for_very_long_generations() -> None:
    p = plan({"model": "qwen2.5-7b-instruct", "workload": {"p95CompletionTokens": 20000}})
    spec = scaled_object_spec(p, {"name": "m"}, [])
    assert spec["cooldownPeriod"] == 4020  # 2 x 20,000 / 10 s = 4,000 s in 30 s steps (KEDA: no limit)
    down = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] == 3600 and down["policies"][0]["periodSeconds"] == 1800


def test_awq_and_gptq_checkpoints_run_in_float16_even_where_the_gpu_has_bf16() -> None:
    # vLLM's AWQConfig/GPTQConfig accept torch.half activations only (the contract tier checks it).
    assert plan({"model": "qwen2.5-7b-instruct-awq", "quantization": "awq"}).dtype == "float16"
    assert plan({"model": "qwen2.5-7b-instruct-gptq-int4"}).dtype == "float16"
    assert plan({"model": "qwen2.5-7b-instruct"}).dtype == "bfloat16"  # the A100 has bf16
