"""GPU agent pools and the NVIDIA software on them, through the real program under mocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from renderers.gpu_software import cluster_policy_sections
from tests.conftest import by_type, one, planned, run_with
from tests.k8s_schemas import crd_schemas, manifest_errors, requires_crds
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests

AP = "azure-native:containerservice:AgentPool"
RELEASE = "kubernetes:helm.sh/v3:Release"
MC = "azure-native:containerservice:ManagedCluster"
GPU_TOL = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
SPOT_TOL = {
    "key": "kubernetes.azure.com/scalesetpriority",
    "operator": "Equal",
    "value": "spot",
    "effect": "NoSchedule",
}
NVIDIA_TOL = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
SYSTEM = {
    "nodeSelector": {"kubernetes.azure.com/mode": "system"},
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
}

HEAD = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
"""


def pools_of(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """AgentPool inputs by agent pool name, without the inputs every resource of the stack shares."""
    return {
        r.inputs["agentPoolName"]: {
            k: v for k, v in r.inputs.items() if k not in {"tags", "resourceGroupName", "resourceName"}
        }
        for r in by_type(run, AP)
    }


def releases(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """Helm release inputs by release name."""
    return {r.inputs["name"]: r.inputs for r in by_type(run, RELEASE)}


def common(vm_size: str, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "User",
        "type": "VirtualMachineScaleSets",
        "osType": "Linux",
        "osSKU": "Ubuntu",
        "vmSize": vm_size,
        "osDiskSizeGB": 256,
        "enableAutoScaling": True,
        **extra,
    }


def labels(pool: str, sku: str, capacity: str, purpose: str, driver: str, **extra: str) -> dict[str, str]:
    return {
        "accelerator": "nvidia",
        "aks-llm/gpu-pool": pool,
        "aks-llm/gpu-sku": sku,
        "aks-llm/capacity-type": capacity,
        "aks-llm/purpose": purpose,
        "aks-llm/gpu-driver": driver,
        **extra,
    }


T4 = "Standard_NC4as_T4_v3"
OPT_OUT = {"nvidia.com/gpu.deploy.operands": "false"}  # the GPU Operator stays off managed nodes
A100 = "Standard_NC24ads_A100_v4"


def test_dev_pools_are_managed_driver_t4_on_demand_0_1_and_spot_0_2() -> None:
    assert pools_of(planned("dev")[1]) == {
        "t4": common(
            T4,
            agentPoolName="t4",
            count=0,
            minCount=0,
            maxCount=1,
            scaleDownMode="Delete",
            scaleSetPriority="Regular",
            gpuProfile={"driver": "Install"},
            nodeLabels=labels("t4", T4, "on-demand", "batch", "managed", **OPT_OUT),
            nodeTaints=["sku=gpu:NoSchedule"],
            upgradeSettings={"maxSurge": "10%", "drainTimeoutInMinutes": 30},
        ),
        "t4sp": common(
            T4,
            agentPoolName="t4sp",
            count=0,
            minCount=0,
            maxCount=2,
            scaleDownMode="Delete",
            scaleSetPriority="Spot",
            scaleSetEvictionPolicy="Delete",
            spotMaxPrice=-1,
            gpuProfile={"driver": "Install"},
            nodeLabels=labels("t4", T4, "spot", "batch", "managed", **OPT_OUT),
            nodeTaints=["sku=gpu:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"],
        ),
    }


# prod's own VNet (Pulumi.prod.yaml virtualNetwork): every pool joins its node subnet (tests/test_network.py)
PROD_NODES = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/mock/VirtualNetwork/vnet-llm-prod/subnets/snet-nodes"
)


def test_prod_pools_are_operator_driven_a100_mig_with_an_on_demand_floor_and_spot_burst() -> None:
    zones = ["1", "2", "3"]
    mig = {"nvidia.com/mig.config": "all-3g.40gb"}
    assert pools_of(planned("prod")[1]) == {
        "a100": common(
            A100,
            agentPoolName="a100",
            availabilityZones=zones,
            count=1,
            minCount=1,
            maxCount=3,
            scaleDownMode="Delete",
            scaleSetPriority="Regular",
            gpuProfile={"driver": "None"},
            nodeLabels=labels("a100", A100, "on-demand", "serving", "operator", **mig),
            nodeTaints=["sku=gpu:NoSchedule"],
            upgradeSettings={"maxSurge": "10%", "drainTimeoutInMinutes": 30},
            vnetSubnetID=PROD_NODES,
        ),
        "a100sp": common(
            A100,
            agentPoolName="a100sp",
            availabilityZones=zones,
            count=1,
            minCount=1,
            maxCount=4,
            scaleDownMode="Delete",
            scaleSetPriority="Spot",
            scaleSetEvictionPolicy="Delete",
            spotMaxPrice=-1,
            gpuProfile={"driver": "None"},
            nodeLabels=labels("a100", A100, "spot", "serving", "operator", **mig),
            nodeTaints=["sku=gpu:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"],
            vnetSubnetID=PROD_NODES,
        ),
    }


def test_agent_pools_keep_autoscaled_count_and_replace_on_driver_or_mig_change(
    stack_run: tuple[str, ProgramRun],
) -> None:
    _stack, run = stack_run
    for pool in by_type(run, AP):
        assert pool.options["ignoreChanges"] == ["count", "orchestratorVersion"]
        assert {"gpuProfile", "gpuInstanceProfile"} <= set(pool.options["replaceOnChanges"])
        assert pool.options["deleteBeforeReplace"] is True
        assert any(d.endswith("ManagedCluster::platform-cluster-aks") for d in pool.options["dependencies"])
        assert pool.parent.endswith("aksllm:platform:GpuPools::platform-gpu-pools")
        assert pool.inputs["tags"]["project"] == "aks-llm"


def test_prod_installs_the_pinned_gpu_operator_tolerating_gpu_and_spot_taints() -> None:
    run = planned("prod")[1]
    # No managed-driver pool, but KAITO's chart provisions phi4's nodes (AKS driver) with its own device
    # plugin off: the standalone device plugin is there for those nodes only.
    expected = {"gpu-operator", "nvidia-device-plugin", "kaito-workspace", "gpu-provisioner"}
    assert set(releases(run)) == expected
    rel = releases(run)["gpu-operator"]
    assert (rel["chart"], rel["version"], rel["repositoryOpts"], rel["namespace"]) == (
        "gpu-operator",
        "v26.7.0",
        {"repo": "https://helm.ngc.nvidia.com/nvidia"},
        "gpu-operator",
    )
    v = rel["values"]
    assert v["daemonsets"]["tolerations"] == [NVIDIA_TOL, GPU_TOL, SPOT_TOL]
    assert v["node-feature-discovery"]["worker"]["tolerations"] == [NVIDIA_TOL, GPU_TOL, SPOT_TOL]
    # operator.version/validator.version pinned: the chart defaults both tags to .Chart.AppVersion
    assert v["operator"] == {**SYSTEM, "version": "v26.7.0"} and v["validator"] == {"version": "v26.7.0"}
    assert v["node-feature-discovery"]["master"] == SYSTEM and v["node-feature-discovery"]["gc"] == SYSTEM
    assert v["driver"] == {"enabled": True} and v["toolkit"] == {"enabled": True}
    assert v["mig"] == {"strategy": "mixed"}
    assert v["migManager"] == {
        "enabled": True,
        "config": {"name": "aks-llm-mig-parted-config", "default": "all-disabled"},
    }
    assert "config" not in v["devicePlugin"]  # no time-slicing in prod
    ns = one(run, "kubernetes:core/v1:Namespace", "platform-gpu-pools-gpu-operator").inputs
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    cm = one(run, "kubernetes:core/v1:ConfigMap", "platform-gpu-pools-mig-parted-config").inputs
    assert cm["metadata"]["name"] == "aks-llm-mig-parted-config"
    parted = yaml.safe_load(cm["data"]["config.yaml"])
    assert parted["mig-configs"]["all-3g.40gb"] == [
        {"devices": "all", "mig-enabled": True, "mig-devices": {"3g.40gb": 2}}
    ]
    assert parted["mig-configs"]["all-disabled"] == [{"devices": "all", "mig-enabled": False}]
    rel_rec = one(run, RELEASE, "platform-gpu-pools-gpu-operator")
    assert any(
        d.endswith("ConfigMap::platform-gpu-pools-mig-parted-config") for d in rel_rec.options["dependencies"]
    )


def test_dev_installs_only_nvidias_device_plugin_pinned_to_managed_nodes() -> None:
    run = planned("dev")[1]
    assert set(releases(run)) == {"nvidia-device-plugin"}
    rel = releases(run)["nvidia-device-plugin"]
    assert (rel["chart"], rel["version"], rel["repositoryOpts"], rel["namespace"]) == (
        "nvidia-device-plugin",
        "0.19.3",
        {"repo": "https://nvidia.github.io/k8s-device-plugin"},
        "nvidia-device-plugin",
    )
    v = rel["values"]
    assert v["migStrategy"] == "mixed"
    assert v["tolerations"] == [NVIDIA_TOL, GPU_TOL, SPOT_TOL]
    assert v["nodeSelector"] == {"aks-llm/gpu-driver": "managed"}
    required = v["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    only_managed = {"key": "aks-llm/gpu-driver", "operator": "In", "values": ["managed"]}
    assert required["nodeSelectorTerms"] == [{"matchExpressions": [only_managed]}]


MIXED = (
    HEAD
    + """  aks-llm:gpuPools:
    - {name: t4, vmSize: Standard_NC4as_T4_v3, purpose: batch, driver: managed,
       onDemand: {max: 2}, spot: {max: 2}}
    - {name: a100, vmSize: Standard_NC24ads_A100_v4, purpose: batch, driver: operator,
       onDemand: {max: 2}, spot: {max: 1}}
"""
)


def test_never_two_drivers_on_one_node(tmp_path: Path) -> None:
    """One managed and one operator pool: each node gets exactly one driver and one device plugin."""
    run = run_with(tmp_path, MIXED)
    assert run.exit_code == 0
    pools = pools_of(run)
    assert set(pools) == {"t4", "t4sp", "a100", "a100sp"}
    rel = releases(run)
    assert set(rel) == {"gpu-operator", "nvidia-device-plugin"}
    plugin_affinity = rel["nvidia-device-plugin"]["values"]["affinity"]["nodeAffinity"]
    (term,) = plugin_affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    (expr,) = term["matchExpressions"]
    for name, p in pools.items():
        node = p["nodeLabels"]
        aks_driver = p["gpuProfile"]["driver"] == "Install"
        # The operator deploys its driver (and every other operand) only where this label is not false.
        operator_operands = node.get("nvidia.com/gpu.deploy.operands") != "false"
        standalone_plugin = node.get(expr["key"]) in expr["values"]
        assert aks_driver != operator_operands, f"{name}: exactly one of AKS driver / GPU Operator"
        assert standalone_plugin == aks_driver, f"{name}: standalone device plugin only beside the AKS driver"
    assert pools["t4"]["gpuProfile"] == {"driver": "Install"}
    assert pools["a100sp"]["gpuProfile"] == {"driver": "None"}
    assert rel["gpu-operator"]["values"]["driver"] == {"enabled": True}


def test_the_driver_rule_refuses_a_managed_pool_that_lost_its_operator_opt_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """If the labels ever drifted, the program would refuse to declare anything."""
    from sizing.node_selection import node_labels

    def drifted(*args: Any) -> dict[str, str]:
        out = node_labels(*args)
        out.pop("nvidia.com/gpu.deploy.operands", None)
        return out

    monkeypatch.setattr("sizing.agent_pools.node_labels", drifted)
    run = run_with(tmp_path, MIXED)
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert (
        "aks-llm:gpuPools[0].driver: agent pool t4 (AKS gpuProfile.driver=Install, "
        "nvidia.com/gpu.deploy.operands=unset): the GPU Operator would install its driver next to "
        "the AKS-installed one"
    ) in err
    assert "agent pool t4sp" in err and "agent pool a100" not in err


def test_managed_mig_uses_gpu_instance_profile_and_the_mixed_device_plugin(tmp_path: Path) -> None:
    run = run_with(
        tmp_path,
        HEAD
        + """  aks-llm:gpuPools:
    - {name: mig, vmSize: Standard_NC24ads_A100_v4, purpose: batch, mig: MIG1g, onDemand: {min: 1, max: 1}}
""",
    )
    assert run.exit_code == 0
    pool = pools_of(run)["mig"]
    assert pool["gpuInstanceProfile"] == "MIG1g" and pool["gpuProfile"] == {"driver": "Install"}
    assert "nvidia.com/mig.config" not in pool["nodeLabels"]  # AKS partitions, no MIG manager
    (row,) = run.outputs["gpuPools"]
    assert (row["mig"], row["gpuResource"]) == ("1g.10gb", "nvidia.com/mig-1g.10gb")
    assert releases(run)["nvidia-device-plugin"]["values"]["migStrategy"] == "mixed"


TIME_SLICED = (
    HEAD
    + """  aks-llm:gpuPools:
    - name: shared
      vmSize: Standard_NV36ads_A10_v5
      purpose: batch
      driver: operator
      timeSlicing: {replicas: 4}
      onDemand: {min: 0, max: 2}
      scaleDownMode: Deallocate
      maxSurge: "1"
"""
)


def test_time_slicing_renders_the_device_plugin_config_and_selects_it_per_pool(tmp_path: Path) -> None:
    run = run_with(tmp_path, TIME_SLICED)
    assert run.exit_code == 0
    cm = one(run, "kubernetes:core/v1:ConfigMap", "platform-gpu-pools-device-plugin-config").inputs
    assert cm["metadata"] | {"labels": None} == {
        "name": "aks-llm-device-plugin-config",
        "namespace": "gpu-operator",
        "labels": None,
    }
    assert yaml.safe_load(cm["data"]["default"]) == {"version": "v1"}
    assert yaml.safe_load(cm["data"]["shared"]) == {
        "version": "v1",
        "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}},
    }
    values = releases(run)["gpu-operator"]["values"]
    assert values["devicePlugin"]["config"] == {"name": "aks-llm-device-plugin-config", "default": "default"}
    assert "config" not in values["migManager"]  # no MIG pool: the operator's own defaults
    pool = pools_of(run)["shared"]
    assert pool["nodeLabels"]["nvidia.com/device-plugin.config"] == "shared"
    # Deallocate for fast restarts needs managed OS disks; the explicit max surge is kept.
    assert (pool["scaleDownMode"], pool["osDiskType"], pool["upgradeSettings"]) == (
        "Deallocate",
        "Managed",
        {"maxSurge": "1", "drainTimeoutInMinutes": 30},
    )


@requires_crds
def test_time_sliced_stack_manifests_validate(tmp_path: Path) -> None:
    manifests = kubernetes_manifests(run_with(tmp_path, TIME_SLICED).resources)
    assert {"Namespace", "ConfigMap"} <= {m["kind"] for m in manifests}
    assert all(manifest_errors(m) == [] for m in manifests)


@requires_crds
@pytest.mark.parametrize("config", ["prod", "time-sliced"])
def test_operator_values_render_a_cluster_policy_the_crd_accepts(config: str, tmp_path: Path) -> None:
    """The chart copies these sections into ClusterPolicy.spec: each must match the CRD (strict)."""
    import jsonschema

    run = planned("prod")[1] if config == "prod" else run_with(tmp_path, TIME_SLICED)
    values = releases(run)["gpu-operator"]["values"]
    spec_schema = crd_schemas()[("nvidia.com", "v1", "ClusterPolicy")]["properties"]["spec"]
    sections = cluster_policy_sections(values)
    assert {"daemonsets", "driver", "toolkit", "mig", "migManager", "devicePlugin"} <= set(sections)
    for section, body in sections.items():
        assert section in spec_schema["properties"], f"{section} is not a ClusterPolicy spec field"
        errors = list(jsonschema.Draft7Validator(spec_schema["properties"][section]).iter_errors(body))
        assert errors == [], (section, [e.message for e in errors])
    bad = {**sections["mig"], "strategy": "both"}
    assert list(jsonschema.Draft7Validator(spec_schema["properties"]["mig"]).iter_errors(bad))
    chart_only = {"enabled": True, "config": {"name": "x", "create": True}}  # a chart key, not spec
    assert list(jsonschema.Draft7Validator(spec_schema["properties"]["devicePlugin"]).iter_errors(chart_only))


def test_autoscaler_profile_dev_returns_idle_gpus_fast_prod_is_tuned_for_serving() -> None:
    dev = one(planned("dev")[1], MC).inputs["autoScalerProfile"]
    prod = one(planned("prod")[1], MC).inputs["autoScalerProfile"]
    assert (dev["scaleDownUnneededTime"], dev["scaleDownDelayAfterAdd"]) == ("5m", "5m")
    assert (prod["scaleDownUnneededTime"], prod["scaleDownDelayAfterAdd"]) == ("30m", "20m")
    for profile in (dev, prod):
        # on-demand before spot of the same SKU (least-waste ties): the priority expander and its ConfigMap
        assert profile["expander"] == "priority"
        assert profile["skipNodesWithSystemPods"] == "true" and profile["scanInterval"] == "10s"


def test_gpu_pool_rows_in_the_outputs() -> None:
    rows = planned("prod")[1].outputs["gpuPools"]
    assert [(r["agentPool"], r["capacity"], r["min"], r["max"], r["driver"], r["mig"]) for r in rows] == [
        ("a100", "on-demand", 1, 3, "operator", "3g.40gb"),
        ("a100sp", "spot", 1, 4, "operator", "3g.40gb"),
    ]
    assert all(r["vmSize"] == A100 and r["purpose"] == "serving" for r in rows)


def test_no_gpu_pools_declare_no_gpu_component(tmp_path: Path) -> None:
    run = run_with(tmp_path, HEAD)
    assert run.exit_code == 0
    assert not by_type(run, AP) and not by_type(run, RELEASE)
    assert run.outputs["gpuPools"] == []


def test_the_driver_rule_refuses_an_operator_pool_labelled_like_a_managed_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sizing.node_selection import node_labels

    def drifted(*args: Any) -> dict[str, str]:
        return {**node_labels(*args), "nvidia.com/gpu.deploy.operands": "false"}

    monkeypatch.setattr("sizing.agent_pools.node_labels", drifted)
    run = run_with(tmp_path, MIXED)
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert "aks-llm:gpuPools[1].driver: agent pool a100 (AKS gpuProfile.driver=None" in err
    assert "leaving their GPUs without a driver" in err and "agent pool t4 " not in err
