"""Properties of the planners, as awsx tests its subnet distributor: for every input hypothesis draws
(derandomized: the same examples each run, a few dozen each, well under a second per property), the
plan keeps its promises.

- A NAP NodePool's node count never exceeds any of its limits (GPUs, vCPUs, memory), and the
  capacity split of a NodePool never exceeds the nodes its limits allow.
- A quota row needs at least the sum of its pools' maxima plus their upgrade surge.
- The slot filler never uses spot before on-demand for a serving model: spot nodes beyond the spot
  floor only once on-demand is at its maximum (agent pools), and a serving NodePool fills on-demand
  first.
- A pod the scheduling check places on a node group fits in what that group's DaemonSets leave.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from config.catalog import GpuSku, load_catalog
from config.schema import GpuPoolConfig, NapLimitsConfig, NodePoolConfig, StackConfig
from sizing.agent_pools import agent_pool_specs
from sizing.deployments import plan_models
from sizing.nap import max_nodes, nodepool_specs, nodes_at_limits
from sizing.placement import NodeGroup, NodeTaint, Workload, check_placement
from sizing.quota import SPOT_FAMILY, quota_rows
from sizing.slots import fill, fill_nodepool
from tests.conftest import BASE_VALUES

CAT = load_catalog()
SKUS = sorted((s for s in CAT.skus.values() if not s.retired), key=lambda s: s.name)
PROPERTY = settings(
    derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

skus = st.sampled_from(SKUS)
limits = st.builds(
    lambda gpus, cpu, memory: NapLimitsConfig.model_validate(
        {"gpus": gpus, **({"cpu": cpu} if cpu else {}), **({"memoryGib": memory} if memory else {})}
    ),
    st.integers(1, 256),
    st.none() | st.integers(1, 4096),
    st.none() | st.integers(1, 32768),
)


# --- NAP: node counts within every limit --------------------------------------------------------


@PROPERTY
@given(limit=limits, sku=skus)
def test_nap_node_count_never_exceeds_a_limit(limit: NapLimitsConfig, sku: GpuSku) -> None:
    nodes = max_nodes(limit, sku)
    assert nodes * sku.gpu_count <= limit.gpus
    assert limit.cpu is None or nodes * sku.vcpus <= limit.cpu
    assert limit.memory_gib is None or nodes * sku.memory_gib <= limit.memory_gib
    one_more = nodes + 1  # and it is the most: one more node breaks a limit
    assert (
        one_more * sku.gpu_count > limit.gpus
        or (limit.cpu is not None and one_more * sku.vcpus > limit.cpu)
        or (limit.memory_gib is not None and one_more * sku.memory_gib > limit.memory_gib)
    )


def _nodepool(
    sku: GpuSku, purpose: str, on_demand: NapLimitsConfig | None, spot: NapLimitsConfig | None
) -> NodePoolConfig:
    data: dict[str, Any] = {"name": "np", "purpose": purpose, "skus": [sku.name]}
    if on_demand is not None:
        data["onDemand"] = {"limits": on_demand.model_dump(by_alias=True, exclude_none=True)}
    if spot is not None:
        data["spot"] = {"limits": spot.model_dump(by_alias=True, exclude_none=True)}
    try:
        return NodePoolConfig.model_validate(data)
    except ValidationError:
        assume(False)
        raise


@PROPERTY
@given(
    sku=skus,
    purpose=st.sampled_from(["serving", "batch"]),
    on_demand=st.none() | limits,
    spot=st.none() | limits,
    needed=st.integers(0, 300),
)
def test_a_nodepool_split_stays_within_its_limits_and_serving_fills_on_demand_first(
    sku: GpuSku, purpose: str, on_demand: NapLimitsConfig | None, spot: NapLimitsConfig | None, needed: int
) -> None:
    assume(on_demand is not None or spot is not None)
    pool = _nodepool(sku, purpose, on_demand, spot)
    allowed = nodes_at_limits(pool, sku)
    split, missing = fill_nodepool(pool, sku, needed)
    for capacity, nodes in split.items():
        assert 0 <= nodes <= allowed[capacity]
    assert sum(split.values()) + missing == needed and missing >= 0
    if purpose == "serving" and "on-demand" in split and split.get("spot", 0) > 0:
        assert split["on-demand"] == allowed["on-demand"]


# --- agent pools: the slot filler ---------------------------------------------------------------

bounds = st.tuples(st.integers(0, 8), st.integers(1, 12)).filter(lambda b: b[0] <= b[1])


def _gpu_pool(
    sku: GpuSku, on_demand: tuple[int, int] | None, spot: tuple[int, int] | None, surge: str
) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "p", "vmSize": sku.name}
    if on_demand is not None:  # AKS refuses max surge on spot pools: set with on-demand only
        data["onDemand"] = {"min": on_demand[0], "max": on_demand[1]}
        data["maxSurge"] = surge
    if spot is not None:
        data["spot"] = {"min": spot[0], "max": spot[1]}
    return data


@PROPERTY
@given(sku=skus, on_demand=st.none() | bounds, spot=st.none() | bounds, needed=st.integers(0, 40))
def test_the_slot_filler_never_uses_spot_before_on_demand(
    sku: GpuSku, on_demand: tuple[int, int] | None, spot: tuple[int, int] | None, needed: int
) -> None:
    assume(on_demand is not None or spot is not None)
    pool = GpuPoolConfig.model_validate(_gpu_pool(sku, on_demand, spot, "10%"))
    od_min, od_max = on_demand or (0, 0)
    sp_min, sp_max = spot or (0, 0)
    od, sp, missing = fill(pool, needed)
    assert od_min <= od <= od_max and sp_min <= sp <= sp_max and missing >= 0
    assert od + sp + missing == max(needed, od_min + sp_min)
    if sp > sp_min:  # spot beyond its floor: on-demand is full
        assert od == od_max
    if missing:  # nodes are missing only when both are full
        assert (od, sp) == (od_max, sp_max)


# --- quota: a row's need covers its pools' maxima and surge -------------------------------------


def _surge(max_surge: str, nodes: int) -> int:
    return math.ceil(nodes * int(max_surge[:-1]) / 100) if max_surge.endswith("%") else int(max_surge)


@PROPERTY
@given(
    pools=st.lists(
        st.tuples(
            skus, st.none() | bounds, st.none() | bounds, st.sampled_from(["10%", "33%", "100%", "1", "3"])
        ),
        min_size=1,
        max_size=4,
    ),
    system=st.tuples(st.integers(1, 5), st.sampled_from(["10%", "33%", "100%"])),
)
def test_a_quota_row_needs_at_least_its_pools_maxima_plus_surge(
    pools: list[tuple[GpuSku, tuple[int, int] | None, tuple[int, int] | None, str]], system: tuple[int, str]
) -> None:
    gpu_pools = []
    expected: dict[str, int] = defaultdict(int)
    for i, (sku, on_demand, spot, surge) in enumerate(pools):
        assume(on_demand is not None or spot is not None)
        gpu_pools.append({**_gpu_pool(sku, on_demand, spot, surge), "name": f"p{i}"})
        if on_demand is not None:
            expected[sku.quota_family] += (on_demand[1] + _surge(surge, on_demand[1])) * sku.vcpus
        if spot is not None:  # AKS refuses max surge on spot pools
            expected[SPOT_FAMILY] += spot[1] * sku.vcpus
    count, system_surge = system
    cluster = {**BASE_VALUES["cluster"], "systemPool": {"count": count, "maxSurge": system_surge}}
    try:
        config = StackConfig.model_validate({**BASE_VALUES, "cluster": cluster, "gpuPools": gpu_pools})
    except ValidationError:
        assume(False)
        raise
    system_sku = CAT.system_skus[config.cluster.system_pool.vm_size]
    expected[system_sku.quota_family] += (count + _surge(system_surge, count)) * system_sku.vcpus
    specs, nodepools = agent_pool_specs(config, CAT), nodepool_specs(config, CAT)
    rows = {row.family: row for row in quota_rows(config, CAT, specs, nodepools, plan_models(config, CAT))}
    for family, need in expected.items():
        assert family in rows and rows[family].need >= need, (family, need)


# --- the scheduling check: placed pods fit beside the DaemonSets --------------------------------

RESOURCES = ("cpu", "memory", "nvidia.com/gpu")
requests = st.fixed_dictionaries({name: st.integers(0, 8) for name in RESOURCES})
TAINT = NodeTaint("sku", "gpu")
TOLERATE = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}


@st.composite
def groups_and_workloads(draw: st.DrawFn) -> tuple[list[NodeGroup], list[Workload]]:
    groups = [
        NodeGroup(
            name=f"g{i}",
            kind="agent-pool",
            labels={"pool": f"g{i}"},
            taints=(TAINT,) if draw(st.booleans()) else (),
            allocatable=draw(st.fixed_dictionaries({name: st.integers(0, 16) for name in RESOURCES})),
            gpu=True,
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    workloads = []
    for i in range(draw(st.integers(1, 6))):
        pinned = draw(st.none() | st.sampled_from([g.name for g in groups]))
        workloads.append(
            Workload(
                name=f"w{i}",
                namespace="ns",
                kind=draw(st.sampled_from(["Deployment", "DaemonSet", "StatefulSet"])),
                source="program",
                node_selector={"pool": pinned} if pinned else {},
                tolerations=(TOLERATE,) if draw(st.booleans()) else (),
                required_terms=(),
                requests=draw(requests),
            )
        )
    return groups, workloads


def _lands_on(pod: Workload, group: NodeGroup) -> bool:
    """Stated apart from the check: the group's taint tolerated (if any), its pool selected (if any)."""
    tolerated = TAINT not in group.taints or TOLERATE in pod.tolerations
    return tolerated and pod.node_selector.get("pool", group.labels["pool"]) == group.labels["pool"]


@PROPERTY
@given(drawn=groups_and_workloads())
def test_a_placed_pod_fits_in_what_the_daemonsets_leave(
    drawn: tuple[list[NodeGroup], list[Workload]],
) -> None:
    groups, workloads = drawn
    result = check_placement(groups, workloads)
    by_name = {g.name: g for g in result.groups}
    for placement in result.placements:
        pod = placement.workload
        for name in placement.groups:
            group = by_name[name]
            daemonsets = [w for w in workloads if w.daemonset and _lands_on(w, group)]
            for resource in RESOURCES:
                taken = sum(w.requests.get(resource, 0) for w in daemonsets)
                room = group.allocatable.get(resource, 0) - (0 if pod.daemonset else taken)
                assert pod.requests.get(resource, 0) <= room, (pod.label, name, resource)
