"""The program's layers point one way: the import-linter contract (pyproject.toml) holds and covers them."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
# Not layers of the program: the tests, and the policy pack (its own venv; imports nothing of the program).
NOT_LAYERED = {"tests", "policy", "venv", "venv-checkov"}


def _layers() -> list[str]:
    (contract,) = [c for c in CONTRACTS["contracts"] if c["type"] == "layers"]
    return list(contract["layers"])


def test_every_package_of_the_program_is_a_layer() -> None:
    """A new top-level package must take its place in the contract, or its imports would go unchecked."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_LAYERED
    assert packages - {"worker"} == set(_layers())
    assert set(CONTRACTS["root_packages"]) == packages


def test_the_layers_contract_holds() -> None:
    """lint-imports (import-linter 2.16) over the real imports: a back-edge (sizing importing cost) fails."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


# What the plan decides (planning.stack_plan.plan_stack, once per plan): no component may call one of these,
# nor load the catalog; a component builds from the plan's fields.
DECISIONS = frozenset(
    {
        "load_catalog",
        "plan_stack",
        "plan_models",
        "plan_model",
        "size_model",
        "agent_pool_specs",
        "nodepool_specs",
        "node_class_specs",
        "sizing_sku",
        "sizing_skus",
        "quota_rows",
        "nap_summary",
        "node_counts",
        "network_plan",
        "private_endpoint_targets",
        "worker_plan",
        "estimate_cost",
        "network_cost",
        "http_readiness_timeout_seconds",
        "kaito_release",
        "kaito_version_of",
        "kaito_capabilities",
        "kaito_node_labels",
        "kubernetes_version_summary",
        "support_status",
        "upgrade_steps",
        "priority_expander_priorities",
        "cluster_features",
        "operator_values",
        "device_plugin_values",
        "mig_parted_config",
        "sharing_config",
    }
)


def decisions_called(source: str) -> list[str]:
    """The decision functions a module's source calls or imports (``DECISIONS``), in order."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name in DECISIONS:
                found.append(name)
        elif isinstance(node, ast.ImportFrom):
            found += [alias.name for alias in node.names if alias.name in DECISIONS]
    return found


def test_components_build_from_the_plan_and_decide_nothing() -> None:
    """Every component takes what it builds from the plan: no catalog load, no planner call (grep-proof:
    a call through an attribute counts, and so does importing one)."""
    from dataclasses import fields

    from components.platform import PlatformArgs
    from planning.stack_plan import StackPlan

    assert {f.name: f.type for f in fields(PlatformArgs)}["plan"] in (StackPlan, "StackPlan")
    offenders = {
        path.name: calls
        for path in sorted((ROOT / "components").glob("*.py"))
        if (calls := decisions_called(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
    assert "load_stack_plan(" in (ROOT / "__main__.py").read_text()


def test_a_decision_in_a_component_is_found() -> None:
    planted = (
        "from config.catalog import load_catalog\n"
        "import sizing.quota\n"
        "rows = sizing.quota.quota_rows(cfg, load_catalog(), [], [], [])\n"
        "name = plan.config.name\n"
    )
    assert decisions_called(planted) == ["load_catalog", "quota_rows", "load_catalog"]


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of modules that import each other, directly or round a longer circle (Tarjan's strongly
    connected components over the direct imports)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = [stack.pop()]
            while component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_cycles_are_found() -> None:
    """The finder itself: two modules importing each other, and a circle of three, are reported."""
    graph = grimp.ImportGraph()
    edges = [("a.x", "a.y"), ("a.y", "a.x"), ("b.p", "b.q"), ("b.q", "b.r"), ("b.r", "b.p")]
    for importer, imported in edges:
        graph.add_import(importer=importer, imported=imported)
    graph.add_import(importer="c.one", imported="a.x")
    assert sorted(import_cycles(graph)) == [["a.x", "a.y"], ["b.p", "b.q", "b.r"]]


def test_no_two_modules_import_each_other() -> None:
    """No import circle in the program, type-checking imports included (a type annotation is a
    dependency: ``if TYPE_CHECKING: from sizing.deployments import ModelPlan`` in ``sizing.nap``
    closed one); grimp, import-linter's graph builder, reads them by default."""
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph(*CONTRACTS["root_packages"], cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    assert import_cycles(graph) == []
