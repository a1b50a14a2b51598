"""NAP refusals through the real program (exit 2, nothing declared, one message naming the key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import rules_refusal, run_with

HEAD = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
"""
A100_POOL = "      - {name: serve, skus: [Standard_NC24ads_A100_v4], onDemand: {limits: {gpus: 2}}}\n"


def nap(pools: str, extra: str = "", mode: str = "nap") -> str:
    return HEAD + f"  aks-llm:nodeProvisioning:\n    mode: {mode}\n    nodePools:\n" + pools + extra


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str) -> str:
    """The rules' refusal of ``stack``: the pure loader and rules, no program run (the program's side:
    ``refused_by_the_program``, in the first test)."""
    err = rules_refusal(tmp_path, stack)
    assert "Nothing was created" in err and "Traceback" not in err
    return err


def refused_by_the_program(tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str) -> str:
    run = run_with(tmp_path, stack)
    err = capsys.readouterr().err
    assert run.exit_code == 2, err
    assert run.resources == []
    assert rules_refusal(tmp_path, stack) in err
    return err


def test_nap_mode_refuses_autoscaled_gpu_pools_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = (
        "  aks-llm:gpuPools:\n"
        "    - {name: t4, vmSize: Standard_NC4as_T4_v3, purpose: batch, onDemand: {max: 1}}\n"
    )
    err = refused_by_the_program(tmp_path, capsys, nap(A100_POOL, pools))  # the one program run
    assert (
        "aks-llm:gpuPools: nodeProvisioning.mode is nap, and AKS refuses node pools with the cluster " in err
    )
    assert "autoscaler enabled when the cluster's nodeProvisioningProfile.mode is Auto" in err
    assert "(got ['t4'])" in err
    assert "accepted: declare this GPU capacity under nodeProvisioning.nodePools" in err


def test_pools_mode_refuses_nodepools(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(tmp_path, capsys, nap(A100_POOL, mode="pools"))
    assert "aks-llm:nodeProvisioning.nodePools: Karpenter NodePools need Node Auto Provisioning" in err
    assert "accepted: nodeProvisioning.mode: nap (with no gpuPools)" in err


def test_the_cluster_autoscaler_profile_is_refused_in_nap_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = nap(A100_POOL).replace(
        "{apiServer: {privateCluster: true}}",
        "{apiServer: {privateCluster: true}, autoscaler: {scaleDownUnneededTime: 5m}}",
    )
    err = refused(tmp_path, capsys, stack)
    assert "aks-llm:cluster.autoscaler: in NAP mode no node pool is autoscaled" in err
    assert "tune nodeProvisioning.nodePools[].disruption" in err


@pytest.mark.parametrize(
    ("skus", "path", "message", "hint"),
    [
        (
            "skus: [Standard_NC24ads_A100_v5]",
            "skus[0]",
            "not a GPU SKU in the catalog: a NodePool may only provision catalog GPU SKUs",
            "did you mean Standard_NC24ads_A100_v4",
        ),
        ("skus: [Standard_D4ds_v5]", "skus[0]", "not a GPU SKU in the catalog", "one of Standard_NC"),
        ("skus: [Standard_NC6s_v3]", "skus[0]", "this series was retired by Azure on 2025-09-30", ""),
        (
            "skuFamilies: [NCads_A100_v5]",
            "skuFamilies[0]",
            "not a series of catalog GPU SKUs (Karpenter's own sku-family label is only the series letter",
            "did you mean NCads_H100_v5, NCads_A100_v4",
        ),
        (
            "skuFamilies: [N]",
            "skuFamilies[0]",
            "not a series of catalog GPU SKUs",
            "NCas_T4_v3 (Standard_NC4as",
        ),
    ],
)
def test_nodepool_skus_must_be_catalog_gpu_skus(
    skus: str, path: str, message: str, hint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = f"      - {{name: gpu, purpose: batch, {skus}, spot: {{limits: {{gpus: 4}}}}}}\n"
    err = refused(tmp_path, capsys, nap(pools))
    assert f"aks-llm:nodeProvisioning.nodePools[0].{path}: {message}" in err
    assert hint in err


def test_a_family_of_only_retired_skus_is_not_a_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = "      - {name: gpu, purpose: batch, skuFamilies: [NCs_v3], spot: {limits: {gpus: 4}}}\n"
    err = refused(tmp_path, capsys, nap(pools))
    assert "aks-llm:nodeProvisioning.nodePools[0].skuFamilies[0]: this series was retired by Azure" in err
    assert "did you mean" not in err  # never a retired SKU or series proposed (issue 20)


def test_limits_below_one_node_of_the_sizing_sku_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = "      - {name: big, skus: [Standard_NC48ads_A100_v4], onDemand: {limits: {gpus: 2, cpu: 24}}}\n"
    err = refused(tmp_path, capsys, nap(pools))
    assert (
        "aks-llm:nodeProvisioning.nodePools[0].onDemand.limits: below one node of Standard_NC48ads_A100_v4"
        in err
    )
    assert "(2 GPU(s), 48 vCPUs, 440 GiB)" in err and "Karpenter could never launch it" in err
    assert "accepted: limits of at least gpus: 2, cpu: 48, memoryGib: 440" in err


def test_a_serving_nodepool_on_spot_alone_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = "      - {name: serve, skus: [Standard_NC24ads_A100_v4], spot: {limits: {gpus: 2}}}\n"
    err = refused(tmp_path, capsys, nap(pools))
    assert (
        "aks-llm:nodeProvisioning.nodePools[0].onDemand: serving NodePool serve would run on spot VMs alone"
        in err
    )
    assert "(got nothing)" in err


def test_operator_nodepools_must_share_one_image_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = (
        "      - {name: a, purpose: batch, driver: operator, skus: [Standard_NC4as_T4_v3],"
        " spot: {limits: {gpus: 1}}}\n"
        "      - {name: b, purpose: batch, driver: operator, imageFamily: AzureLinux,"
        " skus: [Standard_NV36ads_A10_v5], spot: {limits: {gpus: 1}}}\n"
        "      - {name: c, purpose: batch, driver: managed, imageFamily: AzureLinux,"
        " skus: [Standard_NV36ads_A10_v5], spot: {limits: {gpus: 1}}}\n"
    )
    err = refused(tmp_path, capsys, nap(pools))
    assert (
        "aks-llm:nodeProvisioning.nodePools[1].imageFamily: the NVIDIA GPU Operator is not compatible" in err
    )
    assert "operator NodePool a (nodeProvisioning.nodePools[0]) uses Ubuntu2204" in err
    assert "nodePools[2]" not in err  # the managed driver is AKS's business


def test_quota_too_small_for_a_nodepool_at_its_limits_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = "      - {name: batch, purpose: batch, skuFamilies: [NCas_T4_v3], spot: {limits: {gpus: 4}}}\n"
    quota = "  aks-llm:quota: {spotVcpus: 32}\n"
    err = refused(tmp_path, capsys, nap(pools, quota))
    # 4 GPUs: the worst allowed SKU is one NC64as (4 x T4, 64 vCPUs) or 4 x NC16as (64 vCPUs)
    assert "aks-llm:quota.spotVcpus: the pools need 64 vCPUs at their maximum" in err
    assert "batch-spot: 4 x 16 vCPUs (Standard_NC16as_T4_v3 at the NodePool's limits)" in err
    assert "(got 32)" in err


def test_a_model_must_name_a_nodepool_in_nap_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = "  aks-llm:models:\n    - {name: m, model: phi-4-mini-instruct, pool: serv}\n"
    err = refused(tmp_path, capsys, nap(A100_POOL, models))
    assert "aks-llm:models[0].pool: no NodePool of that name (got 'serv')" in err
    assert "accepted: did you mean serve? one of serve" in err


def test_a_model_that_does_not_fit_the_sizing_sku_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = "      - {name: t4, purpose: batch, skuFamilies: [NCas_T4_v3], spot: {limits: {gpus: 4}}}\n"
    # 61 GiB of qwen2.5-32b weights: no T4 size holds them (4 x 14.1 GiB x 0.9 = 50.8 GiB on NC64as)
    models = "  aks-llm:models:\n    - {name: m, model: qwen2.5-32b-instruct, pool: t4, purpose: batch}\n"
    err = refused(tmp_path, capsys, nap(pools, models))
    assert (
        "aks-llm:models[0]: does not fit on pool t4 (Standard_NC4as_T4_v3, the NodePool's sizing SKU: no "
        "allowed SKU holds it, sized on the smallest)" in err
    )
    assert "Standard_NC24ads_A100_v4" in err  # a SKU where it fits


@pytest.mark.parametrize(
    ("fields", "path", "fragment"),
    [
        ("name: kaito", "nodeProvisioning.nodePools[0].name", "NodePool name 'kaito' is reserved"),
        ("name: default", "nodeProvisioning.nodePools[0].name", "AKS's own AKSNodeClass and NodePool"),
        ("name: x, imageFamily: Windows2022", "nodeProvisioning.nodePools[0].imageFamily", "not an accepted"),
        (
            "name: x, disruption: {consolidateAfter: 5 minutes}",
            "nodeProvisioning.nodePools[0].disruption.consolidateAfter",
            "not in the accepted form",
        ),
        (
            "name: x, disruption: {consolidationPolicy: Always}",
            "nodeProvisioning.nodePools[0].disruption.consolidationPolicy",
            "'WhenEmpty' or 'WhenEmptyOrUnderutilized'",
        ),
        (
            "name: x, disruption: {budgets: [{nodes: lots}]}",
            "nodeProvisioning.nodePools[0].disruption.budgets[0].nodes",
            "not in the accepted form",
        ),
        (
            "name: x, disruption: {budgets: [{nodes: '0', schedule: '@daily'}]}",
            "nodeProvisioning.nodePools[0].disruption.budgets[0].duration",
            "schedule and duration go together",
        ),
        ("name: x, osDiskSizeGb: 4096", "nodeProvisioning.nodePools[0].osDiskSizeGb", "out of range"),
    ],
)
def test_values_the_karpenter_crds_would_refuse_are_config_errors(
    fields: str, path: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = f"      - {{{fields}, skus: [Standard_NC24ads_A100_v4], onDemand: {{limits: {{gpus: 1}}}}}}\n"
    err = refused(tmp_path, capsys, nap(pools))
    assert f"aks-llm:{path}: " in err
    assert fragment in err


def test_a_nodepool_needs_skus_capacity_and_gpu_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tmp_path, capsys, nap("      - {name: x, onDemand: {limits: {cpu: 8}}}\n"))
    assert "aks-llm:nodeProvisioning.nodePools[0].onDemand.limits.gpus: required key is missing" in err
    err = refused(tmp_path, capsys, nap("      - {name: x, skus: [Standard_NC24ads_A100_v4]}\n"))
    assert "a NodePool needs onDemand and/or spot capacity, each with its limits" in err


def test_gpu_pools_and_nodepools_share_one_name_space(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = (
        "  aks-llm:gpuPools:\n"
        "    - {name: serve, vmSize: Standard_NC24ads_A100_v4, onDemand: {min: 1, max: 1}}\n"
    )
    err = refused(tmp_path, capsys, nap(A100_POOL, pools))
    assert (
        "aks-llm:nodeProvisioning.nodePools[0].name: the name is already used by gpuPools[0] (got 'serve')"
        in err
    )
