"""Every custom resource waits for what serves its kind (pitfalls 29).

Over the plan of every committed stack and a variant with the KEDA HTTP add-on: for each Kubernetes
object whose kind is not built into Kubernetes, the chain of its dependencies (explicit and implied,
and the Kubernetes provider it is created through) reaches a resource that serves that kind:

- a Helm release whose templates, as the real Helm engine renders them from the pinned chart with the
  program's values (``tools/charts.py``), or whose ``crds/`` folder hold the CRD; the release must be
  atomic (it waits for its pods, the webhook among them, before Pulumi moves on);
- or the AKS cluster with the managed add-on that installs the kind enabled (``MANAGED_KINDS``);
- or a CustomResourceDefinition the program declares itself (the Gateway API CRDs).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.catalog import load_catalog
from config.schema import StackConfig
from renderers.helm_values import ReleaseSpec, release_specs
from tests.conftest import ROOT, parse_with, planned, run_with
from tools import charts
from tools.mocks import ProgramRun, Recorded
from tools.plan import stack_config

SHARED_CHARTS = ROOT.parent / "shared" / "charts"
needs_charts = pytest.mark.skipif(
    not SHARED_CHARTS.is_dir(), reason=f"upstream chart trees not found at {SHARED_CHARTS} (../shared)"
)
CATALOG = load_catalog()
CLUSTER = "azure-native:containerservice:ManagedCluster"
RELEASE = "kubernetes:helm.sh/v3:Release"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
# API groups Kubernetes itself serves (no CRD, nothing to wait for besides the API server).
BUILT_IN_GROUPS = {
    "core", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io",
    "rbac.authorization.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io",
    "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "helm.sh",
}  # fmt: skip


def _keda(cluster: Mapping[str, Any]) -> bool:
    return bool(((cluster.get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled"))


def _kaito(cluster: Mapping[str, Any]) -> bool:
    return bool((cluster.get("aiToolchainOperatorProfile") or {}).get("enabled"))


def _nap(cluster: Mapping[str, Any]) -> bool:
    return (cluster.get("nodeProvisioningProfile") or {}).get("mode") == "Auto"


def _csi(cluster: Mapping[str, Any]) -> bool:
    addon = (cluster.get("addonProfiles") or {}).get("azureKeyvaultSecretsProvider") or {}
    return bool(addon.get("enabled"))


# Kinds a managed AKS add-on installs, and the cluster setting that turns it on (AKS docs: keda.md,
# ai-toolchain-operator.md, node-autoprovision.md, csi-secrets-store-driver.md).
MANAGED_KINDS: dict[tuple[str, str], Any] = {
    ("keda.sh", "ScaledObject"): _keda,
    ("keda.sh", "TriggerAuthentication"): _keda,
    ("keda.sh", "ScaledJob"): _keda,
    ("kaito.sh", "Workspace"): _kaito,
    ("karpenter.sh", "NodePool"): _nap,
    ("karpenter.azure.com", "AKSNodeClass"): _nap,
    ("secrets-store.csi.x-k8s.io", "SecretProviderClass"): _csi,
}


def group_kind(resource: Recorded) -> tuple[str, str] | None:
    """(API group, kind) of a Kubernetes object; None for anything else (Azure, components, providers)."""
    if not resource.custom or not resource.type.startswith("kubernetes:"):
        return None
    _, api, kind = resource.type.split(":")
    group = api.rsplit("/", 1)[0] if "/" in api else "core"
    return group, kind


def _docs(folder: Path) -> Iterable[dict[str, Any]]:
    for path in sorted(folder.glob("*.yaml")):
        yield from (d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict))


def served_kinds(spec: ReleaseSpec) -> set[tuple[str, str]]:
    """Every (group, kind) whose CRD the release installs: its rendered templates and its crds/ folder."""
    docs = [*charts.render(spec), *_docs(charts.chart_source(spec) / "crds")]
    return {
        (d["spec"]["group"], d["spec"]["names"]["kind"])
        for d in docs
        if d.get("kind") == "CustomResourceDefinition"
    }


def providers_of_kinds(run: ProgramRun, config: StackConfig) -> dict[tuple[str, str], set[str]]:
    """(group, kind) -> URNs of the resources that serve it in this plan."""
    specs = {spec.release: spec for spec in release_specs(config, CATALOG)}
    out: dict[tuple[str, str], set[str]] = {}
    for res in run.resources:
        if res.type == RELEASE:
            spec = specs[res.inputs["name"]]
            for key in served_kinds(spec):
                # Only an atomic release waits for its pods (the webhook's among them).
                if res.inputs.get("atomic"):
                    out.setdefault(key, set()).add(res.urn)
        if res.type == CRD:
            # A CRD the program declares itself (the Gateway API bundle, components/gateway.py).
            spec = res.inputs["spec"]
            out.setdefault((spec["group"], spec["names"]["kind"]), set()).add(res.urn)
        if res.type == CLUSTER:
            for key, enabled in MANAGED_KINDS.items():
                if enabled(res.inputs):
                    out.setdefault(key, set()).add(res.urn)
    return out


def dependencies_of(run: ProgramRun) -> dict[str, set[str]]:
    """Each resource's direct dependencies as the engine sees them, its provider included."""
    graph: dict[str, set[str]] = {}
    for res in run.resources:
        deps = set(res.options.get("dependencies", []))
        provider = res.options.get("provider")
        if provider:
            deps.add(provider.rsplit("::", 1)[0])
        graph[res.urn] = deps
    return graph


def reaches(graph: Mapping[str, set[str]], start: str, targets: set[str]) -> bool:
    seen, todo = set(), [start]
    while todo:
        urn = todo.pop()
        if urn in targets:
            return True
        if urn not in seen:
            seen.add(urn)
            todo += graph.get(urn, set())
    return False


def unserved(run: ProgramRun, config: StackConfig) -> list[str]:
    """Custom resources whose dependency chain misses what serves their kind."""
    providers, graph = providers_of_kinds(run, config), dependencies_of(run)
    problems = []
    for res in run.resources:
        key = group_kind(res)
        if key is None or key[0] in BUILT_IN_GROUPS:
            continue
        targets = providers.get(key, set())
        if not targets:
            problems.append(f"{res.name}: nothing in the plan serves {key[1]} ({key[0]})")
        elif not reaches(graph, res.urn, targets):
            problems.append(f"{res.name}: {key[1]} does not wait for {sorted(targets)}")
    return problems


def custom_kinds(run: ProgramRun) -> set[str]:
    return {k[1] for r in run.resources if (k := group_kind(r)) and k[0] not in BUILT_IN_GROUPS}


HTTP_VARIANT = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:addons: {keda: {httpAddon: {enabled: true}}, kaito: {mode: helm}}
  aks-llm:gpuPools:
    - {name: a100, vmSize: Standard_NC24ads_A100_v4, onDemand: {min: 0, max: 4}}
  aks-llm:models:
    - {name: small, model: phi-4-mini-instruct, pool: a100}
    - {name: big, model: phi-4, runtime: kaito, pool: a100, replicas: {min: 1, max: 2}, scaleToZero: false}
"""


@cache
def http_variant() -> ProgramRun:
    """The plan of ``HTTP_VARIANT`` (once per session)."""
    return run_with(Path(tempfile.mkdtemp(prefix="crd-providers-")), HTTP_VARIANT)


@needs_charts
@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_every_custom_resource_of_a_committed_stack_waits_for_what_serves_its_kind(stack: str) -> None:
    settings, run = planned(stack)
    assert run.exit_code == 0
    config = stack_config(settings)
    assert custom_kinds(run)  # the check is not vacuous
    assert unserved(run, config) == []


@needs_charts
def test_http_scaled_objects_and_kaito_workloads_wait_for_their_releases(tmp_path: Path) -> None:
    run = http_variant()
    assert run.exit_code == 0
    assert {"HTTPScaledObject", "InferenceSet", "ScaledObject"} <= custom_kinds(run)
    assert unserved(run, parse_with(tmp_path, HTTP_VARIANT)) == []


@needs_charts
def test_the_check_catches_a_custom_resource_that_does_not_wait(tmp_path: Path) -> None:
    """The InferenceSet without its dependency on the KAITO release: what main had (issue 18 item 2)."""
    run = http_variant()
    config = parse_with(tmp_path, HTTP_VARIANT)
    release = next(r.urn for r in run.resources if r.type == RELEASE and r.inputs["chart"] == "workspace")
    cut = [
        Recorded(
            r.urn, r.type, r.name, r.parent, r.custom, r.inputs,
            {**r.options, "dependencies": [d for d in r.options.get("dependencies", []) if d != release]},
        )
        for r in run.resources
    ]  # fmt: skip
    problems = unserved(ProgramRun(0, cut), config)
    assert any("InferenceSet does not wait" in p for p in problems), problems
    kinds = served_kinds(next(s for s in release_specs(config, CATALOG) if s.chart == "workspace"))
    assert {("kaito.sh", "InferenceSet"), ("karpenter.sh", "NodeClaim")} <= kinds  # templates + crds/


@needs_charts
def test_the_gateway_objects_wait_for_the_gateway_api_crds_the_program_installs() -> None:
    _, run = planned("prod")
    assert {"Gateway", "HTTPRoute"} <= custom_kinds(run)
    crds = {r.urn for r in run.resources if r.type == CRD}
    graph = dependencies_of(run)
    cut = {urn: deps - crds for urn, deps in graph.items()}
    for res in run.resources:
        if group_kind(res) in {
            ("gateway.networking.k8s.io", "Gateway"),
            ("gateway.networking.k8s.io", "HTTPRoute"),
        }:
            assert reaches(graph, res.urn, crds) and not reaches(cut, res.urn, crds), res.name
