"""Every relative link in README.md and docs/*.md names a file that exists, and a heading of it when the
link has an anchor (GitHub's anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 ... for
repeats). External links (http, https, mailto) are not fetched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.rules_doc import anchor

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text outside code blocks."""
    return FENCE.sub("", text)


def links(text: str) -> list[str]:
    """The link targets of Markdown prose (inline code and fenced blocks left out)."""
    return [target for line in _prose(text).splitlines() for _, target in LINK.findall(CODE.sub("", line))]


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(_prose(text)):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
        slug = anchor(plain)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def test_the_anchor_rules_are_githubs() -> None:
    text = "# Rules\n## [`rules/gpu.py`](../rules/gpu.py)\n## `aks-llm:gpuPools`\n"
    text += "## First `pulumi up`, in this order\n"
    text += "```\n# not a heading\n```\n## Rules\n"
    assert anchors(text) == {
        "rules",
        "rulesgpupy",
        "aks-llmgpupools",
        "first-pulumi-up-in-this-order",
        "rules-1",
    }
    assert links("see [a](b.md#c), `[x](y.md)`, ![img](i.png) and [d](https://e)") == ["b.md#c", "https://e"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(
                f"{target}: no file {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}"
            )
        elif fragment and (file.suffix != ".md" or fragment not in anchors(file.read_text(encoding="utf-8"))):
            broken.append(f"{target}: no heading with the anchor #{fragment}")
    assert not broken, "\n".join(broken)


def test_the_readme_links_every_docs_page() -> None:
    readme = ROOT / "README.md"
    linked = {
        (readme.parent / t.partition("#")[0]).resolve() for t in links(readme.read_text(encoding="utf-8"))
    }
    missing = [p.name for p in DOCS[1:] if p.resolve() not in linked]
    assert not missing, f"README.md links no page {missing}"
