"""The sizing model of a model's KEDA autoscaling (pure, no Pulumi): the load signal and its per-replica
target, the HPA's arithmetic the design is checked against, and what can wake a model from zero.

A model at zero replicas has no pods and so no metrics: only the schedule, the queue or the HTTP
add-on (which holds the first request) can wake it. ``wake_up_sources`` names which apply. The
ScaledObject and its triggers are rendered in ``renderers/autoscaling.py``.
"""

from __future__ import annotations

import math

from sizing.deployments import ModelPlan

# The load signal. vLLM's gauges (vllm/v1/metrics/loggers.py:508-525 at v0.31.0, labels model_name and
# engine; registered names checked by the contract tier: `vllm:num_requests_running`,
# "Number of requests in model execution batches", and `vllm:num_requests_waiting`, "Number of requests
# waiting to be processed") split one quantity: the requests a replica holds. The queue alone is 0 on a
# server running up to max-num-seqs requests (KEDA would read it as idle and scale it to zero), and it
# drops to 0 as soon as a new replica absorbs it (the HPA would then remove that replica again, and the
# queue would come back: oscillation). Running + waiting, summed over the model's pods, is the offered
# concurrency, which does not change when replicas are added or removed; divided by a per-replica
# target it gives a replica count that holds while the load holds (``hpa_desired_replicas``).
# Target: 90 % of one replica's batch, so a replica scales out before its batch is full and the queue
# grows, and the HPA's 10 % tolerance cannot leave a full batch plus a queue in place.
LOAD_TARGET_FRACTION_OF_BATCH = 0.90
LOAD_METRICS = ("vllm:num_requests_running", "vllm:num_requests_waiting")
# KEDA's Prometheus scaler is active when the value is strictly above activationThreshold
# (kedacore/keda pkg/scalers/prometheus_scaler.go GetMetricsAndActivity: `val > ActivationThreshold`):
# 0 keeps the model active while any request runs or waits.
LOAD_ACTIVATION_THRESHOLD = 0
# The HPA's arithmetic the design is checked against (kubernetes/kubernetes
# pkg/controller/podautoscaler/replica_calculator.go GetExternalPerPodMetricReplicas, an External metric
# with an AverageValue target: usageRatio = total / (target x current replicas); replicas change to
# ceil(total / target) only when |1 - usageRatio| > tolerance; --horizontal-pod-autoscaler-tolerance 0.1).
HPA_TOLERANCE = 0.10
HTTP_ADDON_SCALED_OBJECT_SUFFIX = "-http"


def load_target(plan: ModelPlan) -> int:
    """Requests (running + waiting) per replica the autoscaler aims at: 90 % of max-num-seqs, >= 1."""
    return max(1, math.floor(plan.sizing.max_num_seqs * LOAD_TARGET_FRACTION_OF_BATCH))


def wake_up_sources(plan: ModelPlan, *, http_addon: bool, queue: bool) -> list[str]:
    """What can scale the model up from zero replicas (empty when it never sits at zero).
    ``queue``: the async queue's worker calls this model (``sizing.queue_worker.queue_target``)."""
    cfg = plan.config
    sources = []
    if cfg.schedule is not None:
        sources.append("schedule")
    if queue and cfg.purpose == "batch":
        sources.append("queue")
    if http_addon and cfg.runtime == "vllm" and cfg.purpose == "serving":
        sources.append("http")
    return sources


# --- the HPA's arithmetic, to check the design against (pure) ---------------------------------------


def keda_active(value: float, activation_threshold: float = LOAD_ACTIVATION_THRESHOLD) -> bool:
    """KEDA's Prometheus activity test: ``val > activationThreshold`` (prometheus_scaler.go)."""
    return value > activation_threshold


def hpa_desired_replicas(
    current: int, metric_total: float, target: float, tolerance: float = HPA_TOLERANCE
) -> int:
    """The HPA's recommendation for an External ``AverageValue`` metric: ``ceil(total / target)``,
    unless the usage ratio ``total / (target x current)`` is within the tolerance of 1."""
    if current == 0:
        return math.ceil(metric_total / target)
    ratio = metric_total / (target * current)
    if abs(ratio - 1.0) <= tolerance:
        return current
    return math.ceil(metric_total / target)


def simulate_hpa(
    loads: list[float],
    *,
    target: float,
    max_num_seqs: int,
    min_replicas: int,
    max_replicas: int,
    start: int,
    step_seconds: int,
    scale_down_window_seconds: int,
    scale_up_pods_per_minute: int = 1,
    signal: str = "load",
) -> list[int]:
    """Replica counts, one per step, of an HPA following ``loads`` (offered concurrent requests per step).

    ``signal`` is what the metric reads given the load and the replicas serving it: ``"load"`` (running
    + waiting: the load itself) or ``"waiting"`` (the old queue-only signal: what does not fit in the
    replicas' batches). Scale-down uses the highest recommendation of the stabilisation window and at
    most one pod per window (the ScaledObject's policy); scale-up at most ``scale_up_pods_per_minute``.
    """
    replicas = start
    history: list[int] = []
    out: list[int] = []
    since_down = scale_down_window_seconds
    since_up = 60
    window = max(1, scale_down_window_seconds // step_seconds)
    for load in loads:
        metric = load if signal == "load" else max(0.0, load - replicas * max_num_seqs)
        wanted = hpa_desired_replicas(replicas, metric, target)
        wanted = max(min_replicas, min(max_replicas, wanted))
        history = [*history, wanted][-window:]
        since_down += step_seconds
        since_up += step_seconds
        if wanted > replicas:
            if since_up >= 60:  # the scale-up policy: at most N pods per 60 s
                replicas = min(wanted, replicas + scale_up_pods_per_minute)
                since_up = 0
        elif max(history) < replicas and since_down >= scale_down_window_seconds:
            replicas -= 1  # the scale-down policy: one pod per window, after the window's highest
            since_down = 0
        out.append(replicas)
    return out
