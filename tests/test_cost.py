"""The pure cost module: schedules, packing, prices, the monthly estimate and the break-even."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.catalog import load_catalog
from config.schema import GpuPoolConfig, ModelConfig, ScheduleConfig, StackConfig
from cost import estimate_cost
from cost.breakeven import (
    api_cost_per_request,
    break_even_requests_per_day,
    capacity_requests_per_day,
    self_hosted_cost_per_request,
)
from cost.estimate import CostEstimate, slots_per_node
from sizing.business_hours import (
    business_hours_per_month,
    parse_days,
    utc_offset_minutes,
    weekly_intervals,
)
from sizing.deployments import plan_models
from sizing.slots import fill
from sizing.workloads import floor_replicas
from tests.test_config import stack_values

CATALOG = load_catalog()
A100 = "Standard_NC24ads_A100_v4"
BUSINESS_WEEKS = 730 / 168  # a month of weeks


def estimate(values: dict[str, Any]) -> dict[str, Any]:
    cfg = StackConfig.model_validate(values)
    return estimate_cost(cfg, CATALOG, plan_models(cfg, CATALOG)).to_dict()


def rows_by(cost: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["name"], r["capacity"]): r for r in cost["rows"]}


# --- schedules ---------------------------------------------------------------------------------


def test_cron_days() -> None:
    assert parse_days("1-5") == [1, 2, 3, 4, 5]
    assert parse_days("0,6") == [0, 6]
    assert parse_days("1-3,5") == [1, 2, 3, 5]
    assert parse_days("5-1") == [0, 1, 5, 6]  # a descending range wraps over the week end


def test_windows_are_shifted_to_utc_by_the_time_zone() -> None:
    schedule = ScheduleConfig.model_validate(
        {"timezone": "Europe/Stockholm", "start": "07:00", "end": "19:00"}
    )
    offset = utc_offset_minutes("Europe/Stockholm")
    assert offset == 60  # CET on the January reference date
    intervals = weekly_intervals(schedule, offset)
    assert intervals[0] == (1 * 1440 + 6 * 60, 1 * 1440 + 18 * 60)  # Monday 06:00-18:00 UTC
    assert len(intervals) == 5
    assert business_hours_per_month(intervals) == pytest.approx(60 * BUSINESS_WEEKS)


def test_overnight_window_wraps_past_the_end_of_the_week() -> None:
    schedule = ScheduleConfig.model_validate({"start": "22:00", "end": "06:00", "days": "6"})
    intervals = weekly_intervals(schedule, 0)
    assert intervals == [(0, 6 * 60), (6 * 1440 + 22 * 60, 7 * 1440)]
    assert business_hours_per_month(intervals) == pytest.approx(8 * BUSINESS_WEEKS)


def test_unknown_time_zone_is_reported_not_raised() -> None:
    assert utc_offset_minutes("Mars/Olympus_Mons") is None


# --- demand and packing ------------------------------------------------------------------------


def _pool(**kw: Any) -> GpuPoolConfig:
    return GpuPoolConfig.model_validate({"name": "p", "vmSize": A100, **kw})


def test_fill_uses_the_floor_then_on_demand_then_spot() -> None:
    pool = _pool(onDemand={"min": 1, "max": 3}, spot={"min": 0, "max": 4})
    assert fill(pool, 0) == (1, 0, 0)
    assert fill(pool, 5) == (3, 2, 0)
    assert fill(pool, 9) == (3, 4, 2)  # two nodes the pool cannot hold


def test_slots_per_node_counts_mig_slices_shares_or_gpus() -> None:
    assert slots_per_node(_pool(onDemand={"max": 1}, mig="3g.40gb"), CATALOG) == 2
    big = GpuPoolConfig.model_validate(
        {"name": "p", "vmSize": "Standard_NC96ads_A100_v4", "onDemand": {"max": 1}, "mig": "1g.10gb"}
    )
    assert slots_per_node(big, CATALOG) == 28  # 4 GPUs x 7 slices
    shared = _pool(onDemand={"max": 1}, timeSlicing={"replicas": 4}, driver="operator")
    assert slots_per_node(shared, CATALOG) == 4
    assert slots_per_node(_pool(onDemand={"max": 1}), CATALOG) == 1


@pytest.mark.parametrize(
    ("runtime", "replicas_min", "scale_to_zero", "floor"),
    [
        ("vllm", 0, True, 0),
        ("vllm", 2, True, 0),
        ("vllm", 2, False, 2),
        ("kaito", 0, False, 1),  # a Workspace keeps its node
        ("kaito", 1, True, 1),
        ("kaito", 0, True, 0),  # an InferenceSet scaled to zero
        ("kaito", 2, False, 2),
    ],
)
def test_floor_replicas(runtime: str, replicas_min: int, scale_to_zero: bool, floor: int) -> None:
    model = ModelConfig.model_validate(
        {
            "name": "m",
            "model": "phi-4",
            "runtime": runtime,
            "pool": "p",
            "replicas": {"min": replicas_min},
            "scaleToZero": scale_to_zero,
        }
    )
    assert floor_replicas(model) == floor


# --- the committed stacks ----------------------------------------------------------------------


def test_prod_hourly_floor_max_and_monthly_by_hand() -> None:
    cost = estimate(stack_values("prod"))
    rows = rows_by(cost)
    system, od, spot, kaito = 0.185, 3.673, 0.7345, 3.673
    # idle: 3 system nodes, the a100 pool's on-demand minimum (holding qwen7b's floor replica on one
    # MIG slice), its spot minimum (a MIG pool cannot scale up from zero) and phi4's KAITO node
    assert cost["hourly"]["idleFloor"]["total"] == pytest.approx(3 * system + od + spot + kaito)
    assert cost["hourly"]["atMax"]["total"] == pytest.approx(3 * system + 3 * od + 4 * spot + 3 * kaito)
    assert cost["hourly"]["atMax"]["spot"] == pytest.approx(4 * spot)
    # business hours (60 h a week): phi4 pre-warms a second KAITO node; qwen7b's two replicas share
    # the pool's one MIG node (two 3g.40gb slices), so the pool does not grow
    business = 60 * BUSINESS_WEEKS
    expected = (3 * system + od + spot + kaito) * 730 + kaito * business
    assert cost["monthly"]["total"] == pytest.approx(expected, abs=0.02)
    assert rows[("a100", "onDemand")]["nodeHoursPerMonth"] == pytest.approx(730)
    assert rows[("phi4", "onDemand")]["kind"] == "kaito"
    assert rows[("phi4", "onDemand")]["nodeHoursPerMonth"] == pytest.approx(730 + business, abs=0.1)
    assert rows[("a100", "spot")]["priceBasis"] == "spot price"
    models = {m["name"]: m for m in cost["models"]}
    assert models["qwen7b"]["nodesPerReplica"] == 0.5
    assert models["qwen7b"]["replicaPricePerHour"] == pytest.approx(od / 2)


def test_prices_are_dated_and_flagged_unverified() -> None:
    cost = estimate(stack_values("prod"))
    assert cost["prices"]["asOf"] == CATALOG.prices.as_of
    assert cost["prices"]["verified"] is False
    assert f"as of {CATALOG.prices.as_of} (UNVERIFIED)" in cost["pricesLine"]
    assert any("catalog prices are for eastus" in n for n in cost["notes"])


def test_kaito_keeps_its_node_note() -> None:
    notes = estimate(stack_values("prod"))["notes"]
    assert any("phi4 (KAITO): while its Workspace exists KAITO keeps its GPU node" in n for n in notes)


def test_dev_keeps_one_t4_until_its_queue_worker_exists() -> None:
    """Nothing can wake dev's batch model from zero before its worker image is set (rules/models.py):
    one on-demand T4 and the system node run all month."""
    cost = estimate(stack_values("dev"))
    assert cost["monthly"]["total"] == pytest.approx((0.185 + 0.526) * 730)
    assert rows_by(cost)[("t4", "onDemand")]["minNodes"] == 1
    spot = rows_by(cost)[("t4", "spot")]
    assert spot["pricePerHour"] == 0.526 and spot["priceBasis"] == "on-demand (upper bound)"
    assert any("t4 spot: no spot price" in n for n in cost["notes"])


def test_schedule_on_a_scale_to_zero_pool_bills_business_hours_only() -> None:
    values = _single_model_stack(
        {"start": "08:00", "end": "18:00", "days": "1-5", "minReplicas": 1, "timezone": "Etc/UTC"}
    )
    cost = estimate(values)
    business = 50 * BUSINESS_WEEKS
    pool = rows_by(cost)[("h100", "onDemand")]
    assert pool["minNodes"] == 0
    assert pool["monthly"] == pytest.approx(6.98 * business, abs=0.01)
    (model,) = cost["models"]
    assert model["businessHoursPerMonth"] == pytest.approx(business, abs=0.1)
    assert (model["replicasOffHours"], model["replicasBusinessHours"]) == (0, 1)


def _single_model_stack(schedule: dict[str, Any] | None, **pool: Any) -> dict[str, Any]:
    model: dict[str, Any] = {"name": "q", "model": "qwen2.5-7b-instruct", "pool": "h100", "scaleToZero": True}
    if schedule:
        model["schedule"] = schedule
    return {
        "location": "eastus",
        "cluster": {"apiServer": {"privateCluster": True}, "systemPool": {"count": 2}},
        "gpuPools": [
            {"name": "h100", "vmSize": "Standard_NC40ads_H100_v5", "onDemand": {"min": 0, "max": 2}, **pool}
        ],
        "models": [model],
    }


def test_price_override_replaces_the_catalog_figure_and_is_named() -> None:
    values = copy.deepcopy(stack_values("prod"))
    values["prices"] = {
        "asOf": "2026-11-01",
        "source": "our EA rates",
        "skus": {A100: {"onDemandPerHour": 3.0, "spotPerHour": 1.0}},
    }
    cost = estimate(values)
    rows = rows_by(cost)
    assert rows[("a100", "onDemand")]["pricePerHour"] == 3.0
    assert rows[("a100", "onDemand")]["priceSource"] == "stack"
    assert rows[("a100", "spot")]["pricePerHour"] == 1.0
    assert rows[("system", "onDemand")]["priceSource"] == "catalog"
    assert cost["prices"]["overrides"] == {"asOf": "2026-11-01", "source": "our EA rates", "skus": [A100]}
    assert f"stack overrides as of 2026-11-01 (our EA rates) for {A100}" in cost["pricesLine"]


def test_sku_without_a_price_is_marked_not_refused() -> None:
    values = _single_model_stack(None)
    # Every catalog system SKU is priced now (prices.yaml); the estimator itself (pure, before the
    # rules that refuse an unknown system SKU) still marks a size without a price instead of failing.
    values["cluster"]["systemPool"]["vmSize"] = "Standard_E4s_v5"
    cost = estimate(values)
    system = rows_by(cost)[("system", "onDemand")]
    assert system["pricePerHour"] is None and system["hourlyAtMin"] is None and system["monthly"] is None
    assert cost["complete"] is False
    assert any("add prices.skus.Standard_E4s_v5.onDemandPerHour" in n for n in cost["notes"])


def test_spot_without_a_spot_price_uses_the_max_price_cap() -> None:
    values = _single_model_stack(None, spot={"min": 0, "max": 2, "maxPrice": 2.5})
    spot = rows_by(estimate(values))[("h100", "spot")]
    assert (spot["pricePerHour"], spot["priceBasis"]) == (2.5, "maxPrice cap")
    assert spot["hourlyAtMax"] == 5.0


def test_a_pool_too_small_for_the_scheduled_replicas_is_noted() -> None:
    values = _single_model_stack({"start": "08:00", "end": "18:00", "minReplicas": 4, "timezone": "Etc/UTC"})
    cost = estimate(values)
    assert any("pool h100: the models' scheduled replicas need 2 node(s) more" in n for n in cost["notes"])
    assert rows_by(cost)[("h100", "onDemand")]["monthly"] == pytest.approx(
        2 * 6.98 * 50 * BUSINESS_WEEKS, abs=0.01
    )


# --- break-even --------------------------------------------------------------------------------


def test_break_even_worked_example_from_the_readme() -> None:
    api = api_cost_per_request(1000, 500, 3.0, 15.0)
    own = self_hosted_cost_per_request(1500, 3.673, 2000)
    assert api == pytest.approx(0.0105)
    assert own == pytest.approx(0.000765, abs=1e-6)
    even = break_even_requests_per_day(100.0, api, own)
    assert even is not None and round(even) == 10_272


def test_no_break_even_when_self_hosting_costs_more_per_request() -> None:
    assert break_even_requests_per_day(10.0, 0.0004, 0.0007) is None
    assert capacity_requests_per_day(2, 1000, 2000) == pytest.approx(86_400)


def test_break_even_rows_share_the_fixed_overhead_across_models() -> None:
    cost = estimate(stack_values("prod"))
    rows = {b["name"]: b for b in cost["breakEven"]}
    assert set(rows) == {"phi4", "qwen7b"}
    # the models' fixed overheads add up to the monthly estimate spread over 730/24 days
    total = sum(b["fixedDailyOverhead"] for b in cost["breakEven"])
    assert total == pytest.approx(cost["monthly"]["total"] / (730 / 24), abs=0.02)
    q = rows["qwen7b"]
    assert q["tokensPerRequest"] == 1536 + 512
    assert q["apiCostPerRequest"] == pytest.approx((1536 * 2.5 + 512 * 10.0) / 1e6)
    assert q["selfHostedCostPerRequest"] == pytest.approx(2048 * 3.673 / 2 / (1000 * 3600), abs=1e-6)
    expected = q["fixedDailyOverhead"] / (q["apiCostPerRequest"] - q["selfHostedCostPerRequest"])
    assert q["breakEvenRequestsPerDay"] == pytest.approx(expected, rel=1e-3)


def test_dev_never_breaks_even_against_a_cheap_api() -> None:
    cost = estimate(stack_values("dev"))
    (row,) = cost["breakEven"]
    assert row["breakEvenRequestsPerDay"] is None
    assert any("phi4mini: self-hosting costs" in n and "never breaks even" in n for n in cost["notes"])


def test_estimate_is_a_plain_json_document() -> None:
    cfg = StackConfig.model_validate(stack_values("prod"))
    est = estimate_cost(cfg, CATALOG, plan_models(cfg, CATALOG))
    assert isinstance(est, CostEstimate)
    import json

    assert json.loads(json.dumps(est.to_dict())) == est.to_dict()


def test_a_deallocate_pool_adds_its_kept_os_disks_at_their_managed_disk_tier() -> None:
    # dev's t4 pool (1 on-demand + 2 spot at most) with Scale-down Mode Deallocate: the stopped nodes keep
    # their managed OS disks (scale-down-mode.md); the default 256 GiB is billed as Premium SSD P15
    values = copy.deepcopy(stack_values("dev"))
    before = estimate(values)["monthly"]["total"]
    values["gpuPools"][0]["scaleDownMode"] = "Deallocate"
    cost = estimate(values)
    disks = {r["capacity"]: r for r in cost["rows"] if r["kind"] == "os-disks"}
    assert {c: (r["maxNodes"], r["sku"]) for c, r in disks.items()} == {
        "onDemand": (1, "Premium SSD P15"),
        "spot": (2, "Premium SSD P15"),
    }
    # 3 disks x 38.01 USD a month (the price table's P15), all month, at the floor and at max alike
    assert cost["monthly"]["total"] == pytest.approx(before + 3 * 38.01, abs=0.02)
    assert disks["spot"]["hourlyAtMin"] == pytest.approx(2 * 38.01 / 730, abs=1e-4)
    assert any(
        "t4: scaleDownMode Deallocate keeps up to 3 OS disks (Premium SSD P15" in n for n in cost["notes"]
    )
    # a 300 GiB OS disk is billed at the next tier, P20 (512 GiB, 73.22)
    values["gpuPools"][0]["osDiskSizeGb"] = 300
    bigger = {r["sku"] for r in estimate(values)["rows"] if r["kind"] == "os-disks"}
    assert bigger == {"Premium SSD P20"}


def test_a_delete_pool_has_no_os_disk_rows() -> None:
    assert not [r for r in estimate(stack_values("prod"))["rows"] if r["kind"] == "os-disks"]
