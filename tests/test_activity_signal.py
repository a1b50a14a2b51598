"""The KEDA activity signal of a vLLM model: running + waiting requests per replica, checked against
KEDA's activation rule and the HPA's own arithmetic (desired = ceil(total / target), 10 % tolerance,
scale-down after the stabilisation window's highest recommendation, one pod per window).

Sources: kedacore/keda pkg/scalers/prometheus_scaler.go (GetMetricsAndActivity: active when
``val > ActivationThreshold``; one-element result sets only); vllm v0.11.0 vllm/v1/metrics/loggers.py
(``vllm:num_requests_running`` and ``vllm:num_requests_waiting`` gauges); Kubernetes HPA algorithm
(autoscaling/v2 External metrics with an AverageValue target, --horizontal-pod-autoscaler-tolerance 0.1).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from renderers.autoscaling import LOAD_RECORD, load_query, load_rule_expression
from sizing.autoscaling import (
    LOAD_METRICS,
    hpa_desired_replicas,
    keda_active,
    load_target,
    simulate_hpa,
)
from tests.conftest import planned
from tools.plan import kubernetes_manifests

MNS = 148  # prod qwen7b's max-num-seqs on a 3g.40gb slice (36.35 GiB CUDA budget, gpu-memory.yaml)
TARGET = 133  # 90 % of it, rounded down
OLD_WAITING_THRESHOLD = 16  # the queue-only trigger's threshold before (10 % of a batch)


def _scaled(stack: str, model: str) -> dict[str, Any]:
    run = planned(stack)[1]
    (so,) = [
        m
        for m in kubernetes_manifests(run.resources)
        if m["kind"] == "ScaledObject" and m["metadata"]["name"] == model
    ]
    spec: dict[str, Any] = so["spec"]
    return spec


def _run(loads: list[float], signal: str = "load", start: int = 1, max_replicas: int = 3) -> list[int]:
    target = TARGET if signal == "load" else OLD_WAITING_THRESHOLD
    return simulate_hpa(
        loads,
        target=target,
        max_num_seqs=MNS,
        min_replicas=1,
        max_replicas=max_replicas,
        start=start,
        step_seconds=30,  # KEDA's polling interval
        scale_down_window_seconds=300,  # prod qwen7b's cooldown and stabilisation window
        signal=signal,
    )


def test_the_rendered_trigger_is_running_plus_waiting_per_replica() -> None:
    spec = _scaled("prod", "qwen7b")
    (prom,) = [t for t in spec["triggers"] if t["type"] == "prometheus"]
    assert prom["metricType"] == "AverageValue"
    assert prom["metadata"]["query"] == load_query("inference", "qwen7b")
    # the recorded sum of both gauges (renderers.autoscaling.load_recording_rule; tests/test_load_rule.py)
    assert prom["metadata"]["query"].startswith(f"sum({LOAD_RECORD}{{")
    assert set(LOAD_METRICS) <= set(re.findall(r"vllm:\w+", load_rule_expression()))
    assert prom["metadata"]["threshold"] == str(TARGET) and prom["metadata"]["activationThreshold"] == "0"
    window = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    # the cooldown's floor is the cold start's low end (393 s from Blob on an NC A100 node, the wait
    # container's image and marker check included -> 420 s)
    assert window["stabilizationWindowSeconds"] == 420
    assert any(t["type"] == "cron" for t in spec["triggers"])  # the business-hours pre-warm stays


def test_target_is_ninety_percent_of_the_batch() -> None:
    run = planned("prod")[1]
    (plan,) = [r for r in run.outputs["sizing"] if r["name"] == "qwen7b"]
    assert plan["maxNumSeqs"] == MNS and int(MNS * 0.9) == TARGET


@pytest.mark.parametrize("running", [1, MNS // 2, MNS])
def test_a_busy_server_never_reads_as_idle(running: int) -> None:
    # Running up to max-num-seqs with nothing queued: the new signal is the running count, active.
    assert keda_active(running + 0)
    # The old queue-only signal read 0 there: KEDA deactivated and scaled a busy server to zero.
    assert not keda_active(0)


def test_hpa_formula_and_tolerance() -> None:
    assert hpa_desired_replicas(2, 2 * TARGET * 1.05, TARGET) == 2  # within 10 %: unchanged
    assert hpa_desired_replicas(2, 2 * TARGET * 0.95, TARGET) == 2
    assert hpa_desired_replicas(2, 2 * TARGET * 1.2, TARGET) == 3  # ceil(319.2 / 133)
    assert hpa_desired_replicas(2, TARGET * 0.5, TARGET) == 1


def test_steady_load_holds_a_steady_replica_count() -> None:
    replicas = _run([200.0] * 60)  # 30 min of 200 concurrent requests: more than one batch
    assert replicas[2:] == [2] * 58  # up to ceil(200 / 133) = 2 and stays there, queue drained or not


def test_noisy_steady_load_within_the_tolerance_does_not_flap() -> None:
    loads = [2 * TARGET * (1 + (0.08 if i % 2 else -0.08)) for i in range(60)]
    assert set(_run(loads, start=2)) == {2}


def test_the_old_queue_only_signal_oscillated_under_the_same_steady_load() -> None:
    replicas = _run([200.0] * 60, signal="waiting")
    changes = sum(1 for a, b in itertools.pairwise(replicas) if a != b)
    assert changes >= 6  # 2 replicas drain the queue -> waiting 0 -> back to 1 -> queue -> 2 ...


def test_a_drop_in_load_scales_down_one_replica_per_window() -> None:
    replicas = _run([500.0] * 10 + [100.0] * 50, max_replicas=4)
    assert max(replicas) == 4 and replicas[-1] == 1
    drops = [i for i, (a, b) in enumerate(itertools.pairwise(replicas)) if b < a]
    assert all(b - a >= 300 // 30 for a, b in itertools.pairwise(drops))  # >= one window apart


def test_load_target_is_at_least_one() -> None:
    from tests.test_workloads import plan

    assert load_target(plan({"model": "qwen2.5-7b-instruct", "workload": {"maxNumSeqs": 1}})) == 1
