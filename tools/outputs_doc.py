"""``docs/outputs.md`` from the stack's output types (``components/outputs.py``), read as source: each
``TypedDict``'s docstring describes the output and each key's trailing comment its meaning (nothing is
imported, so ``tools.gen_docs`` stays free of Pulumi)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path("components/outputs.py")
TOP = "StackOutputs"
DEFERRED = "pulumi.Input[str]"  # a name, or a value Azure assigns (known after `pulumi up`)


@dataclass(frozen=True)
class OutputKey:
    name: str
    type: str
    optional: bool
    meaning: str


@dataclass(frozen=True)
class OutputType:
    name: str
    doc: str
    keys: list[OutputKey]
    total: bool


def _is_typed_dict(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Name) and b.id == "TypedDict" for b in node.bases)


def _total(node: ast.ClassDef) -> bool:
    return not any(
        k.arg == "total" and isinstance(k.value, ast.Constant) and k.value.value is False
        for k in node.keywords
    )


def _key(node: ast.AnnAssign, lines: list[str]) -> OutputKey:
    assert isinstance(node.target, ast.Name)
    annotation = ast.unparse(node.annotation)
    optional = annotation.startswith("NotRequired[")
    if optional:
        annotation = annotation[len("NotRequired[") : -1]
    _, _, comment = lines[node.lineno - 1].partition("  # ")
    return OutputKey(node.target.id, annotation, optional, comment.strip())


def output_types(text: str) -> list[OutputType]:
    """The TypedDicts of ``text``, in source order."""
    lines = text.splitlines()
    found = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and _is_typed_dict(node):
            keys = [_key(n, lines) for n in node.body if isinstance(n, ast.AnnAssign)]
            doc = " ".join((ast.get_docstring(node) or "").split())
            found.append(OutputType(node.name, doc, keys, _total(node)))
    return found


def _type_text(annotation: str, names: set[str]) -> str:
    text = annotation.replace(DEFERRED, "str (after apply)")
    return re.sub(r"\b[A-Z]\w+\b", lambda m: f"[{m[0]}](#{m[0].lower()})" if m[0] in names else m[0], text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def outputs_markdown(root: Path, generated_note: str) -> str:
    """The page: one section per output type, a table of its keys."""
    found = output_types((root / SOURCE).read_text(encoding="utf-8"))
    types_ = sorted(found, key=lambda t: t.name != TOP)  # the whole stack's outputs first
    names = {t.name for t in types_}
    lines = [
        "# Stack outputs",
        "",
        f"<!-- {generated_note} -->",
        "",
        "What `pulumi stack output` shows and the offline plan prints (`python -m tools.plan`), typed in "
        f"`{SOURCE.as_posix()}`: the components register these shapes and the reports print them. "
        "`str (after apply)` may be a value Azure assigns, known after `pulumi up`.",
        "",
    ]
    for t in types_:
        lines += [f"## {t.name}", "", t.doc, "", "| key | type | present | meaning |", "|---|---|---|---|"]
        for k in t.keys:
            present = "optional" if k.optional or not t.total else "always"
            cells = (f"`{k.name}`", _type_text(k.type, names), present, k.meaning)
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
