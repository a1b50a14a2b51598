"""vCPU quota: the need per family (pure), its table in the outputs and plan, and the refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.catalog import load_catalog
from planning.stack_plan import plan_stack
from sizing.quota import surge_nodes
from stack.loader import parse_stack_config
from tests.conftest import planned, run_with
from tools.plan import main

A100_FAMILY = "standardNCADSA100v4Family"
STACK = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}, systemPool: {count: 2, maxSurge: "50%"}}
  aks-llm:gpuPools:
    - {name: small, vmSize: Standard_NC24ads_A100_v4, purpose: batch, onDemand: {max: 2}, spot: {max: 3}}
    - {name: big, vmSize: Standard_NC48ads_A100_v4, purpose: batch, onDemand: {max: 1}, maxSurge: "1"}
    - {name: t4, vmSize: Standard_NC4as_T4_v3, purpose: batch, spot: {max: 5}}
"""


@pytest.mark.parametrize(
    ("surge", "nodes", "extra"),
    [("10%", 3, 1), ("33%", 1, 1), ("50%", 4, 2), ("100%", 3, 3), ("1", 5, 1), ("3", 2, 3), (None, 4, 0)],
)
def test_surge_nodes_round_percentages_up(surge: str | None, nodes: int, extra: int) -> None:
    assert surge_nodes(surge, nodes) == extra


def test_need_is_summed_per_family_with_spot_on_the_regional_low_priority_quota() -> None:
    cfg = parse_stack_config(
        {
            "location": "swedencentral",
            "cluster": '{"apiServer": {"privateCluster": true},'
            ' "systemPool": {"count": 2, "maxSurge": "50%"}}',
            "gpuPools": '[{"name": "small", "vmSize": "Standard_NC24ads_A100_v4", "purpose": "batch",'
            ' "onDemand": {"max": 2}, "spot": {"max": 3}},'
            ' {"name": "big", "vmSize": "Standard_NC48ads_A100_v4", "purpose": "batch",'
            ' "onDemand": {"max": 1}, "maxSurge": "1"},'
            ' {"name": "t4", "vmSize": "Standard_NC4as_T4_v3", "purpose": "batch", "spot": {"max": 5}}]',
            "quota": '{"families": {"standardNCADSA100v4Family": 200}}',
        },
        source="test",
    )
    rows = {r.family: r for r in plan_stack(cfg, load_catalog()).quota}
    assert list(rows) == ["standardDDSv5Family", A100_FAMILY, "lowPriorityCores"]
    a100 = rows[A100_FAMILY]
    # small: (2 + ceil(10% of 2) = 1 surge) x 24 = 72; big: (1 + 1 surge) x 48 = 96
    assert [(p.agent_pool, p.vcpus) for p in a100.pools] == [("small", 72), ("big", 96)]
    assert (a100.need, a100.quota, a100.ok) == (168, 200, True)
    spot = rows["lowPriorityCores"]
    assert [(p.agent_pool, p.vcpus) for p in spot.pools] == [("smallsp", 72), ("t4sp", 20)]  # no surge
    assert (spot.kind, spot.need, spot.quota, spot.ok) == ("spot", 92, None, None)
    assert rows["standardDDSv5Family"].need == (2 + 1) * 4


def test_prod_outputs_the_quota_table_within_its_declared_quota() -> None:
    rows = planned("prod")[1].outputs["quota"]
    assert [(r["family"], r["kind"], r["needVcpus"], r["quotaVcpus"], r["ok"]) for r in rows] == [
        ("standardDDSv5Family", "on-demand", 16, 32, True),
        (A100_FAMILY, "on-demand", 96 + 72, 168, True),
        ("lowPriorityCores", "spot", 96, 96, True),
    ]
    # KAITO provisions phi4's on-demand nodes itself (1 node per replica x 3 replicas max)
    assert rows[1]["pools"] == "a100: (3 + 1 surge) x 24 vCPUs; kaito phi4: 3 x 24 vCPUs"


def test_exceeded_quota_is_refused_naming_pools_need_and_quota(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(
        tmp_path,
        STACK + f"  aks-llm:quota: {{families: {{{A100_FAMILY}: 120}}, spotVcpus: 80}}\n",
    )
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert (
        f"aks-llm:quota.families.{A100_FAMILY}: the pools need 168 vCPUs at their maximum "
        "(small: (2 + 1 surge) x 24 vCPUs; big: (1 + 1 surge) x 48 vCPUs), more than the declared "
        f"{A100_FAMILY} quota of 120 (got 120)"
    ) in err
    assert "accepted: a quota of at least 168 vCPUs" in err
    assert "aks-llm:quota.spotVcpus: the pools need 92 vCPUs" in err
    assert "smallsp: 3 x 24 vCPUs; t4sp: 5 x 4 vCPUs" in err
    assert "regional spot (low-priority) quota of 80" in err


def test_a_misspelt_quota_family_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_with(tmp_path, STACK + "  aks-llm:quota: {families: {standardNCADSA100v4Famly: 500}}\n")
    assert run.exit_code == 2
    err = capsys.readouterr().err
    assert "aks-llm:quota.families.standardNCADSA100v4Famly: not a VM quota family" in err
    assert f"did you mean {A100_FAMILY}?" in err


def test_the_plan_prints_the_need_per_family_even_without_declared_quota(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.q.yaml"
    stack.write_text(STACK)
    assert main(["--stack", "q", "--config-file", str(stack)]) == 0
    out = capsys.readouterr().out
    table = out.split("vCPU quota needed per family")[1]
    lines = {line.split()[0]: line for line in table.splitlines()[2:5]}
    assert lines[A100_FAMILY].split()[1:5] == ["on-demand", "168", "-", "not"]
    assert lines["lowPriorityCores"].split()[1:3] == ["spot", "92"]
    assert "GPU agent pools:" in out and "smallsp" in out


def test_committed_stacks_plans_show_the_pool_and_quota_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "t4sp" in out and "standardNCASv3_T4Family  on-demand  8             16     ok" in out
