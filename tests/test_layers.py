"""The program's layers point one way: the import-linter contract (pyproject.toml) holds and covers them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

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
    from stack.plan import StackPlan

    assert {f.name: f.type for f in fields(PlatformArgs)}["plan"] in (StackPlan, "StackPlan")
    source = (ROOT / "components" / "platform.py").read_text()
    for pure in ("load_catalog", "plan_models", "agent_pool_specs(", "nodepool_specs(", "nap_summary("):
        assert pure not in source, pure
    assert "plan_stack(" in (ROOT / "__main__.py").read_text()
