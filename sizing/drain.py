"""How long a vLLM replica takes to leave: its preStop drain, its grace period, and the node-level caps
that must be at least as long (pure, no Pulumi).

A replica that is told to stop (scale-down, rollout, node drain for an upgrade or consolidation) must
finish the generations it is running. vLLM v0.31.0 does not do that on SIGTERM by default (read at the
wheel): its launcher's SIGTERM handler (``vllm/entrypoints/launchers/launcher.py:123-160``) shuts the
engine client down with ``vllm_config.shutdown_timeout``, which defaults to 0, "abort" mode
(``vllm/config/vllm.py:458-462``: "Any remaining requests are aborted once the timeout is reached"),
and only then cancels the HTTP server; ``api_server/entry.py:192`` awaits the server shutdown only after
the engine context is exited. So running requests are cut. The kubelet runs a
container's ``preStop`` hook before it sends SIGTERM, inside ``terminationGracePeriodSeconds``; so:

1. ``preStop`` first sleeps ``PRESTOP_SETTLE_SECONDS``: the pod is already terminating, so the
   EndpointSlice controller marks it not ready and kube-proxy/Cilium (and the KEDA HTTP add-on's
   interceptor, which watches endpoints) stop sending it new requests; requests already routed arrive;
2. then it polls ``vllm:num_requests_running`` on ``http://127.0.0.1:8000/metrics`` (the gauge of
   ``vllm/v1/metrics/loggers.py``, summed over engines) until it reads 0, at most the longest
   generation (``longest_generation_seconds``), and returns: SIGTERM follows;
3. ``SHUTDOWN_SECONDS`` remain for vLLM to exit on SIGTERM (engine core, workers, CUDA teardown).

``termination_grace_seconds`` is the sum, rounded up; every cap on it has to be at least as long, else
the cap cuts the drain short:

- the cluster autoscaler's ``max-graceful-termination-sec`` on scale-down (AKS default 600 s; the
  autoscaler gives a pod at most that long, whatever its own grace period);
- Karpenter's NodePool ``spec.template.spec.terminationGracePeriod`` (pods whose grace would run past
  it are deleted early, at node timeout minus their grace: karpenter.sh_nodepools CRD description);
- the agent pools' ``upgradeSettings.drainTimeoutInMinutes`` (AKS default 30 min per node; an upgrade
  fails when the node has not drained by then).

The rules (``rules.runtime.drains_fit_the_caps``) refuse a grace period longer than the autoscaler's
cap or an explicit NodePool ``terminationGracePeriod``; the program raises the NodePool default and the
upgrade drain timeout to fit. A spot eviction gives about 30 s (Azure Scheduled Events' Preempt
notice): no drain fits there, which is why a serving model never runs on spot alone (its floor must fit
on-demand, ``sizing.slots``).
"""

from __future__ import annotations

import math

from config.schema import GpuPoolConfig, ModelConfig, NodePoolConfig, StackConfig

# Decode speed one sequence still gets in a full batch. 10 tokens/s is a floor for 7-14B models at
# vLLM's batch sizes on T4-class GPUs and far below A100/H100 speeds: the longest generation it implies
# is an upper bound, which is what a cooldown and a drain need.
DECODE_TOKENS_PER_SECOND_FLOOR = 10
# Endpoint removal takes a few seconds to reach every kube-proxy/Cilium agent and the HTTP add-on's
# interceptor; 15 s covers the usual propagation with margin.
PRESTOP_SETTLE_SECONDS = 15
PRESTOP_POLL_SECONDS = 2
SHUTDOWN_SECONDS = 30  # vLLM's exit on SIGTERM after the drain: engine core, workers, CUDA teardown
GRACE_FLOOR_SECONDS = 60
GRACE_STEP_SECONDS = 30
# The AKS defaults the caps start from (az aks update --cluster-autoscaler-profile docs; the
# AgentPoolUpgradeSettings docstring of pulumi_azure_native 3.29: "If not specified, the default is
# 30 minutes").
AUTOSCALER_MAX_GRACEFUL_TERMINATION_DEFAULT = 600
UPGRADE_DRAIN_TIMEOUT_DEFAULT_MINUTES = 30
UPGRADE_DRAIN_TIMEOUT_MAX_MINUTES = 1440  # AKS accepts 1..1440
NODEPOOL_TERMINATION_GRACE_DEFAULT_SECONDS = 600  # as the autoscaler's cap: same bound in both modes


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


def longest_generation_seconds(model: ModelConfig) -> int:
    """p95 completion tokens at the decode-speed floor: how long one generation may take."""
    return math.ceil(model.workload.p95_completion_tokens / DECODE_TOKENS_PER_SECOND_FLOOR)


def prestop_bound_seconds(model: ModelConfig) -> int:
    """How long the preStop hook waits for running requests at most (after its settle sleep)."""
    return longest_generation_seconds(model)


def termination_grace_seconds(model: ModelConfig) -> int:
    """``terminationGracePeriodSeconds`` of a vLLM replica: settle + drain bound + shutdown, in 30 s
    steps, at least 60 s."""
    total = PRESTOP_SETTLE_SECONDS + prestop_bound_seconds(model) + SHUTDOWN_SECONDS
    return max(GRACE_FLOOR_SECONDS, _round_up(total, GRACE_STEP_SECONDS))


def drains_on_pool(model: ModelConfig) -> bool:
    """Whether the model's pods run on its pool's own nodes with the program's preStop: vLLM only
    (KAITO renders its pods itself, without a preStop; see ``components/kaito_model.py``)."""
    return model.runtime == "vllm"


def pool_grace_seconds(config: StackConfig, pool: str) -> int:
    """The longest grace period of the vLLM replicas on ``pool`` (0 when none runs there)."""
    graces = [termination_grace_seconds(m) for m in config.models if m.pool == pool and drains_on_pool(m)]
    return max(graces, default=0)


def upgrade_drain_timeout_minutes(config: StackConfig, pool: GpuPoolConfig, slots_per_node: int) -> int:
    """``upgradeSettings.drainTimeoutInMinutes`` of the pool's on-demand agent pool: the AKS default, or
    long enough to drain a node full of the pool's slowest replicas one after another (each model's
    PodDisruptionBudget lets one replica go at a time), at most AKS's 1440."""
    grace = pool_grace_seconds(config, pool.name)
    needed = math.ceil(grace * max(1, slots_per_node) / 60)
    return min(UPGRADE_DRAIN_TIMEOUT_MAX_MINUTES, max(UPGRADE_DRAIN_TIMEOUT_DEFAULT_MINUTES, needed))


def duration_seconds(text: str) -> int:
    """A Karpenter/AKS duration such as ``10m``, ``1h30m`` or ``90s`` in seconds."""
    total, number = 0, ""
    for ch in text:
        if ch.isdigit():
            number += ch
            continue
        total += int(number) * {"s": 1, "m": 60, "h": 3600}[ch]
        number = ""
    return total


def nodepool_termination_grace_seconds(config: StackConfig, pool: NodePoolConfig) -> int:
    """The NodePool's ``terminationGracePeriod`` in seconds: explicit, else the default raised to the
    longest grace period of the replicas pinned to it."""
    if pool.termination_grace_period is not None:
        return duration_seconds(pool.termination_grace_period)
    return max(NODEPOOL_TERMINATION_GRACE_DEFAULT_SECONDS, pool_grace_seconds(config, pool.name))


def karpenter_duration(seconds: int) -> str:
    """Seconds as a Karpenter duration (``^([0-9]+(s|m|h))+$``): whole minutes as ``Nm``."""
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
