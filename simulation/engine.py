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
from planning.stack_plan import StackPlan
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
        return len([p for p in self.pods if p.ready_at is not None and p.ready_at <= t])


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


# The weekly totals of each model (``ModelSim.totals``; ``simulation.summary`` reads them)
TOTALS = (
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
)
SERIES_KEYS = ("demand", "served", "desiredReplicas", "readyReplicas", "waiting", "failed")


@dataclass(frozen=True)
class SeriesDay:
    """The simulated seconds [lo, hi) whose per-minute series is kept (none: lo = hi = -1)."""

    lo: int
    hi: int

    @classmethod
    def of(cls, day: int | None) -> SeriesDay:
        if day is None:
            return cls(-1, -1)
        return cls(day * DAY_MINUTES * 60, (day + 1) * DAY_MINUTES * 60)

    def holds(self, t: float) -> bool:
        return self.lo <= t < self.hi


@dataclass
class Week:
    """The state of one simulated week: the models, their node groups, the series being kept and the
    requests failed in the current minute."""

    sims: list[ModelSim]
    groups: list[NodeGroup]
    start: int  # UTC week minute of the first step
    day: SeriesDay
    system: float  # the system pool's USD per hour
    series: dict[str, Any] = field(init=False)
    by_group: list[tuple[NodeGroup, list[ModelSim]]] = field(init=False)
    failed_minute: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        names = [s.name for s in self.sims]
        self.series = {
            "minute": [],
            "hourly": [],
            "models": {n: {k: [] for k in SERIES_KEYS} for n in names},
            "nodes": {g.name: [] for g in self.groups},
        }
        self.by_group = [(g, [s for s in self.sims if s.group is g]) for g in self.groups]
        self.failed_minute = dict.fromkeys(names, 0.0)


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
        _reset(s, start)
    _start_floors(sims, groups)
    week = Week(sims, groups, start, SeriesDay.of(series_day), _system_hourly(plan))
    for step in range(days * DAY_MINUTES * 60 // STEP_SECONDS):
        _step(week, step)
    return Run(start, sims, groups, week.series, week.system)


def _reset(s: ModelSim, start: int) -> None:
    """Zero totals; the replicas at the start: the floor, or the cron trigger's if its window is open."""
    s.totals = dict.fromkeys(TOTALS, 0.0)
    s.totals["firstAtZero"] = -1.0
    s.spec = max(s.floor, s.cron_replicas if s.cron_on and s.cron_on[start] else 0)


def _start_floors(sims: list[ModelSim], groups: list[NodeGroup]) -> None:
    """Every group at its minimum of nodes, and the starting replicas ready on ready nodes (added where
    the minimum does not hold them)."""
    for g in groups:
        g.fill_minimum()
    for g in groups:
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


def _step(week: Week, step: int) -> None:
    """One HPA sync step: every model's controllers, then every node group; the series once a minute."""
    t = float(step * STEP_SECONDS)
    minute = week.start + int(t // 60)
    in_day = week.day.holds(t)
    for s in week.sims:
        week.failed_minute[s.name] += _control(s, t, minute)
    for g, members in week.by_group:
        _run_group(g, members, t, minute, in_day=in_day)
    if step % SERIES_EVERY_STEPS == SERIES_EVERY_STEPS - 1:
        if in_day:
            _record(week, t, minute)
        week.failed_minute = dict.fromkeys(week.failed_minute, 0.0)


def _run_group(g: NodeGroup, members: list[ModelSim], t: float, minute: int, *, in_day: bool) -> None:
    """One step of a node group: bind and start pods, provision for the pending ones, mark empty nodes,
    scale down, and charge the step to its models."""
    g.provision(t, _bind_pods(g, members, t))
    for n in g.nodes:
        if n.used == 0 and n.empty_since is None and n.ready(t):
            n.empty_since = t
    g.scale_down(t, minute)
    _charge(g, members, in_day=in_day)


def _bind_pods(g: NodeGroup, members: list[ModelSim], t: float) -> int:
    """Bind unbound pods to nodes with free slots, start those whose node is ready; returns the GPU
    slots of the pods no node holds."""
    pending = 0
    for s in members:
        for pod in s.pods:
            if pod.node is None and not _place(g, pod, s.slots):
                pending += s.slots
                continue
            if pod.ready_at is None and pod.node.ready(t):
                _start_pod(s, pod, t)
    return pending


def _start_pod(s: ModelSim, pod: Pod, t: float) -> None:
    """A pod on a ready node starts: ready after the warm start; cold when its node came up for it."""
    pod.ready_at = t + s.warm_seconds
    pod.cold = pod.node.born >= pod.created
    s.totals["coldStarts" if pod.cold else "warmStarts"] += 1
    s.totals["longestStart"] = max(s.totals["longestStart"], pod.ready_at - pod.created)


def _charge(g: NodeGroup, members: list[ModelSim], *, in_day: bool) -> None:
    """The step's cost of the group's nodes, shared by its models in proportion to the GPU slots their
    pods hold (evenly when none holds any), and each model's GPU hours."""
    hourly = g.hourly() * STEP_SECONDS / 3600
    bound = [len([p for p in s.pods if p.node is not None]) for s in members]  # pods on a node
    total_used = sum(n * s.slots for n, s in zip(bound, members, strict=True))
    for n, s in zip(bound, members, strict=True):
        share = n * s.slots / total_used if total_used else 1 / len(members)
        s.totals["cost"] += hourly * share
        if in_day:
            s.totals["costDay"] += hourly * share
        s.totals["gpuHours"] += n * s.gpus_per_pod * STEP_SECONDS / 3600


def _record(week: Week, t: float, minute: int) -> None:
    """One point of the kept day's series: cost per hour, each model's demand and replicas, nodes."""
    series = week.series
    series["minute"].append(int((t - week.day.lo) // 60))
    series["hourly"].append(round(week.system + sum(g.hourly() for g in week.groups), 4))
    for s in week.sims:
        d = s.demand.at(minute)
        ready = s.ready(t)
        capacity = ready * s.plan.sizing.max_num_seqs
        row = series["models"][s.name]
        row["demand"].append(round(d, 3))
        row["served"].append(round(min(d, capacity), 3))
        row["desiredReplicas"].append(s.spec)
        row["readyReplicas"].append(ready)
        row["waiting"].append(round(max(0.0, d - capacity), 3))
        row["failed"].append(round(week.failed_minute[s.name], 4))
    for g in week.groups:
        series["nodes"][g.name].append(len(g.nodes))


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


@dataclass(slots=True)
class Observed:
    """What one model's controllers read at one step."""

    t: float
    minute: int
    demand: float
    ready: int
    cron_on: bool  # inside the cron trigger's window
    load: float  # what the load trigger reads: no pods, no series (ignoreNullValues reads 0)


def _control(s: ModelSim, t: float, minute: int) -> float:
    """KEDA and the HPA for one step; demand accounting. Returns the requests failed in the step."""
    d, ready = s.demand.at(minute), s.ready(t)
    cron_on = s.cron_on is not None and s.cron_on[minute % WEEK_MINUTES]
    now = Observed(t, minute, d, ready, cron_on, load=d if ready > 0 else 0.0)
    if s.cron_on is not None:  # without a schedule there is no window to pre-warm
        _track_prewarm(s, now)
    before = s.spec
    if int(t) % POLLING_SECONDS == 0:
        _keda_poll(s, now)
    if s.spec > 0 and s.spec == before:  # the HPA (not on a target at zero)
        _hpa(s, now)
    if s.spec != before:
        s.changes.append((t, 1 if s.spec > before else -1))
    while len(s.pods) < s.spec:
        s.pods.append(Pod(t))
    while len(s.pods) > s.spec:
        _remove_pod(s, t)
    return _account(s, now)


def _track_prewarm(s: ModelSim, now: Observed) -> None:
    """The pre-warm lag: from the cron window's opening until its replicas are ready."""
    if now.cron_on and not s.cron_was_on:
        s.window_opened = now.t
    s.cron_was_on = now.cron_on
    if s.window_opened is not None and now.ready >= s.cron_replicas:
        s.totals["prewarmLag"] = max(s.totals["prewarmLag"], now.t - s.window_opened)
        s.window_opened = None


def _keda_poll(s: ModelSim, now: Observed) -> None:
    """KEDA's poll: any active trigger wakes a model at zero; none for the cooldown returns it to zero
    (when its floor is zero)."""
    d = now.demand
    active = keda_active(now.load) or now.cron_on or (s.http and d > 0) or (s.queue and d > 0)
    if active:
        s.last_active = now.t
        if s.spec == 0:
            s.spec = max(1, s.floor)
    elif s.spec > 0 and s.floor == 0 and now.t - s.last_active > s.cooldown:
        s.spec = 0
        s.history.clear()
        s.up_history.clear()


def _recommendation(s: ModelSim, now: Observed) -> int:
    """The HPA's recommendation, the highest over its metrics (the load; the cron trigger's replicas;
    the HTTP add-on's requests), within the floor and the maximum."""
    rec = hpa_desired_replicas(s.spec, now.load, s.target)
    if s.cron_on is not None:
        rec = max(rec, hpa_desired_replicas(s.spec, float(s.cron_replicas if now.cron_on else 0), 1))
    if s.http:
        rec = max(rec, hpa_desired_replicas(s.spec, now.demand, s.plan.sizing.max_num_seqs))
    return max(max(1, s.floor), min(s.max_replicas, rec))


def _hpa(s: ModelSim, now: Observed) -> None:
    """One HPA sync: the recommendation, stabilised by the behaviour's windows, moved within its Pods
    policies."""
    t, rec = now.t, _recommendation(s, now)
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


def _account(s: ModelSim, now: Observed) -> float:
    """Demand accounting of one step: arrivals, waiting, time at zero under demand, requests delayed or
    failed. Returns the requests failed in the step."""
    tot, d = s.totals, now.demand
    arrivals = d / s.request_seconds * STEP_SECONDS
    tot["arrived"] += arrivals
    capacity = now.ready * s.plan.sizing.max_num_seqs
    waiting = max(0.0, d - capacity)
    tot["maxWaiting"] = max(tot["maxWaiting"], waiting)
    failed = 0.0
    if s.spec == 0 and d > 0:
        tot["atZeroSeconds"] += STEP_SECONDS
        if tot["firstAtZero"] < 0:
            tot["firstAtZero"] = float(now.minute)
    if now.ready == 0 and d > 0:
        if s.http:
            s.cohorts.append((now.t, arrivals))
        else:
            failed += arrivals
    elif d > 0:
        tot["delayed"] += arrivals * waiting / d
    if s.cohorts:
        failed = _release_cohorts(s, now, failed)
    tot["failed"] += failed
    return failed


def _release_cohorts(s: ModelSim, now: Observed, failed: float) -> float:
    """Requests the HTTP interceptor holds: delayed once a replica is ready, failed past its wait.
    Returns ``failed`` plus those that timed out."""
    tot = s.totals
    while s.cohorts and (now.ready > 0 or now.t - s.cohorts[0][0] > s.http_wait):
        born, n = s.cohorts.popleft()
        wait = now.t - born
        if wait > s.http_wait:
            failed += n
            tot["httpTimeouts"] += n
        else:
            tot["delayed"] += n
            tot["worstWait"] = max(tot["worstWait"], wait)
    return failed
