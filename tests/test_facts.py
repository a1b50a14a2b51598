"""One home per platform fact: the system-pool taint, the GPU resource names, the pool labels.

The program states each in ``facts/platform.py`` (the label wrapper in ``facts/tags.py``); the policy pack,
which does not import the program, reads them from ``platform_facts.json``, generated from the same module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import facts.platform as platform
from tests.conftest import PROGRAM_PACKAGES, ROOT
from tools import policy_facts

# Each fact as a literal, and the one file allowed to state it.
FACTS = {
    "CriticalAddonsOnly": "facts/platform.py",
    "nvidia.com/gpu": "facts/platform.py",
    "nvidia.com/mig-": "facts/platform.py",
    "aks-llm/gpu-pool": "facts/platform.py",
    "aks-llm/gpu-sku": "facts/platform.py",
    "aks-llm/capacity-type": "facts/platform.py",
    "aks-llm/purpose": "facts/platform.py",
    "aks-llm/gpu-driver": "facts/platform.py",
    "karpenter.azure.com/sku-name": "facts/platform.py",
    "kubernetes.azure.com/scalesetpriority": "facts/platform.py",
    "app.kubernetes.io/part-of": "facts/tags.py",
    "app.kubernetes.io/managed-by": "facts/tags.py",
}


def _sources() -> list[Path]:
    folders = [*PROGRAM_PACKAGES, "policy/aks_llm_policies"]
    return [ROOT / "__main__.py", ROOT / "policy" / "__main__.py"] + [
        p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))
    ]


def _literals(path: Path) -> set[str]:
    """Every string constant of a module (f-string parts too; a docstring never equals a fact)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_each_fact_is_stated_in_one_file() -> None:
    """A second ``"CriticalAddonsOnly"`` or ``"nvidia.com/gpu"`` anywhere in the program or the pack fails."""
    homes: dict[str, list[str]] = {fact: [] for fact in FACTS}
    for path in _sources():
        for fact in _literals(path) & FACTS.keys():
            homes[fact].append(str(path.relative_to(ROOT)))
    assert homes == {fact: [home] for fact, home in FACTS.items()}


def test_the_policy_packs_facts_file_is_current() -> None:
    """platform_facts.json is generated (python -m tools.policy_facts): stale, it fails here."""
    assert policy_facts.FACTS_FILE.read_text(encoding="utf-8") == policy_facts.render()


def test_the_policy_pack_reads_the_programs_facts() -> None:
    from aks_llm_policies import capacity, workloads

    assert str(capacity.GPU_TAINT) == platform.GPU_TAINT.aks()
    assert str(capacity.SPOT_TAINT) == platform.SPOT_TAINT.aks()
    assert (capacity.GPU_LIMIT, workloads.GPU_RESOURCE) == (platform.GPU_RESOURCE, platform.GPU_RESOURCE)
    assert workloads.MIG_PREFIX == platform.MIG_RESOURCE_PREFIX
    assert capacity.NAP_SKU == platform.LABEL_NAP_SKU


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("renderers.helm_values", "SYSTEM_POOL_TOLERATION"),
        ("renderers.gpu_software", "SYSTEM_TOLERATIONS"),
    ],
)
def test_the_system_pool_taint_is_tolerated_as_it_is_set(module: str, name: str | None) -> None:
    """What tolerates the system pool follows its taint (one change of the key moves them all)."""
    import importlib

    mod = importlib.import_module(module)
    if name is not None:
        assert getattr(mod, name) == [{"key": platform.SYSTEM_POOL_TAINT.key, "operator": "Exists"}]
    from sizing.node_groups import SYSTEM_TAINT

    assert str(SYSTEM_TAINT) == platform.SYSTEM_POOL_TAINT.aks()
