"""Node Auto Provisioning through the real program under mocks: the cluster profile, the Karpenter
NodePools and AKSNodeClasses, the NVIDIA software on their nodes, quota, cost and the plan output."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from config.catalog import load_catalog
from config.schema import StackConfig
from sizing.deployments import plan_models
from sizing.nap import nodepool_specs
from sizing.node_selection import nodepool_scheduling
from stack.loader import parse_stack_config
from tests.conftest import ROOT, by_type, one, planned, run_with
from tests.k8s_schemas import manifest_errors, requires_crds
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests, main

MC = "azure-native:containerservice:ManagedCluster"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.azure.com/v1beta1:AKSNodeClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
A100 = "Standard_NC24ads_A100_v4"
T4S = ["Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC64as_T4_v3"]
GPU_TAINT = {"key": "sku", "value": "gpu", "effect": "NoSchedule"}
SPOT_TAINT = {"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}

HEAD = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
"""


def nap_stack(pools: str, extra: str = "", mode: str = "nap", keep: str = "false") -> str:
    return (
        HEAD
        + f"  aks-llm:nodeProvisioning:\n    mode: {mode}\n    keepDefaultNodePools: {keep}\n    nodePools:\n"
        + pools
        + extra
    )


def nodepools(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in by_type(run, NODEPOOL)}


def nodeclasses(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in by_type(run, NODECLASS)}


def stack_config(stack: str) -> StackConfig:
    settings, _ = planned(stack)
    raw = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("aks-llm:")}
    return parse_stack_config(raw, source="x")


# --- the cluster ---------------------------------------------------------------------------------


def test_nap_cluster_runs_node_auto_provisioning_without_the_autoscaler_profile() -> None:
    mc = one(planned("nap")[1], MC).inputs
    assert mc["nodeProvisioningProfile"] == {"mode": "Auto", "defaultNodePools": "None"}
    assert "autoScalerProfile" not in mc
    net = mc["networkProfile"]  # what NAP needs: Azure CNI overlay with the Cilium dataplane
    assert (net["networkPlugin"], net["networkPluginMode"], net["networkDataplane"]) == (
        "azure",
        "overlay",
        "cilium",
    )
    system = mc["agentPoolProfiles"]
    assert [p["name"] for p in system] == ["system"] and system[0]["enableAutoScaling"] is False
    assert by_type(planned("nap")[1], "azure-native:containerservice:AgentPool") == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pool_stacks_keep_the_autoscaler_and_no_nap(stack: str) -> None:
    mc = one(planned(stack)[1], MC).inputs
    assert "nodeProvisioningProfile" not in mc and "autoScalerProfile" in mc
    assert by_type(planned(stack)[1], NODEPOOL) == []


def test_keep_default_node_pools_asks_aks_for_its_default_nodepools(tmp_path: Path) -> None:
    pools = "      - {name: gpu, skus: [Standard_NC24ads_A100_v4], onDemand: {limits: {gpus: 1}}}\n"
    run = run_with(tmp_path, nap_stack(pools, keep="true"))
    assert run.exit_code == 0
    assert one(run, MC).inputs["nodeProvisioningProfile"] == {"mode": "Auto", "defaultNodePools": "Auto"}


# --- NodePools and AKSNodeClasses ----------------------------------------------------------------


def _object_labels(name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "gpu-capacity",
        "app.kubernetes.io/part-of": "aks-llm",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def _requirements(skus: list[str], capacity: str) -> list[dict[str, Any]]:
    return [
        {"key": "karpenter.azure.com/sku-name", "operator": "In", "values": skus},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]


def test_serving_nodepool_is_on_demand_a100_with_limits_and_empty_only_consolidation() -> None:
    serve = nodepools(planned("nap")[1])["serve-od"]
    assert serve == {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "serve-od", "labels": _object_labels("serve-od")},
        "spec": {
            "weight": 100,
            "limits": {"nvidia.com/gpu": "4", "cpu": "96", "memory": "880Gi"},
            "disruption": {
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": "15m",
                "budgets": [
                    {"nodes": "1"},
                    {
                        "nodes": "0",
                        "reasons": ["Underutilized", "Drifted"],
                        "schedule": "0 7 * * 1-5",
                        "duration": "12h",
                    },
                ],
            },
            "template": {
                "metadata": {
                    "labels": {
                        "aks-llm/gpu-pool": "serve",
                        "aks-llm/purpose": "serving",
                        "aks-llm/gpu-driver": "managed",
                        "aks-llm/capacity-type": "on-demand",
                        "nvidia.com/gpu.deploy.operands": "false",
                    }
                },
                "spec": {
                    "nodeClassRef": {"group": "karpenter.azure.com", "kind": "AKSNodeClass", "name": "serve"},
                    "requirements": _requirements([A100], "on-demand"),
                    "taints": [GPU_TAINT],
                    "expireAfter": "720h",
                    # >= every vLLM replica's grace period on it (sizing.drain): the 10m default
                    "terminationGracePeriod": "10m",
                },
            },
        },
    }


def test_batch_nodepool_splits_spot_first_from_an_on_demand_fallback() -> None:
    pools = nodepools(planned("nap")[1])
    assert set(pools) == {"serve-od", "batch-od", "batch-spot"}
    spot, od = pools["batch-spot"]["spec"], pools["batch-od"]["spec"]
    assert (spot["weight"], od["weight"]) == (100, 50)  # batch prefers spot; Karpenter tries 100 first
    assert spot["limits"] == {"nvidia.com/gpu": "4", "cpu": "32"}
    assert od["limits"] == {"nvidia.com/gpu": "1"}
    for spec, capacity in ((spot, "spot"), (od, "on-demand")):
        template = spec["template"]
        assert template["spec"]["requirements"] == _requirements(T4S, capacity)  # the family, catalog only
        assert template["metadata"]["labels"]["aks-llm/capacity-type"] == capacity
        assert "nvidia.com/gpu.deploy.operands" not in template["metadata"]["labels"]  # operator driver
        assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
        assert spec["disruption"]["consolidateAfter"] == "5m"
        assert spec["disruption"]["budgets"] == [{"nodes": "1"}]  # the default: one node at a time
        assert template["spec"]["expireAfter"] == "168h"
    assert spot["template"]["spec"]["taints"] == [GPU_TAINT, SPOT_TAINT]
    assert od["template"]["spec"]["taints"] == [GPU_TAINT]


def test_nodeclasses_set_gpu_mode_driver_for_managed_and_none_for_the_operator() -> None:
    classes = nodeclasses(planned("nap")[1])
    assert {name: c["spec"]["gpu"] for name, c in classes.items()} == {
        "serve": {"mode": "Driver"},
        "batch": {"mode": "None"},
    }
    serve = classes["serve"]
    assert serve["apiVersion"] == "karpenter.azure.com/v1beta1"
    assert (serve["spec"]["imageFamily"], serve["spec"]["osDiskSizeGB"]) == ("Ubuntu2204", 256)
    tags = serve["spec"]["tags"]  # the VMs Karpenter creates carry the stack's tags
    assert tags["stack"] == "nap" and tags["managed-by"] == "pulumi" and tags["project"] == "aks-llm"


def test_custom_resources_use_the_cluster_provider_under_the_node_provisioning_component() -> None:
    run = planned("nap")[1]
    component = one(run, "aksllm:platform:NodeProvisioning")
    provider = one(run, "pulumi:providers:kubernetes").urn
    for r in by_type(run, NODEPOOL) + by_type(run, NODECLASS):
        assert r.parent == component.urn
        assert r.options["provider"].startswith(provider + "::")
    for r in by_type(run, NODEPOOL):  # a NodePool waits for the AKSNodeClass it references
        ref = r.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"]
        assert any(
            d.endswith(f"AKSNodeClass::platform-node-provisioning-nodeclass-{ref}")
            for d in r.options["dependencies"]
        )


@requires_crds
def test_every_nodepool_and_nodeclass_validates_including_the_crd_label_rules(tmp_path: Path) -> None:
    docs = [
        d
        for d in kubernetes_manifests(planned("nap")[1].resources)
        if d["kind"] in {"NodePool", "AKSNodeClass"}
    ]
    assert len(docs) == 5
    assert {
        name: errs for d in docs if (errs := manifest_errors(d)) for name in [d["metadata"]["name"]]
    } == {}
    # the validator is not blind: the agent pools' `accelerator` label is refused on a NodePool
    bad = {**docs[-1]}
    bad["spec"] = {**bad["spec"], "template": {**bad["spec"]["template"]}}
    bad["spec"]["template"]["metadata"] = {"labels": {"accelerator": "nvidia"}}
    assert manifest_errors(bad) == ['labels: label "accelerator" is restricted']


# --- NVIDIA software on NodePool nodes -----------------------------------------------------------


def test_nodepool_nodes_get_the_nvidia_software_of_their_driver() -> None:
    run = planned("nap")[1]
    releases = {r.inputs["name"]: r.inputs for r in by_type(run, RELEASE)}
    # batch: operator, serve: managed (no KAITO chart: KAITO's nodes do not serve on NAP, facts/kaito_nap.py)
    assert set(releases) == {"gpu-operator", "nvidia-device-plugin"}
    plugin_selector = releases["nvidia-device-plugin"]["values"]["nodeSelector"]
    pools = nodepools(run)
    for name, pool in pools.items():
        labels = pool["spec"]["template"]["metadata"]["labels"]
        on_managed = all(labels.get(k) == v for k, v in plugin_selector.items())
        assert on_managed == (name == "serve-od"), name
    tolerated = releases["gpu-operator"]["values"]["daemonsets"]["tolerations"]
    for taint in pools["batch-spot"]["spec"]["template"]["spec"]["taints"]:
        assert any(t["key"] == taint["key"] and t.get("value") == taint["value"] for t in tolerated)


def test_a_nap_stack_with_only_managed_nodepools_installs_only_the_device_plugin(tmp_path: Path) -> None:
    pools = "      - {name: gpu, skus: [Standard_NC24ads_A100_v4], onDemand: {limits: {gpus: 1}}}\n"
    run = run_with(tmp_path, nap_stack(pools))
    assert run.exit_code == 0
    assert [r.inputs["name"] for r in by_type(run, RELEASE)] == ["nvidia-device-plugin"]


# --- models on NodePools -------------------------------------------------------------------------


def test_models_are_sized_on_the_sizing_sku_and_pinned_to_it() -> None:
    cfg, catalog = stack_config("nap"), load_catalog()
    plans = {p.config.name: p for p in plan_models(cfg, catalog)}
    assert {n: p.sku.name for n, p in plans.items()} == {
        "qwen7b": A100,
        "phi4mini": "Standard_NC4as_T4_v3",  # the least GPU memory, then the fewest vCPUs of the family
        "phi4": A100,
    }
    specs = {s.name: s for s in nodepool_specs(cfg, catalog)}
    run = planned("nap")[1]
    rendered = nodepools(run)
    for plan in plans.values():
        if plan.config.runtime != "vllm":
            continue
        assert plan.on_nodepool
        sched = plan.scheduling()
        assert sched == nodepool_scheduling(plan.pool, plan.sku)  # type: ignore[arg-type]
        assert sched.node_selector["karpenter.azure.com/sku-name"] == plan.sku.name
        for spec in (s for s in specs.values() if s.pool.name == plan.pool.name):
            template = rendered[spec.name]["spec"]["template"]
            labels = template["metadata"]["labels"]
            # the selector matches the NodePool's labels, or a requirement Karpenter labels nodes with
            requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
            for key, value in sched.node_selector.items():
                assert labels.get(key) == value or value in requirements.get(key, []), (spec.name, key)
            # and the workload tolerates every taint of every NodePool it may land on
            for taint in template["spec"]["taints"]:
                assert {**taint, "operator": "Equal"} in sched.tolerations
    rows = {r["name"]: r for r in run.outputs["sizing"]}
    assert rows["phi4mini"]["sku"] == "Standard_NC4as_T4_v3" and rows["phi4mini"]["pool"] == "batch"


# --- quota, cost and the plan ---------------------------------------------------------------------


def kaito_nap_text() -> str:
    """The committed nap stack with phi4 on KAITO (the managed add-on, one fixed replica) instead of
    vLLM, and the serve NodePool back to 2 GPUs: how the plan counts the nodes KAITO provisions outside
    the NodePools. (KAITO's own karpenter provisioner is refused on NAP: facts/kaito_nap.py.)"""
    text = (ROOT / "Pulumi.nap.yaml").read_text()
    phi4 = text[text.index("    - name: phi4\n") : text.index("  aks-llm:costComparison:")]
    kaito = (
        "    - name: phi4\n      model: phi-4\n      runtime: kaito\n      pool: serve\n"
        "      replicas: {min: 1, max: 1}\n      scaleToZero: false\n"
    )
    for old, new in [
        (phi4, kaito),
        ("limits: {gpus: 4, cpu: 96, memoryGib: 880}", "limits: {gpus: 2, cpu: 48, memoryGib: 440}"),
        ("standardNCADSA100v4Family: 96", "standardNCADSA100v4Family: 72"),
    ]:
        assert old in text
        text = text.replace(old, new)
    return text


@cache
def kaito_nap_run() -> ProgramRun:
    """The plan of ``kaito_nap_text()`` (once per session)."""
    return run_with(Path(tempfile.mkdtemp(prefix="napk-")), kaito_nap_text())


def test_quota_rows_count_each_nodepool_at_its_limits_on_its_worst_sku() -> None:
    rows = {r["family"]: r for r in planned("nap")[1].outputs["quota"]}
    a100 = rows["standardNCADSA100v4Family"]
    # 4 GPUs = 4 x NC24ads (24 vCPUs)
    assert (a100["needVcpus"], a100["quotaVcpus"], a100["ok"]) == (4 * 24, 96, True)
    t4 = rows["standardNCASv3_T4Family"]
    # 1 GPU on demand: the worst is one NC16as (16 vCPUs); NC64as has 4 GPUs and never fits the limit
    assert (t4["needVcpus"], t4["quotaVcpus"], t4["ok"]) == (16, 16, True)
    assert "Standard_NC16as_T4_v3" in t4["pools"]
    spot = rows["lowPriorityCores"]
    assert (spot["kind"], spot["needVcpus"], spot["ok"]) == ("spot", 32, True)  # the cpu limit: 32
    # A KAITO model's node is counted beside the NodePools' limits
    run = kaito_nap_run()
    a100 = {r["family"]: r for r in run.outputs["quota"]}["standardNCADSA100v4Family"]
    assert (a100["needVcpus"], a100["quotaVcpus"], a100["ok"]) == (48 + 24, 72, True)
    assert a100["pools"].endswith("; kaito phi4: 1 x 24 vCPUs")


def test_cost_rows_price_each_nodepool_capacity_at_its_sizing_sku() -> None:
    cost = planned("nap")[1].outputs["cost"]
    rows = {(r["name"], r["kind"], r["capacity"]): r for r in cost["rows"]}
    serve = rows[("serve", "nodepool", "onDemand")]
    assert (serve["sku"], serve["minNodes"], serve["maxNodes"], serve["pricePerHour"]) == (A100, 0, 4, 3.673)
    # qwen7b and phi4 each pre-warm one replica (one A100 node) in business hours: 50 h a week each
    assert serve["nodeHoursPerMonth"] == pytest.approx(2 * 50 * 730 / 168, abs=0.2)
    spot = rows[("batch", "nodepool", "spot")]
    assert (spot["sku"], spot["maxNodes"]) == ("Standard_NC4as_T4_v3", 4)
    assert rows[("batch", "nodepool", "onDemand")]["maxNodes"] == 1
    assert not any(kind == "kaito" for _, kind, _ in rows)
    assert any("NodePool batch: priced at its sizing SKU" in n for n in cost["notes"])
    kaito = {(r["name"], r["kind"], r["capacity"]): r for r in kaito_nap_run().outputs["cost"]["rows"]}
    assert kaito[("phi4", "kaito", "onDemand")]["maxNodes"] == 1  # KAITO's node, counted apart


def test_plan_prints_the_nodepools_and_kaito_nodes_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Pulumi.napk.yaml"
    path.write_text(kaito_nap_text())
    assert main(["--stack", "napk", "--config-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Karpenter NodePools (Node Auto Provisioning" in out
    assert "GPU agent pools: none configured." not in out
    for name in ("serve-od", "batch-od", "batch-spot"):
        assert name in out
    assert "do not govern them" in out and "karpenter.sh/do-not-disrupt" in out
    assert "GPU nodes KAITO provisions itself (not governed by the NodePools' limits): up to 1" in out
    nap = kaito_nap_run().outputs["nodeProvisioning"]
    assert nap["kaitoNodes"] == [
        {"model": "phi4", "sku": A100, "nodesPerReplica": 1, "replicasMax": 1, "maxNodes": 1}
    ]
    assert nap["kaitoMaxNodes"] == 1
    assert planned("nap")[1].outputs["nodeProvisioning"].get("kaitoNodes", []) == []


def test_pool_stacks_report_kaito_nodes_apart_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert "Karpenter NodePools" not in out
    assert "GPU nodes KAITO provisions itself (not governed by the GPU pools' min/max)" in out


def test_models_on_gpu_pools_keep_the_pool_scheduling() -> None:
    from sizing.node_selection import pool_scheduling

    (plan,) = plan_models(stack_config("dev"), load_catalog())
    assert not plan.on_nodepool
    assert plan.scheduling() == pool_scheduling(plan.pool, plan.sku)  # type: ignore[arg-type]
    assert "karpenter.azure.com/sku-name" not in plan.scheduling().node_selector


def test_nodepools_carry_the_labels_and_taints_of_the_scheduling_module() -> None:
    cfg, catalog = stack_config("nap"), load_catalog()
    rendered = nodepools(planned("nap")[1])
    specs = nodepool_specs(cfg, catalog)
    assert {s.name for s in specs} == set(rendered)
    for spec in specs:
        template = rendered[spec.name]["spec"]["template"]
        sched = nodepool_scheduling(spec.pool, spec.sizing_sku, spec.capacity)
        assert template["metadata"]["labels"] == sched.labels
        assert [{**t, "operator": "Equal"} for t in template["spec"]["taints"]] == sched.tolerations
