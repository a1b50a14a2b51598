"""GPU pool rules over the pure loader and rules (messages, the spot-floor property); one refusal through
the real program (exit 2, nothing declared, the same message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalog import load_catalog
from config.errors import ConfigError
from sizing.agent_pools import agent_pool_specs
from stack.loader import parse_stack_config
from tests.conftest import by_type, rules_refusal, run_with

HEAD = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools:
"""


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], pools: str, extra: str = "") -> str:
    """The rules' refusal: the pure loader and rules, no program run (the program's side:
    ``test_the_program_exits_2_with_the_rules_message``)."""
    err = rules_refusal(tmp_path, HEAD + pools + extra)
    assert "Nothing was created" in err
    return err


def test_the_program_exits_2_with_the_rules_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One refusal through the real program: exit 2, nothing registered, exactly the rules' message."""
    text = HEAD + "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, purpose: serving, spot: {max: 4}}\n"
    run = run_with(tmp_path, text)
    err = capsys.readouterr().err
    assert run.exit_code == 2, err
    assert run.resources == []
    assert rules_refusal(tmp_path, text) in err
    assert "aks-llm:gpuPools[0].onDemand: serving pool gpu would run on spot VMs alone" in err


def accepted(tmp_path: Path, pools: str, extra: str = "") -> None:
    run = run_with(tmp_path, HEAD + pools + extra)
    assert run.exit_code == 0


def test_serving_pool_with_spot_and_no_on_demand_floor_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        tmp_path,
        capsys,
        "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, purpose: serving,"
        " onDemand: {min: 0, max: 2}, spot: {max: 4}}\n",
    )
    assert "aks-llm:gpuPools[0].onDemand.min: serving pool gpu would run on spot VMs alone" in err
    assert "evicted with 30 s notice" in err and "(got 0)" in err
    assert "accepted: onDemand: {min: 1 or more" in err


def test_serving_pool_on_spot_only_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(
        tmp_path,
        capsys,
        "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, purpose: serving, spot: {max: 4}}\n",
    )
    assert "aks-llm:gpuPools[0].onDemand: serving pool gpu would run on spot VMs alone" in err
    assert "(got nothing)" in err


@pytest.mark.parametrize(
    ("vm_size", "gpu"),
    [("Standard_NC4as_T4_v3", "T4"), ("Standard_NV36ads_A10_v5", "A10")],
)
def test_mig_on_a_gpu_without_mig_is_refused(
    vm_size: str, gpu: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        tmp_path,
        capsys,
        f"    - {{name: gpu, vmSize: {vm_size}, purpose: batch, mig: 1g.10gb, onDemand: {{max: 1}}}}\n",
    )
    assert f"aks-llm:gpuPools[0].mig: {gpu} ({vm_size}) has no MIG profiles" in err
    assert "T4, A10 and V100 have no MIG at all" in err
    assert "accepted: no mig on this pool, or a SKU with MIG profiles: " in err
    assert "Standard_NC24ads_A100_v4" in err and "Standard_NC4as_T4_v3," not in err


def test_mig_profile_of_another_gpu_memory_size_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        tmp_path,
        capsys,
        "    - {name: gpu, vmSize: Standard_ND96asr_v4, purpose: batch, mig: 1g.10gb, onDemand: {max: 1}}\n",
    )
    assert "aks-llm:gpuPools[0].mig: not a MIG profile of the A100 40GB (40 GB) of Standard_ND96asr_v4" in err
    assert "1g.5gb (MIG1g)" in err


def test_managed_mig_needs_a_profile_aks_can_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = (
        "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, purpose: batch, mig: 1g.20gb, "
        "onDemand: {min: 1, max: 1"
    )
    err = refused(tmp_path, capsys, pool + "}}\n")
    assert "aks-llm:gpuPools[0].mig: AKS has no gpuInstanceProfile for 1g.20gb" in err
    assert "accepted: driver: operator" in err and "1g.10gb (MIG1g)" in err
    # The GPU Operator's MIG manager can create it.
    run = run_with(tmp_path, HEAD + pool + "}, driver: operator}\n")
    assert run.exit_code == 0
    (cm,) = [
        r
        for r in by_type(run, "kubernetes:core/v1:ConfigMap")
        if r.name == "platform-gpu-pools-mig-parted-config"
    ]
    parted = yaml.safe_load(cm.inputs["data"]["config.yaml"])
    assert parted["mig-configs"]["all-1g.20gb"][0]["mig-devices"] == {"1g.20gb": 4}


def test_time_slicing_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, onDemand: {min: 1, max: 1}, driver: "
    managed = refused(tmp_path, capsys, base + "managed, purpose: batch, timeSlicing: {replicas: 4}}\n")
    assert "aks-llm:gpuPools[0].timeSlicing: time-slicing is configured through the GPU Operator" in managed
    assert "accepted: driver: operator on pool gpu" in managed
    with_mig = refused(
        tmp_path,
        capsys,
        base + "operator, purpose: batch, mig: 3g.40gb, timeSlicing: {replicas: 2}}\n",
    )
    assert "MIG and time-slicing cannot be combined on one pool" in with_mig
    serving = refused(tmp_path, capsys, base + "operator, purpose: serving, timeSlicing: {replicas: 2}}\n")
    assert "which a serving pool does not accept by default" in serving
    assert "acceptNoisyNeighbours: true" in serving
    accepted(
        tmp_path,
        base + "operator, purpose: serving, timeSlicing: {replicas: 2, acceptNoisyNeighbours: true}}\n",
    )


def test_deallocate_on_a_spot_pool_is_accepted_and_applied() -> None:
    # AKS supports Deallocate on spot pools since Scale-down Mode's GA (scale-down-mode.md)
    from config.catalog import load_catalog
    from config.schema import StackConfig
    from rules.check import check_rules
    from sizing.agent_pools import agent_pool_specs

    config = StackConfig.model_validate(
        {
            "location": "swedencentral",
            "gpuPools": [
                {
                    "name": "gpu",
                    "vmSize": "Standard_NC4as_T4_v3",
                    "purpose": "batch",
                    "spot": {"max": 2},
                    "scaleDownMode": "Deallocate",
                }
            ],
        }
    )
    assert not [p for p in check_rules(config, load_catalog()) if "scaleDownMode" in p.path]
    (spec,) = agent_pool_specs(config, load_catalog())
    assert (spec.capacity, spec.scale_down_mode) == ("spot", "Deallocate")


def test_zero_max_is_refused_by_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(
        tmp_path,
        capsys,
        "    - {name: gpu, vmSize: Standard_NC4as_T4_v3, purpose: batch, onDemand: {min: 0, max: 0}}\n",
    )
    assert "aks-llm:gpuPools[0].onDemand.max: out of range (got 0)" in err


def test_model_that_does_not_fit_its_mig_slice_is_refused_naming_the_slice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        tmp_path,
        capsys,
        "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, purpose: batch, mig: MIG1g,"
        " onDemand: {max: 1}}\n",
        "  aks-llm:models:\n"
        "    - {name: m, model: llama-3.1-8b-instruct, runtime: vllm, pool: gpu, purpose: batch,"
        " workload: {maxModelLen: 8192}}\n",
    )
    assert "aks-llm:models[0]: does not fit on pool gpu (Standard_NC24ads_A100_v4, MIG 1g.10gb)" in err


def test_all_problems_are_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(
        tmp_path,
        capsys,
        "    - {name: a, vmSize: Standard_NC4as_T4_v3, purpose: serving, mig: 1g.10gb, spot: {max: 1}}\n"
        "    - {name: b, vmSize: Standard_NC4as_T4_v3, purpose: batch, timeSlicing: {replicas: 2},"
        " onDemand: {max: 1}}\n",
    )
    assert "(3 problems)" in err
    for path in ("gpuPools[0].onDemand:", "gpuPools[0].mig:", "gpuPools[1].timeSlicing:"):
        assert "aks-llm:" + path in err


capacity = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 3), st.integers(1, 4)).filter(lambda t: t[0] <= t[1]),
)


@settings(max_examples=100, deadline=None)
@given(
    purpose=st.sampled_from(["serving", "batch"]),
    on_demand=capacity,
    spot=capacity,
)
def test_the_rules_accept_exactly_the_pools_that_keep_serving_off_spot_alone(
    purpose: str,
    on_demand: tuple[int, int] | None,
    spot: tuple[int, int] | None,
) -> None:
    """Over the pure loader and plan (the program's exit 2 and its AgentPools: the tests above and
    test_gpu_pools): refused iff a serving pool has spot without an on-demand floor; else one agent
    pool per capacity with the configured bounds."""
    if on_demand is None and spot is None:
        return  # the schema requires some capacity (tested in test_config)
    pool: dict[str, object] = {"name": "gpu", "vmSize": "Standard_NC24ads_A100_v4", "purpose": purpose}
    if on_demand:
        pool["onDemand"] = {"min": on_demand[0], "max": on_demand[1]}
    if spot:
        pool["spot"] = {"min": spot[0], "max": spot[1]}
    raw = {
        "location": "swedencentral",
        "cluster": json.dumps({"apiServer": {"privateCluster": True}}),
        "gpuPools": json.dumps([pool]),
    }
    ok = not (purpose == "serving" and spot is not None and (on_demand is None or on_demand[0] < 1))
    try:
        config = parse_stack_config(raw, source="Pulumi.test.yaml")
    except ConfigError as error:
        assert not ok, error.render()
        assert [p.path for p in error.problems] in (["gpuPools[0].onDemand"], ["gpuPools[0].onDemand.min"])
        return
    assert ok
    pools = {spec.name: (spec.min_count, spec.max_count) for spec in agent_pool_specs(config, load_catalog())}
    expected = {}
    if on_demand:
        expected["gpu"] = on_demand
    if spot:
        expected["gpusp"] = spot
    assert pools == expected


def test_a_mig_pool_cannot_scale_up_from_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = (
        "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, purpose: batch, driver: operator, mig: 3g.40gb, "
        "onDemand: {min: 1, max: 2}, spot: {min: 0, max: 2}}\n"
    )
    err = refused(tmp_path, capsys, pool)
    assert "aks-llm:gpuPools[0].spot.min: pool gpu cuts its GPUs into MIG 3g.40gb slices" in err
    assert "Azure/AKS#5161" in err and "accepted: spot.min: 1 or more" in err
    assert "gpuPools[0].onDemand.min" not in err
    run = run_with(tmp_path, HEAD + pool.replace("spot: {min: 0", "spot: {min: 1"))
    assert run.exit_code == 0
