"""The traffic simulation (tools.simulate): each upstream rule it replays, hand-computed small traces,
and a simulated week for every committed stack.

Sources of the rules: simulation/upstream.py (KEDA v2.19.0, the Kubernetes HPA, cluster-autoscaler
1.35, Karpenter v1.14, the KEDA HTTP add-on v0.15.0, vLLM).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from config.catalog import load_catalog
from config.schema import DisruptionBudgetConfig, StackConfig
from planning.stack_plan import StackPlan, plan_stack
from simulation.engine import cold_start_seconds, node_boot_seconds, simulate
from simulation.nodes import NodeGroup, budget_rules
from simulation.summary import OSCILLATION_CHANGES_PER_HOUR, findings, report
from simulation.traffic import Demand, TrafficFileError, model_demand, read_traffic_file, request_seconds
from sizing.autoscaling import hpa_desired_replicas, keda_active
from sizing.business_hours import WEEK_MINUTES
from sizing.workloads import node_seconds, predicted_cold_start_seconds
from tests.conftest import ROOT
from tools.plan import stack_plan
from tools.simulate import main
from tools.stack_config import load_stack_settings

MONDAY = 1440  # UTC week minute of Monday 00:00 (Etc/UTC stacks start there)


def _plan(model: dict[str, Any], pool: dict[str, Any] | None = None, **extra: Any) -> StackPlan:
    pool = pool or {"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"min": 0, "max": 2}}
    config = StackConfig.model_validate(
        {
            "location": "swedencentral",
            "cluster": {"apiServer": {"privateCluster": True}},
            "gpuPools": [pool],
            "models": [{"name": "m", "model": "qwen2.5-7b-instruct", "pool": pool["name"], **model}],
            **extra,
        }
    )
    return plan_stack(config, load_catalog())


def _demand(value: float, start: int, minutes: int, base: float = 0.0) -> dict[str, Demand]:
    """``value`` concurrent requests from ``start`` minutes after Monday 00:00 UTC, ``base`` otherwise."""
    per = [base] * WEEK_MINUTES
    for m in range(start, start + minutes):
        per[MONDAY + m] = value
    return {"m": Demand("m", per, "test")}


THREE_A100 = {"name": "a100", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"min": 3, "max": 3}}
STOCKHOLM = {
    "timezone": "Europe/Stockholm",
    "start": "08:00",
    "end": "18:00",
    "days": "1-5",
    "minReplicas": 1,
}
HTTP_ON = {"addons": {"keda": {"httpAddon": {"enabled": True}}}}


# --- the upstream rules --------------------------------------------------------------------------


def test_keda_activation_is_strictly_above_the_threshold() -> None:
    # prometheus_scaler.go:306: `val > ActivationThreshold`; the rendered threshold is 0
    assert not keda_active(0.0) and keda_active(0.001)
    assert not keda_active(5.0, activation_threshold=5.0)


def test_hpa_tolerance_and_formula() -> None:
    # replica_calculator.go: within 10 % of the target per replica nothing changes, else ceil(total / target)
    assert hpa_desired_replicas(2, 2 * 100 * 1.09, 100) == 2
    assert hpa_desired_replicas(2, 2 * 100 * 1.11, 100) == 3
    assert hpa_desired_replicas(3, 3 * 100 * 0.91, 100) == 3
    assert hpa_desired_replicas(3, 3 * 100 * 0.89, 100) == 3  # ceil(267 / 100)
    assert hpa_desired_replicas(3, 150, 100) == 2


def test_cluster_autoscaler_removes_an_empty_node_after_the_unneeded_time_not_within_delay_after_add() -> (
    None
):
    g = NodeGroup("p", "cluster-autoscaler", 1, {"on-demand": (0, 2), "spot": (0, 0)}, ["on-demand"],
                  {"on-demand": 1.0, "spot": 0.0}, boot_seconds=900, scan_seconds=10,
                  unneeded_seconds=300, delay_after_add_seconds=600)  # fmt: skip
    assert g.add(0.0, 1) == 1 and g.nodes[0].ready_at == 900
    g.nodes[0].empty_since = 900
    g.scale_down(1185, 0)
    assert len(g.nodes) == 1  # 285 s unneeded
    g.scale_down(1200, 0)
    assert g.nodes == []  # 300 s unneeded, 1200 s after the scale-up
    g.add(0.0, 1)
    g.nodes[0].empty_since = 0
    g.last_scale_up = 1000
    g.scale_down(1500, 0)
    assert len(g.nodes) == 1  # unneeded long enough, but a scale-up 500 s ago (< delay after add 600 s)
    g.scale_down(1605, 0)
    assert g.nodes == []


def test_cluster_autoscaler_keeps_the_pool_minimum_and_its_maximum() -> None:
    g = NodeGroup("p", "cluster-autoscaler", 2, {"on-demand": (1, 2), "spot": (0, 1)}, ["on-demand", "spot"],
                  {"on-demand": 3.0, "spot": 1.0}, boot_seconds=60)  # fmt: skip
    g.fill_minimum()
    assert [n.capacity for n in g.nodes] == ["on-demand"]
    assert g.add(0.0, 5) == 2  # on-demand up to its max, then spot
    assert [n.capacity for n in g.nodes] == ["on-demand", "on-demand", "spot"]
    g.provision(0.0, 4)  # pending pods that booting nodes already hold ask for nothing more
    assert len(g.nodes) == 3


def _karpenter(budgets: list[dict[str, Any]]) -> NodeGroup:
    rules = budget_rules([DisruptionBudgetConfig.model_validate(b) for b in budgets])
    return NodeGroup("np", "karpenter", 1, {"on-demand": (0, 4), "spot": (0, 0)}, ["on-demand"],
                     {"on-demand": 1.0, "spot": 0.0}, boot_seconds=60, consolidate_after_seconds=900,
                     budget_active=rules)  # fmt: skip


def test_karpenter_budget_windows_and_reasons() -> None:
    monday_8 = MONDAY + 8 * 60
    g = _karpenter([{"nodes": "1"}, {"nodes": "0", "schedule": "0 7 * * 1-5", "duration": "12h"}])
    assert g.allowed_disruptions(monday_8) == 0  # inside the window: nothing
    assert g.allowed_disruptions(MONDAY + 20 * 60) == 1  # after 19:00
    assert g.allowed_disruptions(8 * 60) == 1  # Sunday
    # a window for other reasons does not hold empty nodes (nodepool.go: budgets whose reasons cover it)
    g = _karpenter([{"nodes": "1"}, {"nodes": "0", "reasons": ["Underutilized", "Drifted"],
                                     "schedule": "0 7 * * 1-5", "duration": "12h"}])  # fmt: skip
    assert g.allowed_disruptions(monday_8) == 1
    g = _karpenter([{"nodes": "50%"}])
    g.add(0.0, 3)
    assert g.allowed_disruptions(0) == 2  # a percentage rounds up


def test_karpenter_consolidates_an_empty_node_after_consolidate_after() -> None:
    g = _karpenter([{"nodes": "1"}])
    g.add(0.0, 2)
    for n in g.nodes:
        n.empty_since = 100
    g.scale_down(985, 0)
    assert len(g.nodes) == 2
    g.scale_down(1000, 0)
    assert len(g.nodes) == 1  # one at a time (budget 1)


# --- hand-computed traces -------------------------------------------------------------------------


def test_the_cold_start_is_the_plans_prediction_in_one_function() -> None:
    p = _plan({"replicas": {"min": 0, "max": 1}}).model_plans[0]
    assert cold_start_seconds(p, free_slot=False) == predicted_cold_start_seconds(p)
    # qwen2.5-7b on an NC24ads A100 node: the node part's high end is 600 s (sizing.cold_start)
    assert node_boot_seconds(p) == node_seconds(p) == 600
    assert cold_start_seconds(p, free_slot=True) == predicted_cold_start_seconds(p) - 600


def test_at_zero_without_a_wake_source_every_request_fails() -> None:
    plan = _plan({"replicas": {"min": 0, "max": 1}, "scaleToZero": True})
    run = simulate(plan, _demand(5.0, 60, 60), days=1, series_day=0)
    (s,) = run.sims
    per_step = 5.0 / request_seconds(plan.model_plans[0].config) * 15
    assert s.totals["failed"] == pytest.approx(240 * per_step)  # 60 min = 240 steps
    assert s.totals["atZeroSeconds"] == 3600 and s.spec == 0
    assert [f["finding"] for f in findings(_summary(run))] == ["at-zero-under-demand"]


def _summary(run: Any) -> list[dict[str, Any]]:
    from simulation.summary import model_summary

    return model_summary(run, {})


def test_the_http_add_on_holds_the_first_request_for_exactly_the_predicted_cold_start() -> None:
    plan = _plan({"replicas": {"min": 0, "max": 1}, "scaleToZero": True}, **HTTP_ON)
    p = plan.model_plans[0]
    run = simulate(plan, _demand(5.0, 60, 120), days=1, series_day=0)
    (s,) = run.sims
    # KEDA activates at the poll at 01:00 (3600 s, a multiple of 30), the node is asked for in the same
    # step (scan interval 10 s), the replica starts when the node is ready and is ready a startup
    # budget later: the first request waited node + startup = the prediction, within conditionWait.
    assert s.totals["worstWait"] == predicted_cold_start_seconds(p)
    assert s.totals["failed"] == 0 and s.totals["coldStarts"] == 1
    ready = run.series["models"]["m"]["readyReplicas"]
    first = next(i for i, r in enumerate(ready) if r)
    assert first == 60 + predicted_cold_start_seconds(p) // 60
    assert s.totals["atZeroSeconds"] == 0  # woken at once: a cold start, not a model left at zero


def test_a_condition_wait_below_the_cold_start_fails_the_early_requests() -> None:
    cap_short = 600
    plan = _plan({"replicas": {"min": 0, "max": 1}, "scaleToZero": True}, **HTTP_ON)
    cold = predicted_cold_start_seconds(plan.model_plans[0])
    extra = {
        "addons": {"keda": {"httpAddon": {"enabled": True, "coldStartTimeoutSeconds": cold - cap_short}}}
    }
    plan = _plan({"replicas": {"min": 0, "max": 1}, "scaleToZero": True}, **extra)
    run = simulate(plan, _demand(5.0, 60, 120), days=1, series_day=0)
    (s,) = run.sims
    per_step = 5.0 / request_seconds(plan.model_plans[0].config) * 15
    # requests that arrived in the first 600 s (40 steps) waited longer than conditionWait: 504
    assert s.totals["httpTimeouts"] == pytest.approx(40 * per_step)
    assert [f["finding"] for f in findings(_summary(run))] == ["cold-start-timeouts"]


def test_hpa_scales_up_one_pod_a_minute_and_down_one_per_window() -> None:
    plan = _plan({"replicas": {"min": 1, "max": 3}, "scaleToZero": False},
                 pool=THREE_A100)  # fmt: skip
    p = plan.model_plans[0]
    target = math.floor(p.sizing.max_num_seqs * 0.9)
    run = simulate(plan, _demand(2.5 * target, 60, 60, base=1.0), days=1, series_day=0)
    (s,) = run.sims
    window = int(s.down_window)
    t0, t1 = 3600, 7200
    assert s.changes[:2] == [(t0, 1), (t0 + 60, 1)]  # ceil(2.5) = 3: +1 at once, +1 a minute later
    downs = [t for t, d in s.changes if d < 0]
    # The last recommendation of 3 came at the last step with demand (t1 - 15); the window keeps
    # recommendations strictly after now - window (horizontal.go, stabilizeRecommendationWithBehaviors),
    # so it drops out at t1 - 15 + window; then one pod per policy period.
    assert downs == [t1 - 15 + window, t1 - 15 + window + s.down_period]
    assert s.totals["warmStarts"] == 2 and s.totals["coldStarts"] == 0  # the pool's minimum has free GPUs


def test_keda_scales_to_zero_a_cooldown_after_the_last_active_poll() -> None:
    plan = _plan({"replicas": {"min": 0, "max": 1}, "scaleToZero": True}, **HTTP_ON)
    run = simulate(plan, _demand(5.0, 60, 120), days=1, series_day=0)
    (s,) = run.sims
    end = 3 * 3600  # demand stops at 03:00; the last poll that saw it: 02:59:30
    assert s.changes[-1] == (end - 30 + s.cooldown + 30, -1)  # LastActiveTime + cooldown strictly passed


def test_steady_noisy_demand_within_the_tolerance_does_not_oscillate() -> None:
    plan = _plan({"replicas": {"min": 1, "max": 3}, "scaleToZero": False},
                 pool=THREE_A100)  # fmt: skip
    target = math.floor(plan.model_plans[0].sizing.max_num_seqs * 0.9)
    per = [2 * target * (1.08 if m % 2 else 0.92) for m in range(WEEK_MINUTES)]
    run = simulate(plan, {"m": Demand("m", per, "test")}, days=1, series_day=0)
    assert len(run.sims[0].changes) <= 1  # up to 2 once, then held
    assert _summary(run)[0]["oscillatingHours"] == 0 and OSCILLATION_CHANGES_PER_HOUR == 4


# --- demand -------------------------------------------------------------------------------------


def test_traffic_file_a_day_repeats_and_a_rate_becomes_a_concurrency(tmp_path: Path) -> None:
    plan = _plan({"replicas": {"min": 1, "max": 1}, "scaleToZero": False})
    models = {m.name: m for m in plan.config.models}
    path = tmp_path / "t.csv"
    path.write_text("minute,model,concurrency,requestsPerSecond,p95CompletionTokens\n"
                    "0,m,2,,\n600,m,,0.5,300\n")  # fmt: skip
    demand = read_traffic_file(path, models)["m"]
    assert demand.at(0) == 2 and demand.at(599) == 2 and demand.at(1439) == 15.0  # 0.5/s x 30 s
    assert demand.at(1440 + 5) == 2  # the next day repeats it
    path.write_text("minute,model,concurrency\n0,nope,2\n")
    with pytest.raises(TrafficFileError, match=r"t.csv:2: model 'nope' is not in the stack"):
        read_traffic_file(path, models)


def test_default_shape_follows_the_schedule_in_its_time_zone() -> None:
    plan = _plan({"replicas": {"min": 0, "max": 1}, "scaleToZero": True,
                  "schedule": STOCKHOLM})  # fmt: skip
    (m,) = plan.config.models
    d = model_demand(m, None)
    peak = m.workload.peak_concurrent_requests
    utc = MONDAY - 60  # Stockholm is UTC+1 in January (the cost estimate's reference instant)
    assert d.at(utc + 8 * 60) == pytest.approx(0.6 * peak)  # the window opens at 60 %
    assert d.at(utc + 13 * 60) == pytest.approx(peak)  # the middle of the window: the peak
    assert d.at(utc + 7 * 60 + 30) == pytest.approx(0.1 * peak)  # early users
    assert d.at(utc + 3 * 60) == 0 and d.at(utc - 12 * 60) == 0  # night; Sunday


# --- the committed stacks -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "nap", "prod"])
def test_every_committed_stack_simulates_quickly_with_its_findings_acknowledged(stack: str) -> None:
    plan = stack_plan(load_stack_settings(ROOT, stack))
    config = plan.config
    demands = {m.name: model_demand(m, config.simulation.shape) for m in config.models}
    started = time.perf_counter()
    simulate(plan, demands, days=1, series_day=0)
    day_seconds = time.perf_counter() - started
    assert day_seconds < 1.5, f"one simulated day took {day_seconds:.2f} s (the plan's budget is 3 s)"
    doc = report(plan, demands, variants=False)
    assert len(doc["series"]["minute"]) == 1440
    assert all(f["acknowledged"] for f in doc["findings"]), doc["findings"]
    assert {m["name"] for m in doc["models"]} == {m.name for m in config.models}


def test_the_cli_fails_on_an_unacknowledged_finding_and_writes_its_outputs(tmp_path: Path) -> None:
    # dev's phi4mini woken by a schedule only, as nap's: the early users find it at zero
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    old = "      replicas: {min: 1, max: 1}\n      scaleToZero: false\n"
    assert old in text
    new = (
        "      replicas: {min: 0, max: 1}\n      scaleToZero: true\n"
        "      schedule: {timezone: Europe/Stockholm, start: '08:00', end: '18:00', days: '1-5',"
        " minReplicas: 1}\n"
    )
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(text.replace(old, new))
    out, md, png = tmp_path / "sim.json", tmp_path / "sim.md", tmp_path / "sim.png"
    argv = ["--stack", "dev", "--config-file", str(stack), "--json", str(out), "--markdown", str(md)]
    assert main([*argv, "--plot", str(png)]) == 1
    doc = json.loads(out.read_text())
    assert [(f["model"], f["finding"]) for f in doc["findings"]] == [("phi4mini", "at-zero-under-demand")]
    assert "**not acknowledged**" in md.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ack = (
        "  aks-llm:simulation:\n    acknowledged:\n"
        "      - {model: phi4mini, finding: at-zero-under-demand, reason: batch work waits}\n"
    )
    stack.write_text(stack.read_text() + ack)
    assert main(argv) == 0
    assert "acknowledged: batch work waits" in md.read_text()


def test_warm_capacity_compares_the_floor_with_one_replica_more_and_one_less() -> None:
    plan = _plan({"replicas": {"min": 1, "max": 2}, "scaleToZero": False})
    (m,) = plan.config.models
    demands = {"m": model_demand(m, None)}
    doc = report(plan, demands)
    (w,) = doc["warmCapacity"]
    floors = {f["floor"]: f for f in w["floors"]}
    assert sorted(floors) == [0, 1, 2] and floors[1]["configured"]
    assert floors[0]["requestsFailedPerMonth"] > 0 == floors[1]["requestsFailedPerMonth"]  # nothing wakes it
    assert floors[0]["costPerMonth"] < floors[1]["costPerMonth"] < floors[2]["costPerMonth"]
    assert floors[0]["gpuHoursPerMonth"] < floors[1]["gpuHoursPerMonth"] < floors[2]["gpuHoursPerMonth"]


def test_the_cli_refuses_a_bad_traffic_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("minute,model,concurrency\nx,phi4mini,1\n")
    assert main(["--stack", "dev", "--json", str(tmp_path / "o.json"), "--traffic", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "t.csv:2" in err and "Traceback" not in err


def test_the_plan_never_imports_matplotlib() -> None:
    code = "import sys, tools.plan, tools.simulate; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def test_the_pr_preview_simulates_every_stack_comments_the_summary_and_links_the_picture() -> None:
    from tests.test_workflows import load
    from tools.stack_config import stack_names

    job = load("preview.yml")["jobs"]["simulate"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == stack_names(ROOT)
    assert job["permissions"] == {"contents": "read"} and "secrets." not in json.dumps(job)
    steps = {s.get("id") or s.get("name"): s for s in job["steps"]}
    run = steps["simulate"]["run"]
    assert 'tools.simulate --stack "$STACK"' in run and "--plot" in run and "--markdown" in run
    assert steps["plot"]["with"]["name"] == "simulation-plot-${{ matrix.stack }}"
    link = steps["Link the picture from the summary"]
    assert link["env"]["PLOT_URL"] == "${{ steps.plot.outputs.artifact-url }}" and "$PLOT_URL" in link["run"]
    fail = steps["Fail on a finding the stack has not acknowledged"]
    assert fail["if"] == "steps.simulate.outputs.rc != '0'" and fail["run"] == "exit 1"
    comment = load("preview-comment.yml")
    (script,) = [
        s["with"]["script"] for s in comment["jobs"]["comment"]["steps"] if "script" in s.get("with", {})
    ]
    assert "simulation-comment-${stack}" in script


def test_the_pre_warm_is_ready_a_cold_start_after_the_window_opens() -> None:
    plan = _plan({"replicas": {"min": 0, "max": 1}, "scaleToZero": True, "schedule": STOCKHOLM})
    (m,) = plan.config.models
    run = simulate(plan, {"m": model_demand(m, None)}, days=1, series_day=0)
    # the cron trigger activates at the window's first poll, the node and the replica follow: the
    # prediction, rounded up to the 15 s step at which the node is seen ready
    cold = predicted_cold_start_seconds(plan.model_plans[0])
    assert cold <= run.sims[0].totals["prewarmLag"] < cold + 30


def test_a_node_boot_beyond_max_node_provision_time_is_noted() -> None:
    from simulation.summary import provision_notes

    slow = {"cluster": {"apiServer": {"privateCluster": True}, "autoscaler": {"maxNodeProvisionTime": "5m"}}}
    plan = _plan({"replicas": {"min": 1, "max": 1}, "scaleToZero": False}, **slow)
    (note,) = provision_notes(plan)
    # an NC A100 v4 node: 300-600 s from zero (sizing.cold_start), past a 5-minute limit
    assert "maxNodeProvisionTime (300 s)" in note and "600 s" in note
    assert provision_notes(_plan({"replicas": {"min": 1, "max": 1}, "scaleToZero": False})) == []
