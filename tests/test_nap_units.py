"""Pure NAP functions: SKU resolution, sizing SKU, limits, weights, scheduling, quota and cost fill."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from config.catalog import load_catalog
from config.schema import NapLimitsConfig, NodePoolConfig, StackConfig
from cost.nodepools import COST_CAPACITY, nodepool_capacities
from renderers.gpu_software import device_plugin_values, operator_values
from rules.cost import stack_vm_sizes
from sizing.nap import (
    allowed_skus,
    consolidation_policy,
    limits_manifest,
    max_nodes,
    nodepool_specs,
    nodes_at_limits,
    preferred_capacity,
    sizing_sku,
    sku_series,
    weight,
)
from sizing.nap_summary import kaito_node_rows
from sizing.quota import nodepool_needs
from sizing.slots import fill_nodepool

CAT = load_catalog()
GPU_TOL = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
SPOT_TOL = {
    "key": "kubernetes.azure.com/scalesetpriority",
    "operator": "Equal",
    "value": "spot",
    "effect": "NoSchedule",
}


def pool(**fields: Any) -> NodePoolConfig:
    data: dict[str, Any] = {
        "name": "gpu",
        "skus": ["Standard_NC24ads_A100_v4"],
        "onDemand": {"limits": {"gpus": 4}},
    }
    data.update(fields)
    return NodePoolConfig.model_validate(data)


def stack(*pools: NodePoolConfig, mode: str = "nap") -> StackConfig:
    return StackConfig.model_validate(
        {
            "location": "swedencentral",
            "cluster": {"apiServer": {"privateCluster": True}},
            "nodeProvisioning": {"mode": mode, "nodePools": [p.model_dump(by_alias=True) for p in pools]},
        }
    )


@pytest.mark.parametrize(
    ("name", "series"),
    [
        ("Standard_NC24ads_A100_v4", "NCads_A100_v4"),
        ("Standard_NC4as_T4_v3", "NCas_T4_v3"),
        ("Standard_NV36ads_A10_v5", "NVads_A10_v5"),
        ("Standard_ND96asr_v4", "NDasr_v4"),
        ("Standard_NC80adis_H100_v5", "NCadis_H100_v5"),
        ("weird", None),
    ],
)
def test_sku_series_drops_the_size_number(name: str, series: str | None) -> None:
    assert sku_series(name) == series


def test_allowed_skus_are_the_union_of_names_and_families_in_sizing_order() -> None:
    p = pool(skus=["Standard_NC48ads_A100_v4", "Standard_NC6s_v3", "nope"], skuFamilies=["NCas_T4_v3"])
    names = [s.name for s in allowed_skus(p, CAT)]
    # retired V100 and unknown names are left out (the rules report them); least GPU memory first,
    # then the fewest vCPUs: NC4as before NC8as before NC16as (all one 16 GB T4)
    assert names == [
        "Standard_NC4as_T4_v3",
        "Standard_NC8as_T4_v3",
        "Standard_NC16as_T4_v3",
        "Standard_NC64as_T4_v3",
        "Standard_NC48ads_A100_v4",
    ]
    assert sizing_sku(p, CAT) is not None and sizing_sku(p, CAT).name == "Standard_NC4as_T4_v3"  # type: ignore[union-attr]
    assert sizing_sku(pool(skus=["nope"]), CAT) is None


def test_max_nodes_is_the_tightest_of_the_gpu_cpu_and_memory_limits() -> None:
    nc48 = CAT.sku("Standard_NC48ads_A100_v4")  # 2 GPUs, 48 vCPUs, 440 GiB
    assert max_nodes(NapLimitsConfig(gpus=8), nc48) == 4
    assert max_nodes(NapLimitsConfig(gpus=8, cpu=100), nc48) == 2
    assert max_nodes(NapLimitsConfig(gpus=8, cpu=1000, memoryGib=500), nc48) == 1
    assert max_nodes(NapLimitsConfig(gpus=1), nc48) == 0


def test_limits_render_as_strings_like_the_api_server_stores_them() -> None:
    assert limits_manifest(NapLimitsConfig(gpus=4)) == {"nvidia.com/gpu": "4"}
    assert limits_manifest(NapLimitsConfig(gpus=4, cpu=96, memoryGib=880)) == {
        "nvidia.com/gpu": "4",
        "cpu": "96",
        "memory": "880Gi",
    }


@pytest.mark.parametrize(
    ("purpose", "capacities", "preferred", "weights", "policy"),
    [
        ("serving", ("onDemand", "spot"), "on-demand", {"on-demand": 100, "spot": 50}, "WhenEmpty"),
        ("batch", ("onDemand", "spot"), "spot", {"on-demand": 50, "spot": 100}, "WhenEmptyOrUnderutilized"),
        ("batch", ("onDemand",), "on-demand", {"on-demand": 100}, "WhenEmptyOrUnderutilized"),
        ("serving", ("spot",), "spot", {"spot": 100}, "WhenEmpty"),
    ],
)
def test_weights_prefer_on_demand_for_serving_and_spot_for_batch(
    purpose: str, capacities: tuple[str, ...], preferred: str, weights: dict[str, int], policy: str
) -> None:
    sections: dict[str, Any] = {"onDemand": None, **{c: {"limits": {"gpus": 2}} for c in capacities}}
    p = pool(purpose=purpose, **sections)
    assert preferred_capacity(p) == preferred
    assert {c: weight(p, c) for c in weights} == weights  # type: ignore[arg-type]
    assert consolidation_policy(p) == policy
    explicit = pool(purpose=purpose, disruption={"consolidationPolicy": "WhenEmptyOrUnderutilized"})
    assert consolidation_policy(explicit) == "WhenEmptyOrUnderutilized"


def test_specs_only_in_nap_mode_one_per_capacity_type() -> None:
    p = pool(purpose="batch", spot={"limits": {"gpus": 8}})
    assert [s.name for s in nodepool_specs(stack(p), CAT)] == ["gpu-od", "gpu-spot"]
    assert nodepool_specs(stack(p, mode="pools"), CAT) == []


def test_nodepool_scheduling_pins_pool_and_sku_and_tolerates_spot_only_when_possible() -> None:
    from sizing.node_selection import nodepool_scheduling

    a100 = CAT.sku("Standard_NC24ads_A100_v4")
    od_only = nodepool_scheduling(pool(), a100)
    assert od_only.node_selector == {"aks-llm/gpu-pool": "gpu", "karpenter.azure.com/sku-name": a100.name}
    assert od_only.tolerations == [GPU_TOL]
    assert (od_only.gpu_resource_name, od_only.gpus_per_node) == ("nvidia.com/gpu", 1)
    assert "accelerator" not in od_only.labels  # restricted by Karpenter's NodePool CRD
    split = pool(purpose="batch", spot={"limits": {"gpus": 8}})
    assert nodepool_scheduling(split, a100).tolerations == [GPU_TOL, SPOT_TOL]
    pinned = nodepool_scheduling(split, a100, "on-demand")
    assert pinned.node_selector["aks-llm/capacity-type"] == "on-demand" and pinned.tolerations == [GPU_TOL]
    with pytest.raises(ValueError, match="no spot capacity"):
        nodepool_scheduling(pool(), a100, "spot")


def test_quota_need_is_the_worst_allowed_sku_per_family_and_skips_skus_over_the_limits() -> None:
    p = pool(
        purpose="batch",
        skus=["Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5", "Standard_NC96ads_A100_v4"],
        onDemand={"limits": {"gpus": 3}},
        spot={"limits": {"gpus": 2}},
    )
    od, spot = nodepool_specs(stack(p), CAT)
    needs = nodepool_needs(od)
    # A100 family: 3 x NC24ads = 72 (NC96ads has 4 GPUs: over the limit, never launched); H100: 3 x 40
    assert {f: (n.nodes, n.vcpus) for f, n in needs.items()} == {
        "standardNCADSA100v4Family": (3, 72),
        "standardNCadsH100v5Family": (3, 120),
    }
    assert {f: n.vcpus for f, n in nodepool_needs(spot).items()} == {"spot": 80}  # 2 x NC40ads H100


def test_cost_fill_takes_the_preferred_capacity_first() -> None:
    batch = pool(purpose="batch", onDemand={"limits": {"gpus": 1}}, spot={"limits": {"gpus": 2}})
    serving = pool(name="srv", onDemand={"limits": {"gpus": 1}}, spot={"limits": {"gpus": 2}})
    caps = {c.name: c for c in nodepool_capacities(stack(batch, serving), CAT)}
    assert caps["gpu"].fill(2) == ({"onDemand": 0, "spot": 2}, 0)
    assert caps["gpu"].fill(4) == ({"onDemand": 1, "spot": 2}, 1)
    assert caps["srv"].fill(2) == ({"onDemand": 1, "spot": 1}, 0)


def test_the_plan_owns_the_nodepool_split_and_cost_only_renames_it() -> None:
    batch = pool(purpose="batch", onDemand={"limits": {"gpus": 1}}, spot={"limits": {"gpus": 2}})
    (cap,) = nodepool_capacities(stack(batch), CAT)
    # The plan's split (sizing.slots.fill_nodepool) in Karpenter's capacity types...
    assert fill_nodepool(batch, cap.sku, 4) == ({"on-demand": 1, "spot": 2}, 1)
    assert nodes_at_limits(batch, cap.sku) == {"on-demand": 1, "spot": 2}
    # ...is the estimate's, under its own keys, for every demand.
    for needed in range(5):
        nodes, missing = fill_nodepool(batch, cap.sku, needed)
        assert cap.fill(needed) == ({COST_CAPACITY[c]: n for c, n in nodes.items()}, missing)


def test_kaito_rows_count_nodes_per_replica_times_max_replicas() -> None:
    def plan(name: str, runtime: str, per_replica: int | None, replicas_max: int) -> Any:
        """The fields of a ModelPlan the rows read (a typed plan, not an output dict)."""
        return SimpleNamespace(
            config=SimpleNamespace(name=name, runtime=runtime),
            sku=SimpleNamespace(name="S"),
            sizing=SimpleNamespace(kaito_nodes_per_replica=per_replica),
            replicas_max=replicas_max,
        )

    plans = [plan("a", "kaito", 3, 2), plan("b", "vllm", None, 4), plan("c", "kaito", None, 1)]
    assert [(r.model, r.max_nodes) for r in kaito_node_rows(plans)] == [("a", 6), ("c", None)]


def test_nvidia_software_serves_nodepools_only_in_nap_mode() -> None:
    managed, operator = pool(), pool(name="op", driver="operator")
    assert device_plugin_values(stack(managed)) is not None
    assert operator_values(stack(managed), CAT) is None
    assert operator_values(stack(operator), CAT) is not None
    assert device_plugin_values(stack(managed, mode="pools")) is None


def test_price_overrides_may_name_any_sku_a_nodepool_allows() -> None:
    assert "Standard_NC64as_T4_v3" in stack_vm_sizes(stack(pool(skuFamilies=["NCas_T4_v3"])), CAT)
