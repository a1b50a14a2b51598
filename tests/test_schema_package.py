"""The schema by concern (issue 21 item 5): ``config/schema/`` holds one small module per concern, the
package re-exports every public name (``from config.schema import X`` keeps working), and a field's
description lives in its docstring only, never again in a comment."""

from __future__ import annotations

import ast
import importlib
import io
import tokenize
from pathlib import Path

import config.schema
from tests.conftest import ROOT

PACKAGE = ROOT / "config" / "schema"
MAX_LINES = 400


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")


def public_names(path: Path) -> set[str]:
    """The names a module of the package defines at its top level (classes, functions, constants, types)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def commented_fields(source: str) -> list[int]:
    """Lines of the fields of a class (annotated attributes) with a comment on or right above them."""
    comments = {
        tok.start[0]
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    found = []
    for cls in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef)):
        for field in (n for n in cls.body if isinstance(n, ast.AnnAssign)):
            end = field.end_lineno or field.lineno
            if comments & set(range(field.lineno - 1, end + 1)):
                found.append(field.lineno)
    return found


def test_one_small_module_per_concern() -> None:
    lengths = {p.name: len(p.read_text().splitlines()) for p in modules()}
    assert {"base.py", "cluster.py", "gpu_pools.py", "node_provisioning.py", "models.py", "stack.py"} <= set(
        lengths
    )
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


def test_the_package_reexports_every_public_name() -> None:
    defined = {name: p.stem for p in modules() for name in public_names(p)}
    assert sorted(config.schema.__all__) == sorted(defined)
    for name, module in defined.items():
        source = importlib.import_module(f"config.schema.{module}")
        assert getattr(config.schema, name) is getattr(source, name)


def test_a_field_is_described_by_its_docstring_only() -> None:
    found = {p.name: lines for p in modules() if (lines := commented_fields(p.read_text()))}
    assert found == {}


def test_a_commented_field_is_found() -> None:
    above = "class A:\n    # the size\n    size: int = 1\n    '''The size.'''\n"
    beside = "class A:\n    size: int = 1  # the size\n    '''The size.'''\n"
    assert commented_fields(above) == [3]
    assert commented_fields(beside) == [2]
    assert commented_fields("class A:\n    size: int = 1\n    '''The size.'''\n") == []
