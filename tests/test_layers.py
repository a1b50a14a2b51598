"""The program's layers point one way: the import-linter contract (pyproject.toml) holds and covers them."""

from __future__ import annotations

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


def test_platform_composes_from_the_typed_plan() -> None:
    """Platform takes the pure stack plan (built before any resource) and never loads the catalog or
    plans models itself: the catalog is loaded once, by __main__.py."""
    from dataclasses import fields

    from components.platform import PlatformArgs
    from plan.stack_plan import StackPlan

    assert {f.name: f.type for f in fields(PlatformArgs)}["plan"] in (StackPlan, "StackPlan")
    source = (ROOT / "components" / "platform.py").read_text()
    for pure in ("load_catalog", "plan_models", "agent_pool_specs(", "nodepool_specs(", "nap_summary("):
        assert pure not in source, pure
    assert "load_stack_plan(" in (ROOT / "__main__.py").read_text()


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
