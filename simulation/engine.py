"""The simulated week of one stack, in HPA sync steps of 15 s (pure, deterministic).

Per step and model: demand; KEDA every polling interval (activity, scale from and to zero after the
cooldown); the HPA every step (max over its metrics of ceil(metric / target) with the 10 % tolerance,
the ScaledObject's behaviour: scale-down stabilisation window, one pod per policy period each way);
pods placed on free GPU slots (warm start) or waiting for a node (cold start); nodes by the cluster
autoscaler, Karpenter or KAITO. Sources of every rule: ``simulation.upstream``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from config.prices import local_book
from config.schema import GpuPoolConfig, NodePoolConfig
from cost.estimate import estimate_cost
from plan.stack_plan import StackPlan
from renderers.autoscaling import POLLING_SECONDS, scaled_object_spec
from simulation.nodes import STEP_SECONDS, NodeGroup, budget_rules
from simulation.traffic import Demand, request_seconds
from sizing.autoscaling import hpa_desired_replicas, keda_active, load_target, wake_up_sources
from sizing.business_hours import DAY_MINUTES, WEEK_MINUTES, inside, utc_offset_minutes, weekly_intervals
from sizing.deployments import ModelPlan
from sizing.nap import capacity_order, nodes_at_limits, sizing_sku
from sizing.node_selection import gpus_per_node
from sizing.queue_worker import queue_wakes
from sizing.slots import node_bounds, runs_on_pool
from sizing.workloads import (
    http_cold_start_wait_seconds,
    node_seconds,
    predicted_cold_start_seconds,
    replica_floor,
)

DAYS = 7
SERIES_EVERY_STEPS = 4  # one point a minute in the JSON and the plot


def cold_start_seconds(plan: ModelPlan, *, free_slot: bool) -> int:
    """THE cold-start figure of the simulation: the plan's predicted cold start (``sizing.cold_start``:
    node, image, weights, server; its high end in whole minutes) without a free GPU slot, the same less
    its node part with one."""
    total = predicted_cold_start_seconds(plan)
    return total - node_seconds(plan) if free_slot else total


def node_boot_seconds(plan: ModelPlan) -> int:
    """A GPU node from zero: the high end of the prediction's node part."""
    return node_seconds(plan)


def _seconds(text: str) -> float:
    return float(text.rstrip("smh")) * {"s": 1, "m": 60, "h": 3600}.get(text[-1], 1)


@dataclass
class Pod:
    created: float
    node: Any = None  # simulation.nodes.Node once placed
    ready_at: float | None = None
    cold: bool = False


@dataclass
class ModelSim:
    plan: ModelPlan
    demand: Demand
    group: NodeGroup
    floor: int
    max_replicas: int
    target: int
    slots: int  # per replica
    gpus_per_pod: float
    cooldown: int
    up_window: int  # the ScaledObject's behaviour (advanced.horizontalPodAutoscalerConfig)
    up_pods: int
    up_period: int
    down_window: int
    down_pods: int
    down_period: int
    cron_on: list[bool] | None  # per UTC minute of the week: inside the cron trigger's window
    cron_replicas: int
    http: bool
    http_wait: int
    queue: bool
    warm_seconds: int
    request_seconds: int
    spec: int = 0
    pods: list[Pod] = field(default_factory=list)
    last_active: float = 0.0
    history: deque[tuple[float, int]] = field(default_factory=deque)
    up_history: deque[tuple[float, int]] = field(default_factory=deque)
    ups: deque[tuple[float, int]] = field(default_factory=deque)
    downs: deque[tuple[float, int]] = field(default_factory=deque)
    cohorts: deque[tuple[float, float]] = field(default_factory=deque)
    changes: list[tuple[float, int]] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)

    name: str = ""
    cron_was_on: bool = False
    window_opened: float | None = None  # when the cron window last opened, until the pre-warm is ready

    def __post_init__(self) -> None:
        self.name = self.plan.config.name

    def ready(self, t: float) -> int:
        return sum(1 for p in self.pods if p.ready_at is not None and p.ready_at <= t)


def _agent_group(pool: GpuPoolConfig, plan: StackPlan, boot: int) -> NodeGroup:
    sku = plan.catalog.skus[pool.vm_size]
    book = local_book(plan.catalog.prices, plan.config.prices)
    quote = book.quote(sku.name)
    spot_price = book.spot_rate(sku.name, pool.spot.max_price if pool.spot else -1)[0]
    auto = plan.config.cluster.autoscaler
    return NodeGroup(
        name=pool.name,
        provisioner="cluster-autoscaler",
        slots_per_node=gpus_per_node(pool, sku),
        bounds={str(c): v for c, v in node_bounds(pool).items()},
        order=["on-demand", "spot"],  # the priority expander's order (sizing.agent_pools)
        prices={"on-demand": quote.on_demand or 0.0, "spot": spot_price or 0.0},
        boot_seconds=boot,
        scan_seconds=_seconds(
            auto.scan_interval if auto.scan_interval[-1] == "s" else auto.scan_interval + "s"
        ),
        unneeded_seconds=_seconds(auto.scale_down_unneeded_time),
        delay_after_add_seconds=_seconds(auto.scale_down_delay_after_add),
    )


def _nodepool_group(pool: NodePoolConfig, plan: StackPlan, boot: int) -> NodeGroup:
    sku = sizing_sku(pool, plan.catalog, plan.config)
    assert sku is not None  # the plan refused a NodePool without a sizing SKU
    book = local_book(plan.catalog.prices, plan.config.prices)
    quote = book.quote(sku.name)
    after = pool.disruption.consolidate_after
    return NodeGroup(
        name=pool.name,
        provisioner="karpenter",
        slots_per_node=sku.gpu_count,
        bounds={c: (0, nodes_at_limits(pool, sku).get(c, 0)) for c in ("on-demand", "spot")},
        order=list(capacity_order(pool)),
        prices={"on-demand": quote.on_demand or 0.0, "spot": book.spot_rate(sku.name, -1)[0] or 0.0},
        boot_seconds=boot,
        consolidate_after_seconds=None if after == "Never" else _seconds(after),
        budget_active=budget_rules(list(pool.disruption.budgets)),
    )


def build(
    plan: StackPlan, demands: dict[str, Demand], floors: dict[str, int] | None = None
) -> list[ModelSim]:
    """The simulated models with their node groups; ``floors`` overrides minReplicaCount per model."""
    config, catalog = plan.config, plan.catalog
    groups: dict[str, NodeGroup] = {}
    book = local_book(catalog.prices, config.prices)
    sims = []
    for mp in plan.model_plans:
        cfg = mp.config
        boot = node_boot_seconds(mp)
        if runs_on_pool(mp, config):
            if mp.pool.name not in groups:
                pool = mp.pool
                groups[pool.name] = (
                    _nodepool_group(pool, plan, boot)
                    if isinstance(pool, NodePoolConfig)
                    else _agent_group(pool, plan, boot)
                )
            group = groups[mp.pool.name]
            slots = 1 if mp.mig is not None else mp.sizing.gpus_per_replica
            gpus = slots / group.slots_per_node * mp.sku.gpu_count
        else:  # KAITO provisions the nodes of each replica itself (node pinning: the pool's SKU)
            nodes = mp.kaito_nodes
            price = (book.quote(mp.sku.name).on_demand or 0.0) * nodes
            group = NodeGroup(
                f"kaito-{cfg.name}",
                "kaito",
                1,
                {"on-demand": (0, mp.replicas_max), "spot": (0, 0)},
                ["on-demand"],
                {"on-demand": price, "spot": 0.0},
                boot,
            )
            slots, gpus = 1, float(nodes * mp.sku.gpu_count)
        spec = scaled_object_spec(mp, {}, [])
        behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        (up,), (down,) = behavior["scaleUp"]["policies"], behavior["scaleDown"]["policies"]
        assert up["type"] == down["type"] == "Pods"  # the rendered policies; Percent is not replayed
        floor = replica_floor(mp) if floors is None or cfg.name not in floors else floors[cfg.name]
        schedule = cfg.schedule
        cron = None
        if schedule is not None:
            windows = weekly_intervals(schedule, utc_offset_minutes(schedule.timezone) or 0)
            cron = [inside(m, windows) for m in range(WEEK_MINUTES)]
        wakes = wake_up_sources(
            mp, http_addon=config.addons.keda.http_addon.enabled, queue=queue_wakes(config) == cfg.name
        )
        sims.append(
            ModelSim(
                plan=mp,
                demand=demands[cfg.name],
                group=group,
                floor=floor,
                max_replicas=max(mp.replicas_max, floor),
                target=load_target(mp),
                slots=slots,
                gpus_per_pod=gpus,
                cooldown=int(spec["cooldownPeriod"]),
                up_window=int(behavior["scaleUp"]["stabilizationWindowSeconds"]),
                up_pods=int(up["value"]),
                up_period=int(up["periodSeconds"]),
                down_window=int(behavior["scaleDown"]["stabilizationWindowSeconds"]),
                down_pods=int(down["value"]),
                down_period=int(down["periodSeconds"]),
                cron_on=cron,
                cron_replicas=schedule.min_replicas if schedule else 0,
                http="http" in wakes,
                http_wait=http_cold_start_wait_seconds(
                    mp, config.addons.keda.http_addon.cold_start_timeout_seconds
                ),
                queue="queue" in wakes,
                warm_seconds=cold_start_seconds(mp, free_slot=True),
                request_seconds=request_seconds(cfg),
            )
        )
    return sims


def _system_hourly(plan: StackPlan) -> float:
    est = estimate_cost(plan.config, plan.catalog, plan.model_plans)
    return sum(r.hourly_at_min or 0.0 for r in est.rows if r.kind == "system")


@dataclass
class Run:
    """What one simulated week produced."""

    start_utc_minute: int
    sims: list[ModelSim]
    groups: list[NodeGroup]
    series: dict[str, Any]
    system_hourly: float


def week_start(plan: StackPlan) -> tuple[int, str, int]:
    """(UTC week minute of Monday 00:00 local, the time zone, its UTC offset in minutes): the first
    schedule's time zone, else UTC."""
    zone = next((m.schedule.timezone for m in plan.config.models if m.schedule is not None), "Etc/UTC")
    offset = utc_offset_minutes(zone) or 0
    return (DAY_MINUTES - offset) % WEEK_MINUTES, zone, offset


def simulate(
    plan: StackPlan,
    demands: dict[str, Demand],
    floors: dict[str, int] | None = None,
    days: int = DAYS,
    series_day: int | None = 2,
) -> Run:
    """Run ``days`` days from Monday 00:00 local; keep the per-minute series of day ``series_day``
    (0 = Monday)."""
    sims = build(plan, demands, floors)
    groups = list({id(s.group): s.group for s in sims}.values())
    start, _, _ = week_start(plan)
    for s in sims:
        s.totals = dict.fromkeys(
            (
                "delayed",
                "failed",
                "arrived",
                "gpuHours",
                "cost",
                "atZeroSeconds",
                "coldStarts",
                "warmStarts",
                "worstWait",
                "maxWaiting",
                "longestStart",
                "costDay",
                "httpTimeouts",
                "prewarmLag",
            ),
            0.0,
        )
        s.totals["firstAtZero"] = -1.0
        s.spec = max(s.floor, s.cron_replicas if s.cron_on and s.cron_on[start] else 0)
    for g in groups:
        g.fill_minimum()
    for g in groups:  # the floor's pods start on ready nodes
        members = [s for s in sims if s.group is g]
        need = sum(s.spec * s.slots for s in members)
        free = sum(n.slots for n in g.nodes)
        if need > free:
            g.add(0.0, math.ceil((need - free) / g.slots_per_node), ready_now=True)
        for s in members:
            for _ in range(s.spec):
                pod = Pod(0.0)
                _place(g, pod, s.slots)
                pod.ready_at = 0.0
                s.pods.append(pod)
    names = [s.name for s in sims]
    series: dict[str, Any] = {
        "minute": [],
        "hourly": [],
        "models": {
            n: {k: [] for k in ("demand", "served", "desiredReplicas", "readyReplicas", "waiting", "failed")}
            for n in names
        },
        "nodes": {g.name: [] for g in groups},
    }
    system = _system_hourly(plan)
    by_group = [(g, [s for s in sims if s.group is g]) for g in groups]
    failed_minute = dict.fromkeys(names, 0.0)
    steps = days * DAY_MINUTES * 60 // STEP_SECONDS
    day_lo, day_hi = (
        (series_day * DAY_MINUTES * 60, (series_day + 1) * DAY_MINUTES * 60)
        if series_day is not None
        else (-1, -1)
    )
    for step in range(steps):
        t = float(step * STEP_SECONDS)
        minute = start + int(t // 60)
        for s in sims:
            failed_minute[s.name] += _control(s, t, minute)
        for g, members in by_group:
            pending = 0
            for s in members:
                for pod in s.pods:
                    if pod.node is None and not _place(g, pod, s.slots):
                        pending += s.slots
                        continue
                    if pod.ready_at is None and pod.node.ready(t):
                        pod.ready_at = t + s.warm_seconds
                        pod.cold = pod.node.born >= pod.created
                        s.totals["coldStarts" if pod.cold else "warmStarts"] += 1
                        s.totals["longestStart"] = max(s.totals["longestStart"], pod.ready_at - pod.created)
            g.provision(t, pending)
            for n in g.nodes:
                if n.used == 0 and n.empty_since is None and n.ready(t):
                    n.empty_since = t
            g.scale_down(t, minute)
            hourly = g.hourly() * STEP_SECONDS / 3600
            used = {s.name: sum(s.slots for p in s.pods if p.node is not None) for s in members}
            total_used = sum(used.values())
            for s in members:
                share = used[s.name] / total_used if total_used else 1 / len(members)
                s.totals["cost"] += hourly * share
                if day_lo <= t < day_hi:
                    s.totals["costDay"] += hourly * share
                s.totals["gpuHours"] += (
                    sum(1 for p in s.pods if p.node is not None) * s.gpus_per_pod * STEP_SECONDS / 3600
                )
        if day_lo <= t < day_hi and step % SERIES_EVERY_STEPS == SERIES_EVERY_STEPS - 1:
            series["minute"].append(int((t - day_lo) // 60))
            series["hourly"].append(round(system + sum(g.hourly() for g in groups), 4))
            for s in sims:
                d = s.demand.at(minute)
                ready = s.ready(t)
                row = series["models"][s.name]
                row["demand"].append(round(d, 3))
                row["served"].append(round(min(d, ready * s.plan.sizing.max_num_seqs), 3))
                row["desiredReplicas"].append(s.spec)
                row["readyReplicas"].append(ready)
                row["waiting"].append(round(max(0.0, d - ready * s.plan.sizing.max_num_seqs), 3))
                row["failed"].append(round(failed_minute[s.name], 4))
            for g in groups:
                series["nodes"][g.name].append(len(g.nodes))
        if step % SERIES_EVERY_STEPS == SERIES_EVERY_STEPS - 1:
            failed_minute = dict.fromkeys(names, 0.0)
    return Run(start, sims, groups, series, system)


def _place(group: NodeGroup, pod: Pod, slots: int) -> bool:
    """Bind a pod to a node (ready or booting) with free GPU slots, first fit."""
    for node in group.nodes:
        if node.slots - node.used >= slots:
            node.used += slots
            node.empty_since = None
            pod.node = node
            return True
    return False


def _windowed(history: deque[tuple[float, int]], t: float, rec: int, window: int, *, highest: bool) -> int:
    """The highest (lowest) recommendation within (t - window, t], ``rec`` included: a monotonic deque
    whose head is the answer."""
    while history and (history[-1][1] <= rec if highest else history[-1][1] >= rec):
        history.pop()
    history.append((t, rec))
    while history[0][0] <= t - window and len(history) > 1:
        history.popleft()
    return history[0][1]


def _remove_pod(s: ModelSim, t: float) -> None:
    order = sorted(
        s.pods, key=lambda p: (p.node is not None, p.ready_at is not None and p.ready_at <= t, p.created)
    )
    pod = order[0]
    s.pods.remove(pod)
    if pod.node is not None:
        pod.node.used -= s.slots
        if pod.node.used == 0:
            pod.node.empty_since = t


def _control(s: ModelSim, t: float, minute: int) -> float:
    """KEDA and the HPA for one step; demand accounting. Returns the requests failed in the step."""
    d = s.demand.at(minute)
    ready = s.ready(t)
    cron_on = s.cron_on is not None and s.cron_on[minute % WEEK_MINUTES]
    load = d if ready > 0 else 0.0  # no pods, no series: ignoreNullValues reads 0
    if cron_on and not s.cron_was_on:
        s.window_opened = t
    s.cron_was_on = cron_on
    if s.window_opened is not None and ready >= s.cron_replicas:
        s.totals["prewarmLag"] = max(s.totals["prewarmLag"], t - s.window_opened)
        s.window_opened = None
    before = s.spec
    if int(t) % POLLING_SECONDS == 0:  # KEDA's poll
        active = keda_active(load) or cron_on or (s.http and d > 0) or (s.queue and d > 0)
        if active:
            s.last_active = t
            if s.spec == 0:
                s.spec = max(1, s.floor)
        elif s.spec > 0 and s.floor == 0 and t - s.last_active > s.cooldown:
            s.spec = 0
            s.history.clear()
            s.up_history.clear()
    if s.spec > 0 and s.spec == before:  # the HPA (not on a target at zero)
        metrics = [(load, s.target)]
        if s.cron_on is not None:
            metrics.append((float(s.cron_replicas if cron_on else 0), 1))
        if s.http:
            metrics.append((d, s.plan.sizing.max_num_seqs))
        rec = max(hpa_desired_replicas(s.spec, v, tgt) for v, tgt in metrics)
        rec = max(max(1, s.floor), min(s.max_replicas, rec))
        # stabilizeRecommendationWithBehaviors: up to the lowest recommendation of the scale-up window,
        # down to the highest of the scale-down window (recommendations strictly newer than now - window)
        up_rec = _windowed(s.up_history, t, rec, s.up_window, highest=False)
        down_rec = _windowed(s.history, t, rec, s.down_window, highest=True)
        # the Pods policies: at most `value` pods added (removed) within `periodSeconds`
        while s.ups and s.ups[0][0] <= t - s.up_period:
            s.ups.popleft()
        while s.downs and s.downs[0][0] <= t - s.down_period:
            s.downs.popleft()
        if up_rec > s.spec:
            step = min(up_rec - s.spec, s.up_pods - sum(n for _, n in s.ups))
            if step > 0:
                s.spec += step
                s.ups.append((t, step))
        elif down_rec < s.spec:
            step = min(s.spec - down_rec, s.down_pods - sum(n for _, n in s.downs))
            if step > 0:
                s.spec -= step
                s.downs.append((t, step))
    if s.spec != before:
        s.changes.append((t, 1 if s.spec > before else -1))
    while len(s.pods) < s.spec:
        s.pods.append(Pod(t))
    while len(s.pods) > s.spec:
        _remove_pod(s, t)
    # demand accounting
    tot = s.totals
    arrivals = d / s.request_seconds * STEP_SECONDS
    tot["arrived"] += arrivals
    capacity = ready * s.plan.sizing.max_num_seqs
    waiting = max(0.0, d - capacity)
    tot["maxWaiting"] = max(tot["maxWaiting"], waiting)
    failed = 0.0
    if s.spec == 0 and d > 0:
        tot["atZeroSeconds"] += STEP_SECONDS
        if tot["firstAtZero"] < 0:
            tot["firstAtZero"] = float(minute)
    if ready == 0 and d > 0:
        if s.http:
            s.cohorts.append((t, arrivals))
        else:
            failed += arrivals
    elif d > 0:
        tot["delayed"] += arrivals * waiting / d
    while s.cohorts and (ready > 0 or t - s.cohorts[0][0] > s.http_wait):
        born, n = s.cohorts.popleft()
        wait = t - born
        if wait > s.http_wait:
            failed += n
            tot["httpTimeouts"] += n
        else:
            tot["delayed"] += n
            tot["worstWait"] = max(tot["worstWait"], wait)
    tot["failed"] += failed
    return failed
