"""The simulated week read back: the day's series, a summary per model, warm capacity compared, and
the findings a stack must fix or acknowledge (``simulation.acknowledged``)."""

from __future__ import annotations

from typing import Any

from cost.estimate import DAYS_PER_MONTH, estimate_cost
from planning.stack_plan import StackPlan
from simulation.engine import DAYS, Run, node_boot_seconds, simulate, week_start
from simulation.traffic import Demand
from sizing.business_hours import HOURS_PER_WEEK
from sizing.slots import runs_on_pool
from sizing.workloads import replica_floor

WEEKS_PER_MONTH = 730.0 / HOURS_PER_WEEK
# Oscillation: more than this many replica changes within one hour whose demand stays within 10 %
# (steady): the HPA's 10 % tolerance and the ScaledObject's stabilisation window should hold it still.
OSCILLATION_CHANGES_PER_HOUR = 4
STEADY_SPREAD = 0.10


def _month(week_value: float) -> float:
    return round(week_value * WEEKS_PER_MONTH, 2)


def _oscillating_hours(run: Run, name: str) -> int:
    sim = next(s for s in run.sims if s.name == name)
    hours = 0
    for hour in range(DAYS * 24):
        lo, hi = hour * 3600, (hour + 1) * 3600
        values = [sim.demand.at(run.start_utc_minute + hour * 60 + m) for m in range(60)]
        if min(values) <= 0 or max(values) > min(values) * (1 + STEADY_SPREAD):
            continue
        if sum(1 for t, _ in sim.changes if lo <= t < hi) > OSCILLATION_CHANGES_PER_HOUR:
            hours += 1
    return hours


def model_summary(run: Run, static: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in run.sims:
        t = s.totals
        row = static.get(s.name, {})
        out.append(
            {
                "name": s.name,
                "floor": s.floor,
                "coldStarts": int(t["coldStarts"]),
                "warmStarts": int(t["warmStarts"]),
                "predictedColdStartSeconds": s.group.boot_seconds + s.warm_seconds,
                "warmStartSeconds": s.warm_seconds,
                "worstColdStartWaitSeconds": round(t["worstWait"]),
                "longestReplicaStartSeconds": round(t["longestStart"]),
                # from the schedule's start to its minReplicas ready (the cron trigger acts at the start)
                "prewarmReadyAfterSeconds": round(t["prewarmLag"]) if s.cron_on is not None else None,
                "costOfTheDay": round(t["costDay"], 2),
                "costOfAMonthOfSuchDays": round(t["costDay"] * DAYS_PER_MONTH, 2),
                "requestsPerWeek": round(t["arrived"]),
                "requestsDelayedPerWeek": round(t["delayed"]),
                "requestsFailedPerWeek": round(t["failed"]),
                "httpTimeoutsPerWeek": round(t["httpTimeouts"]),
                "maxWaiting": round(t["maxWaiting"], 1),
                "secondsAtZeroUnderDemandPerWeek": int(t["atZeroSeconds"]),
                "gpuHoursPerWeek": round(t["gpuHours"], 1),
                "costPerWeek": round(t["cost"], 2),
                "costPerMonth": _month(t["cost"]),
                "staticEstimatePerMonth": row.get("monthly"),
                "oscillatingHours": _oscillating_hours(run, s.name),
            }
        )
    return out


def day_totals(run: Run) -> dict[str, Any]:
    hourly = run.series["hourly"]
    cost_day = sum(hourly) / 60
    return {"costOfTheDay": round(cost_day, 2), "costOfAMonthOfSuchDays": round(cost_day * DAYS_PER_MONTH, 2)}


def findings(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in models:
        if m["secondsAtZeroUnderDemandPerWeek"] > 0:
            out.append(
                {
                    "model": m["name"],
                    "finding": "at-zero-under-demand",
                    "detail": f"0 replicas while requests arrive for "
                    f"{m['secondsAtZeroUnderDemandPerWeek'] // 60} "
                    f"min a week (nothing wakes it; {m['requestsFailedPerWeek']} requests fail)",
                }
            )
        if m["oscillatingHours"] > 0:
            out.append(
                {
                    "model": m["name"],
                    "finding": "oscillation",
                    "detail": f"more than {OSCILLATION_CHANGES_PER_HOUR} replica changes an hour under "
                    "steady "
                    f"demand in {m['oscillatingHours']} hour(s) a week",
                }
            )
        if m["httpTimeoutsPerWeek"] > 0:
            out.append(
                {
                    "model": m["name"],
                    "finding": "cold-start-timeouts",
                    "detail": f"{m['httpTimeoutsPerWeek']} requests a week answered 504 by the HTTP add-on "
                    "after waiting its conditionWait for a cold start",
                }
            )
    return out


def warm_capacity(
    plan: StackPlan, demands: dict[str, Demand], base: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per serving model: the configured floor against one replica more and one less (a week each)."""
    out = []
    for mp in plan.model_plans:
        if mp.config.purpose != "serving":
            continue
        floor = replica_floor(mp)
        rows = []
        for value in sorted({max(0, floor - 1), floor, floor + 1}):
            if value == floor:
                m = next(r for r in base if r["name"] == mp.config.name)
            else:
                m = model_summary(simulate(plan, demands, {mp.config.name: value}, series_day=None), {})[
                    [p.config.name for p in plan.model_plans].index(mp.config.name)
                ]
            rows.append(
                {
                    "floor": value,
                    "configured": value == floor,
                    "requestsDelayedPerMonth": _month(m["requestsDelayedPerWeek"]),
                    "requestsFailedPerMonth": _month(m["requestsFailedPerWeek"]),
                    "gpuHoursPerMonth": _month(m["gpuHoursPerWeek"]),
                    "costPerMonth": m["costPerMonth"],
                }
            )
        out.append({"model": mp.config.name, "floors": rows})
    return out


def report(plan: StackPlan, demands: dict[str, Demand], *, variants: bool = True) -> dict[str, Any]:
    """The JSON document of ``tools.simulate``."""
    run = simulate(plan, demands)
    est = estimate_cost(plan.config, plan.catalog, plan.model_plans)
    static = {m["name"]: m for m in est.models}
    models = model_summary(run, static)
    acks = {(a.model, a.finding): a.reason for a in plan.config.simulation.acknowledged}
    found = [{**f, "acknowledged": acks.get((f["model"], f["finding"]))} for f in findings(models)]
    seen = {(f["model"], f["finding"]) for f in found}
    stale = [{"model": m, "finding": f} for m, f in acks if (m, f) not in seen]
    _, zone, offset = week_start(plan)
    return {
        "stack": None,
        "stepSeconds": 15,
        "timezone": zone,
        "utcOffsetMinutes": offset,
        "day": "Wednesday (local), one point a minute",
        "demandSource": {n: d.source for n, d in demands.items()},
        "series": run.series,
        **day_totals(run),
        "staticEstimatePerMonth": est.to_dict()["monthly"]["total"],
        "weekCostPerMonth": _month(
            sum(s.totals["cost"] for s in run.sims) + run.system_hourly * HOURS_PER_WEEK
        ),
        "models": models,
        "warmCapacity": warm_capacity(plan, demands, models) if variants else [],
        "findings": found,
        "acknowledgedNotFound": stale,
        "notes": provision_notes(plan),
    }


def provision_notes(plan: StackPlan) -> list[str]:
    """Where a predicted node boot exceeds the cluster autoscaler's maxNodeProvisionTime: the autoscaler
    gives up on such a node (flags.go:127, "maximum time CA waits for node to be provisioned") and backs
    the node group off, which the simulation does not replay (it lets the node arrive)."""
    if plan.config.node_provisioning.mode == "nap":
        return []
    limit = int(plan.config.cluster.autoscaler.max_node_provision_time.rstrip("m")) * 60
    return [
        f"{mp.config.name}: a node boots in {node_boot_seconds(mp)} s (predicted), longer than "
        f"maxNodeProvisionTime ({limit} s): the cluster autoscaler would give up on it; raise "
        "cluster.autoscaler.maxNodeProvisionTime"
        for mp in plan.model_plans
        if runs_on_pool(mp, plan.config) and node_boot_seconds(mp) > limit
    ]
