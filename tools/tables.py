"""Plain-text tables of the plan's sections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns, one line per row (header first)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [indent + fmt.format(*header).rstrip(), *(indent + fmt.format(*r).rstrip() for r in rows)]


def plain_cell(value: Any) -> str:
    return "-" if value is None else str(value)


def column_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    cell: Callable[[Any], str] = plain_cell,
    indent: str = "  ",
) -> str:
    """``rows`` (dicts) as a table of ``columns`` (key, heading)."""
    header = [label for _, label in columns]
    body = [[cell(row.get(key)) for key, _ in columns] for row in rows]
    return "\n".join(table(header, body, indent))
