"""The plan-time scheduling check: the pinned charts rendered by a real Helm engine (helm-python-sdk),
the node groups of the plan, and the refusals (no home, duplicate GPU function, GPU pod on the
system pool, CPU pod on a GPU pool).

Rendering tests need the upstream chart trees in ../shared/charts and skip without them; the pure
model tests always run.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.catalog import load_catalog
from config.schema import StackConfig
from renderers.helm_values import ReleaseSpec, release_specs
from sizing.node_groups import AKS_MANAGED_GPU_STACK, node_groups, workloads_of
from sizing.placement import (
    GIB,
    MB,
    MIB,
    NodeGroup,
    NodeTaint,
    Workload,
    admits,
    allocatable,
    check_placement,
    kube_reserved_cpu_millis,
    kube_reserved_memory,
    operator_node_labels,
    quantity,
    tolerates,
)
from stack.loader import parse_stack_config
from tests.conftest import PROGRAM_PACKAGES, ROOT, planned
from tools import charts
from tools.plan import kubernetes_manifests
from tools.scheduling_check import check_scheduling

CATALOG = load_catalog()
SHARED_CHARTS = ROOT.parent / "shared" / "charts"
needs_charts = pytest.mark.skipif(
    not SHARED_CHARTS.is_dir(), reason=f"upstream chart trees not found at {SHARED_CHARTS} (../shared)"
)


def stack_config(stack: str, addons: dict[str, Any] | None = None) -> StackConfig:
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("aks-llm:")}
    if addons:
        values["addons"] = {**values.get("addons", {}), **addons}
    return parse_stack_config(values, source=f"Pulumi.{stack}.yaml (variant)")


def messages(report: Any) -> list[str]:
    return [p.message for p in report.problems]


# --- AKS node resource reservations (node-resource-reservations.md @11fb7fb8) ----------------------


def test_kube_reserved_cpu_is_the_aks_table_and_interpolates_between_its_points() -> None:
    # lines 26-28: 1, 2, 4, 8, 16, 32, 64 cores -> 60, 100, 140, 180, 260, 420, 740 m
    table = {1: 60, 2: 100, 4: 140, 8: 180, 16: 260, 32: 420, 64: 740}
    assert {c: kube_reserved_cpu_millis(c) for c in table} == table
    assert kube_reserved_cpu_millis(24) == 340  # NC24ads_A100_v4: between 16 and 32 cores
    assert kube_reserved_cpu_millis(96) == 1060  # beyond the table: 10 m per core, as from 8 cores on


def test_kube_reserved_memory_follows_the_docs_examples() -> None:
    # line 40: 8 GB, 30 max pods -> 20 MB x 30 + 50 MB = 650 MB; line 41: 4 GB, 70 pods -> 25 % = 1000 MB
    assert kube_reserved_memory(8000 * MB, max_pods=30) == 650 * MB
    assert kube_reserved_memory(4000 * MB, max_pods=70) == 1000 * MB


def test_allocatable_of_an_a100_node_subtracts_reservations_and_eviction() -> None:
    sku = CATALOG.skus["Standard_NC24ads_A100_v4"]
    alloc = allocatable(sku.vcpus, sku.memory_gib, {"nvidia.com/gpu": 1})
    assert alloc["cpu"] == 24_000 - 340
    # 250 pods (Azure CNI Overlay default): 20 MB x 250 + 50 MB = 5050 MB < 25 % of 220 GiB
    assert alloc["memory"] == sku.memory_gib * GIB - 5050 * MB - 100 * MIB
    assert alloc["nvidia.com/gpu"] == 1


def test_quantities() -> None:
    assert quantity("250m", cpu=True) == 250 and quantity("2", cpu=True) == 2000
    assert quantity("128Mi") == 128 * MIB and quantity("1G") == 1000**3 and quantity(1) == 1
    with pytest.raises(ValueError):
        quantity("lots")


# --- Kubernetes matching semantics -------------------------------------------------------------------


SPOT = NodeTaint("kubernetes.azure.com/scalesetpriority", "spot")
GPU = NodeTaint("sku", "gpu")


def test_toleration_semantics() -> None:
    assert tolerates({"operator": "Exists"}, GPU)  # empty key + Exists tolerates every taint
    assert not tolerates({"operator": "Equal"}, GPU)
    assert tolerates({"key": "sku", "operator": "Exists"}, GPU)
    assert tolerates({"key": "sku", "value": "gpu"}, GPU)  # operator defaults to Equal
    assert not tolerates({"key": "sku", "operator": "Equal", "value": "cpu"}, GPU)
    assert not tolerates({"key": "sku", "operator": "Exists", "effect": "NoExecute"}, GPU)


def _w(name: str = "w", kind: str = "Deployment", **kw: Any) -> Workload:
    base: dict[str, Any] = {
        "name": name, "namespace": "ns", "kind": kind, "source": "test", "node_selector": {},
        "tolerations": (), "required_terms": (), "requests": {"pods": 1},
    }  # fmt: skip
    return Workload(**{**base, **kw})


def _g(name: str, *, gpu: bool = True, taints: tuple[NodeTaint, ...] = (GPU,), **kw: Any) -> NodeGroup:
    labels = {"kubernetes.io/os": "linux", **kw.pop("labels", {})}
    alloc = kw.pop("allocatable", {"cpu": 4000, "memory": 16 * GIB, "pods": 110, "nvidia.com/gpu": 1})
    return NodeGroup(name, kw.pop("kind", "agent-pool"), labels, taints, alloc, gpu, **kw)


def test_required_node_affinity_expressions() -> None:
    group = _g("a", taints=(), labels={"zone": "1", "tier": "3"})

    def term(*exprs: dict[str, Any]) -> tuple[tuple[dict[str, Any], ...], ...]:
        return (tuple(exprs),)

    assert (
        admits(_w(required_terms=term({"key": "zone", "operator": "In", "values": ["1", "2"]})), group)
        is None
    )
    assert admits(_w(required_terms=term({"key": "zone", "operator": "NotIn", "values": ["1"]})), group)
    assert admits(_w(required_terms=term({"key": "gpu", "operator": "DoesNotExist"})), group) is None
    assert admits(_w(required_terms=term({"key": "gpu", "operator": "Exists"})), group)
    assert admits(_w(required_terms=term({"key": "tier", "operator": "Gt", "values": ["2"]})), group) is None
    # terms are ORed
    either = (
        (({"key": "gpu", "operator": "Exists"}),),
        ({"key": "zone", "operator": "In", "values": ["1"]},),
    )
    assert admits(_w(required_terms=either), group) is None
    assert "nodeSelector" in (admits(_w(node_selector={"zone": "2"}), group) or "")


def test_operator_labels_only_gpu_nodes_that_do_not_opt_out() -> None:
    """gpu-operator v26.7.0 controllers/state_manager.go 457-463 (operands=false removes all), 486-490."""
    mig = _g("mig", mig_capable=True)
    labels = operator_node_labels(mig, nfd_labels_it=True)
    assert (
        labels["nvidia.com/gpu.deploy.driver"] == "true"
        and labels["nvidia.com/gpu.deploy.mig-manager"] == "true"
    )
    assert "nvidia.com/gpu.deploy.mig-manager" not in operator_node_labels(_g("t4"), nfd_labels_it=True)
    assert operator_node_labels(_g("m", labels={"nvidia.com/gpu.deploy.operands": "false"}), True) == {}
    assert operator_node_labels(mig, nfd_labels_it=False) == {}  # no NFD worker there: not a GPU node to it


def test_refusals_of_the_pure_model() -> None:
    system = _g("system", gpu=False, taints=(NodeTaint("CriticalAddonsOnly", "true"),), kind="system")
    gpu = _g("gpu")
    everything = ({"operator": "Exists"},)
    gpu_pod = _w("llm", tolerations=everything, requests={"nvidia.com/gpu": 1, "pods": 1})
    cpu_pod = _w("web", tolerations=everything)
    homeless = _w("lost")
    nfd_a = _w("nfd-a", kind="DaemonSet", tolerations=everything, functions=frozenset({"nfd"}))
    nfd_b = _w("nfd-b", kind="DaemonSet", tolerations=everything, functions=frozenset({"nfd"}))
    found = [
        f.message for f in check_placement([system, gpu], [gpu_pod, cpu_pod, homeless, nfd_a, nfd_b]).findings
    ]
    assert any("CPU pod Deployment ns/web" in m and "GPU node group gpu" in m for m in found)
    assert any(
        "Deployment ns/lost" in m and "can run on no node group" in m and "sku=gpu:NoSchedule" in m
        for m in found
    )
    assert any(
        "two components manage the GPU nfd on node group gpu" in m and "nfd-a" in m and "nfd-b" in m
        for m in found
    )
    assert any("gets no device plugin" in m for m in found) and any(
        "gets no NVIDIA driver" in m for m in found
    )
    # Tolerations and selectors decide "could land": the missing GPUs on the system pool do not excuse it.
    assert any("GPU pod Deployment ns/llm" in m and "system pool system" in m for m in found)
    pinned = _w("llm", node_selector={"kubernetes.io/os": "linux", "gpu": "yes"}, tolerations=everything,
                requests={"nvidia.com/gpu": 1, "pods": 1})  # fmt: skip
    gpu_labelled = _g("gpu", labels={"gpu": "yes"})
    found = [f.message for f in check_placement([system, gpu_labelled], [pinned]).findings]
    assert not any("GPU pod" in m for m in found)


def test_daemonsets_take_their_share_before_other_pods() -> None:
    group = _g("g", taints=(), allocatable={"cpu": 1000, "memory": GIB, "pods": 10, "nvidia.com/gpu": 1})
    agent = _w("agent", kind="DaemonSet", requests={"cpu": 600, "pods": 1})
    app = _w("app", requests={"cpu": 500, "pods": 1, "nvidia.com/gpu": 1})
    (p_agent, p_app) = check_placement([group], [agent, app]).placements
    assert p_agent.groups == ("g",) and p_app.groups == ()
    assert "cpu 500 > 400 free" in p_app.reasons["g"]


def test_aks_managed_gpu_stack_is_a_device_plugin_of_its_own() -> None:
    """gpuProfile.nvidia.managementMode Managed installs the device plugin and DCGM exporter
    (aks-managed-gpu-nodes.md): the program's device plugin next to it is a duplicate."""
    managed = _g("mgd", host_functions=AKS_MANAGED_GPU_STACK)
    plugin = _w("nvidia-device-plugin", kind="DaemonSet", tolerations=({"operator": "Exists"},),
                functions=frozenset({"device-plugin"}))  # fmt: skip
    found = [f.message for f in check_placement([managed], [plugin]).findings]
    assert found == [
        "two components manage the GPU device-plugin on node group mgd: AKS managed device plugin and "
        "DaemonSet ns/nvidia-device-plugin (test)"
    ]


def test_the_program_never_imports_the_helm_engine() -> None:
    """helm-python-sdk is a planning/CI dependency: nothing `pulumi up` runs may import it."""
    files = [ROOT / "__main__.py", *(ROOT / d for d in PROGRAM_PACKAGES if d != "tools")]
    sources = [f for d in files for f in ([d] if d.is_file() else d.rglob("*.py"))]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in {"helm_python", "tools"} for n in names), path


# --- rendering with the real Helm engine ----------------------------------------------------------


@needs_charts
@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_committed_stacks_render_every_release_and_every_pod_has_a_home(stack: str) -> None:
    _, run = planned(stack)
    config = stack_config(stack)
    report = check_scheduling(config, CATALOG, kubernetes_manifests(run.resources))
    assert report.problems == ()
    rows = {(r["kind"], r["workload"]): r for r in report.rows()}
    for spec in release_specs(config, CATALOG):
        assert any(r["source"] == f"chart {spec.chart} {spec.version}" for r in rows.values()), spec.release
    gpu_groups = {g.name for g in node_groups(config, CATALOG) if g.gpu}
    models = [r for r in rows.values() if r["source"].startswith("program") and r["gpuRequest"]]
    assert models and all(set(r["pools"]) <= gpu_groups and r["pools"] for r in models)


@needs_charts
def test_prod_gpu_operator_operands_land_on_operator_pools_only() -> None:
    _, run = planned("prod")
    report = check_scheduling(stack_config("prod"), CATALOG, kubernetes_manifests(run.resources))
    rows = {r["workload"]: r for r in report.rows() if r["kind"] == "operand"}
    assert rows["nvidia-driver-daemonset"]["pools"] == ["a100", "a100sp"]  # not KAITO's nodes
    assert rows["nvidia-mig-manager"]["pools"] == ["a100", "a100sp"]
    nfd = next(r for r in report.rows() if r["workload"].endswith("node-feature-discovery-worker"))
    assert "kaito/phi4" in nfd["pools"] and "system" not in nfd["pools"]
    images = {
        c["image"]
        for spec in release_specs(stack_config("prod"), CATALOG)
        for o in charts.render(spec)
        if o["kind"] in {"Deployment", "ClusterPolicy"}
        for c in ((o.get("spec") or {}).get("template") or {"spec": {"containers": []}})["spec"]["containers"]
    }
    assert "nvcr.io/nvidia/gpu-operator:v26.7.0" in images  # operator.version pinned, not main-latest
    (policy,) = [
        o
        for s in release_specs(stack_config("prod"), CATALOG)
        for o in charts.render(s)
        if o["kind"] == "ClusterPolicy"
    ]
    assert policy["spec"]["validator"]["version"] == "v26.7.0"


# Variants of the committed stacks: each chart the program can install, with the program's values;
# every variant must render and every pod find its home (the two defects are recreated below).
VARIANTS: dict[str, dict[str, Any]] = {
    "http-addon": {"keda": {"httpAddon": {"enabled": True}}},
    "kaito-gpu-provisioner": {"kaito": {"mode": "helm", "nodeProvisioner": "gpu-provisioner"}},
    "kaito-none": {"kaito": {"mode": "helm", "nodeProvisioner": "none"}},
}


@needs_charts
@pytest.mark.parametrize(
    ("stack", "variant"),
    [(s, v) for s in ("dev", "prod") for v in VARIANTS if (s, v) != ("prod", "kaito-none")],
)
def test_variants_render_and_schedule(stack: str, variant: str) -> None:
    config = stack_config(stack, VARIANTS[variant])
    specs = release_specs(config, CATALOG)
    assert {s.chart_key for s in specs} >= (
        {"keda-add-ons-http"} if variant == "http-addon" else {"kaito-workspace"}
    )
    assert messages(check_scheduling(config, CATALOG, [])) == []


@needs_charts
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_chart_renders_with_its_subcharts(variant: str) -> None:
    """Independent of the pending value fixes: each chart renders with the program's values."""
    config = stack_config("dev", VARIANTS[variant])
    kinds = {}
    for spec in release_specs(config, CATALOG):
        kinds[spec.chart_key] = {o["kind"] for o in charts.render(spec)}
        assert workloads_of(charts.render(spec), spec.release), spec.release
    if variant == "kaito-none":  # disableNodeAutoProvisioning: the GFD subchart (with its NFD) renders
        names = {w.name for s in release_specs(config, CATALOG) for w in workloads_of(charts.render(s), "")}
        assert any("gpu-feature-discovery" in n for n in names) and any(
            "node-feature-discovery" in n for n in names
        )
    if variant == "kaito-gpu-provisioner":
        assert "Deployment" in kinds["gpu-provisioner"]


def _with_values(config: StackConfig, chart_key: str, values: dict[str, Any]) -> list[ReleaseSpec]:
    return [
        dataclasses.replace(s, values=charts.merge_values(s.values, values))
        if s.chart_key == chart_key
        else s
        for s in release_specs(config, CATALOG)
    ]


def _check_specs(config: StackConfig, specs: list[ReleaseSpec]) -> list[str]:
    return messages(check_scheduling(config, CATALOG, [], specs))


@needs_charts
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_http_addon_without_tolerations_is_refused_naming_the_workload_and_the_taint(stack: str) -> None:
    """Defect 1 recreated: the chart's `tolerations: []` (http-add-on/values.yaml lines 74, 112, 206)."""
    config = stack_config(stack, VARIANTS["http-addon"])
    none: dict[str, Any] = {"tolerations": [], "nodeSelector": {}}
    specs = _with_values(config, "keda-add-ons-http", {"operator": none, "scaler": none, "interceptor": none})
    found = _check_specs(config, specs)
    for name in ("interceptor", "external-scaler", "controller-manager"):
        (msg,) = [m for m in found if f"Deployment keda/keda-add-ons-http-{name} " in m]
        assert "can run on no node group" in msg
        assert "system: does not tolerate CriticalAddonsOnly=true:NoSchedule" in msg
        assert "does not tolerate sku=gpu:NoSchedule" in msg


@needs_charts
@pytest.mark.parametrize(
    ("stack", "plugin"),
    [
        ("dev", "nvidia-device-plugin/nvidia-device-plugin"),
        ("prod", "operand gpu-operator/nvidia-device-plugin-daemonset"),
    ],
)
def test_kaito_chart_device_plugin_next_to_the_programs_is_refused_naming_the_duplicate(
    stack: str, plugin: str
) -> None:
    """Defect 2 recreated: kaito workspace 0.12.0 `nvidiaDevicePlugin.enabled: true` (values.yaml line 79)."""
    config = stack_config(stack, VARIANTS["kaito-gpu-provisioner"])
    specs = _with_values(config, "kaito-workspace", {"nvidiaDevicePlugin": {"enabled": True}})
    pool = "t4" if stack == "dev" else "a100"
    (msg,) = [
        m
        for m in _check_specs(config, specs)
        if m.startswith(f"two components manage the GPU device-plugin on node group {pool}:")
    ]
    assert (
        plugin in msg
        and "DaemonSet kaito-workspace/nvidia-device-plugin-daemonset (chart workspace 0.12.0)" in msg
    )


@needs_charts
def test_gpu_functions_come_from_the_rendered_containers() -> None:
    specs = release_specs(stack_config("dev"), CATALOG)
    (spec,) = [s for s in specs if s.chart_key == "nvidia-device-plugin"]
    functions = {w.name: w.functions for w in workloads_of(charts.render(spec), "test")}
    assert functions["nvidia-device-plugin"] == {"device-plugin"}
    assert functions["nvidia-device-plugin-mps-control-daemon"] == frozenset()  # same image, not a plugin


@needs_charts
def test_renders_are_cached_by_values_and_a_fresh_render_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path))
    (spec,) = [
        s for s in release_specs(stack_config("dev"), CATALOG) if s.chart_key == "nvidia-device-plugin"
    ]
    first = charts.render(spec)
    (cached,) = (tmp_path / "renders").iterdir()
    assert charts.render(spec) == first
    other = dataclasses.replace(spec, values={**spec.values, "migStrategy": "single"})
    charts.render(other)
    assert len(list((tmp_path / "renders").iterdir())) == 2  # a new key for new values
    cached.unlink()
    assert charts.render(spec) == first


def test_a_chart_that_is_neither_local_nor_pullable_fails_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import helm_python

    monkeypatch.setenv(charts.CHARTS_ENV, str(tmp_path / "none"))
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "cache"))

    def offline(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise helm_python.HelmRepoError("no route to host")

    monkeypatch.setattr(helm_python, "pull", offline)
    config = stack_config("dev")
    report = check_scheduling(config, CATALOG, [])
    # An environment problem, not the config's: no config problems, and none of their consequences (the
    # pools "get no device plugin" only because the chart was not rendered; issue 20).
    assert report.problems == ()
    (missing,) = report.missing_charts
    assert "nvidia-device-plugin 0.19.3" in missing.describe() and "no route to host" in missing.describe()
    assert missing.spec.repository == "https://nvidia.github.io/k8s-device-plugin"


@needs_charts
def test_an_enabled_subchart_that_is_missing_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "charts" / "kaito-workspace-0.12.0"
    shutil.copytree(SHARED_CHARTS / "kaito-workspace-0.12.0", copy)
    (copy / "charts" / "gpu-feature-discovery-0.17.4.tgz").unlink()
    monkeypatch.setenv(charts.CHARTS_ENV, str(tmp_path / "charts"))
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "cache"))
    enabled = [
        s
        for s in release_specs(stack_config("dev", VARIANTS["kaito-none"]), CATALOG)
        if s.chart_key == "kaito-workspace"
    ]
    with pytest.raises(
        charts.ChartUnavailable, match=r"enabled subcharts missing: gpu-feature-discovery 0\.17\.4"
    ):
        charts.render(enabled[0])
    # The same subchart is not needed when its condition is off.
    (off,) = [
        s
        for s in release_specs(stack_config("dev", VARIANTS["kaito-gpu-provisioner"]), CATALOG)
        if s.chart_key == "kaito-workspace"
    ]
    assert workloads_of(charts.render(off), "test")


def _match_placeholders(recorded: Any, planned: Any) -> bool:
    """Equal, except where the renderer holds a ``<name>`` placeholder for a Pulumi output."""
    if isinstance(planned, str) and planned.startswith("<") and planned.endswith(">"):
        return True
    if isinstance(planned, dict):
        return (
            isinstance(recorded, dict)
            and recorded.keys() == planned.keys()
            and all(_match_placeholders(recorded[k], v) for k, v in planned.items())
        )
    if isinstance(planned, list):
        return (
            isinstance(recorded, list)
            and len(recorded) == len(planned)
            and all(_match_placeholders(r, v) for r, v in zip(recorded, planned, strict=True))
        )
    return bool(recorded == planned)


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_the_renderer_gets_exactly_the_values_the_program_passes(stack: str) -> None:
    """One set of pure functions (renderers/helm_values.py) for the components and the renderer."""
    _, run = planned(stack)
    recorded = {
        r.inputs["name"]: r.inputs for r in run.resources if r.type == "kubernetes:helm.sh/v3:Release"
    }
    specs = {s.release: s for s in release_specs(stack_config(stack), CATALOG)}
    assert set(recorded) == set(specs)
    for name, inputs in recorded.items():
        spec = specs[name]
        assert (inputs["chart"], inputs["version"], inputs["namespace"]) == (
            spec.chart,
            spec.version,
            spec.namespace,
        )
        assert _match_placeholders(inputs["values"], spec.values), name
        if name == "gpu-operator":
            assert (
                inputs["values"]["operator"]["version"]
                == inputs["values"]["validator"]["version"]
                == "v26.7.0"
            )
