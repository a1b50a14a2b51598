"""No function of the repository is above radon's cyclomatic complexity 25: split it into named steps."""

from __future__ import annotations

import subprocess

from radon.complexity import cc_visit
from radon.visitors import Function

from tests.conftest import ROOT

MAX_COMPLEXITY = 25
# Above the limit when the rule came in with a merge (issue 21 item 6): to split into named steps. The
# test fails when one of them is split (remove it here) or any other function passes the limit.
NOT_YET_SPLIT: dict[str, list[str]] = {}


def python_files() -> list[str]:
    """Every tracked Python file (the program, its tools, tests, the policy pack and the worker)."""
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return [line for line in listed.stdout.splitlines() if (ROOT / line).is_file()]


def too_complex(source: str, limit: int = MAX_COMPLEXITY) -> list[str]:
    """The functions and methods of ``source`` above ``limit``, as ``name (complexity)``."""
    found = []
    for block in cc_visit(source):
        if isinstance(block, Function) and block.complexity > limit:
            found.append(f"{block.fullname} ({block.complexity})")
    return found


def test_the_limit_is_found() -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(MAX_COMPLEXITY))
    assert too_complex(f"def f(x):\n{branches}    return -1\n") == [f"f ({MAX_COMPLEXITY + 1})"]
    assert too_complex(f"def f(x):\n{branches}    return -1\n", limit=MAX_COMPLEXITY + 1) == []


def test_no_function_above_the_limit() -> None:
    files = sorted(set(python_files()))
    assert "sizing/model_sizing.py" in files
    found = {f: [n.split(" (")[0] for n in too_complex((ROOT / f).read_text())] for f in files}
    assert {f: names for f, names in found.items() if names} == NOT_YET_SPLIT
