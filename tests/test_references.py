"""References that cannot rot: every ``pkg.module.name`` and ``pkg/module.py`` that a comment, a docstring
or a documentation page (README.md, docs/*.md) names exists in the tree.

A dotted reference starts with one of the repository's packages; its longest prefix that is a module is
imported and the rest looked up on it (attributes, dataclass and pydantic fields). A name a module only
imports is refused: the reference must name the module that defines it. Strings that are data or
messages (not docstrings) are not read: they are the program's behaviour, not references.
"""

from __future__ import annotations

import importlib
import inspect
import io
import re
import subprocess
import tokenize
import tomllib
import typing
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from config.schema import StackConfig
from tests.conftest import ROOT

# The program's packages (import-linter's root packages, pyproject.toml) and the tests.
PACKAGES = (
    *tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"],
    "tests",
)
_NAMES = "|".join(PACKAGES)
DOTTED = re.compile(rf"(?<![\w./-])(?:{_NAMES})(?:\.[A-Za-z_]\w*)+(?![\w-])")
PATH = re.compile(rf"(?<![\w./-])(?:{_NAMES}|policy)/[\w*./-]*[\w*]\.(?:py|yaml|json|md|txt)\b")
FILE_SUFFIXES = {"json", "yaml", "yml", "md", "py", "toml", "txt"}  # config.json: a file, not a module
# Dotted words that are not module references (a config key path, as the docs write it).
NOT_REFERENCES = {"worker.image": "the stack config key addons.asyncQueue.worker.image"}


def documented_files() -> list[str]:
    """Every tracked Python file, README.md and the pages under docs/."""
    listed = subprocess.run(
        ["git", "ls-files", "*.py", "README.md", "docs/*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [f for f in listed.stdout.splitlines() if (ROOT / f).is_file()]


def prose(path: str, text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of what a reader reads as prose: a page's lines; a Python file's comments and
    docstrings (a string that is a statement of its own)."""
    if not path.endswith(".py"):
        yield from enumerate(text.splitlines(), 1)
        return
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    starts = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string
        elif tok.type == tokenize.STRING:
            before = tokens[i - 1].type if i else tokenize.NEWLINE
            after = tokens[i + 1].type if i + 1 < len(tokens) else tokenize.NEWLINE
            if before in starts and after in {tokenize.NEWLINE, tokenize.ENDMARKER}:
                for offset, line in enumerate(tok.string.splitlines()):
                    yield tok.start[0] + offset, line


def _module_prefix(parts: list[str]) -> int:
    """How many leading parts name a module file or package of the tree (0: none)."""
    for n in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:n])
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return n
    return 0


def _member(owner: object, name: str) -> object | None:
    """``owner.name``, or a dataclass or pydantic field of that name (True stands for a field)."""
    if hasattr(owner, name):
        value: object = getattr(owner, name)
        return value
    fields = {**getattr(owner, "__annotations__", {}), **getattr(owner, "model_fields", {})}
    return True if name in fields else None


def unresolved(reference: str) -> str | None:
    """Why ``reference`` names nothing in the tree (None: it resolves)."""
    parts = reference.split(".")
    if len(parts) == 2 and parts[1] in FILE_SUFFIXES:
        return None
    n = _module_prefix(parts)
    module: ModuleType = importlib.import_module(".".join(parts[:n]))
    owner: object = module
    for depth, name in enumerate(parts[n:]):
        found = _member(owner, name)
        if found is None:
            return f"{'.'.join(parts[: n + depth])} has no {name}"
        defined_in = (
            getattr(found, "__module__", None)
            if inspect.isfunction(found) or inspect.isclass(found)
            else None
        )
        if depth == 0 and defined_in and defined_in != module.__name__ and not hasattr(module, "__path__"):
            return f"{name} is defined in {defined_in}, not {module.__name__}"
        owner = found
    return None


def references() -> dict[str, list[str]]:
    """Every dotted and path reference -> where it is written (``file:line``)."""
    found: dict[str, list[str]] = {}
    for path in documented_files():
        for line_no, line in prose(path, (ROOT / path).read_text()):
            for match in [*DOTTED.finditer(line), *PATH.finditer(line)]:
                found.setdefault(match.group(0), []).append(f"{path}:{line_no}")
    return found


def config_key(reference: str) -> bool:
    """A key path of the stack config from its top (``simulation.shape.businessDays``): the docs name
    keys as the file spells them, and a package may share its first word."""
    model: Any = StackConfig
    for part in reference.split("."):
        fields = {info.alias or name: info for name, info in getattr(model, "model_fields", {}).items()}
        if part not in fields:
            return False
        model = _inner_model(fields[part].annotation)
    return True


def _inner_model(annotation: Any) -> Any:
    """The pydantic model inside ``annotation`` (``X | None``, ``list[X]``), else the annotation."""
    for arg in typing.get_args(annotation):
        if hasattr(arg, "model_fields"):
            return arg
    return annotation


def broken(reference: str) -> str | None:
    if reference in NOT_REFERENCES or config_key(reference):
        return None
    if "/" in reference:
        return None if any(ROOT.glob(reference)) else "no such file"
    return unresolved(reference)


def test_the_resolver_refuses_what_is_not_there() -> None:
    assert broken("sizing.nap.sizing_sku") is None
    assert broken("planning.stack_plan.StackPlan.plan_date") is None  # a dataclass field
    assert broken("config.schema.StackConfig.models") is None  # a pydantic field
    assert broken("config.rules_kaito") == "config has no rules_kaito"
    assert broken("sizing.nap.no_such_function") == "sizing.nap has no no_such_function"
    assert broken("cost.estimate.fill") == "fill is defined in sizing.slots, not cost.estimate"
    assert broken("config/rules*.py") == "no such file"
    assert broken("rules/*.py") is None
    assert broken("cluster.apiServer.privateCluster") is None  # a config key, not a module


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# see ``sizing.nap.sizing_sku``.\n", ["sizing.nap.sizing_sku"]),
        ('"""Docstring naming config.rules_kaito."""\n', ["config.rules_kaito"]),
        ('x = "cost.rows is not a list"\n', []),  # a message: data, not a reference
        ("y = config.node_provisioning.mode  # code\n", []),
        (
            "# config/rules*.py and config.json and config.aks-llm:prefix\n",
            ["config.json", "config/rules*.py"],
        ),
    ],
)
def test_references_are_read_from_prose_only(text: str, expected: list[str]) -> None:
    found = sorted(
        m.group(0) for _, line in prose("x.py", text) for m in [*DOTTED.finditer(line), *PATH.finditer(line)]
    )
    assert found == sorted(expected)


def test_every_reference_resolves() -> None:
    refs = references()
    assert "sizing.nap.sizing_sku" in refs  # the scan reads docstrings
    stale = {ref: f"{why} ({', '.join(refs[ref][:3])})" for ref in sorted(refs) if (why := broken(ref))}
    assert stale == {}
