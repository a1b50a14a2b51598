"""Tags put on every Azure resource of a stack."""

from __future__ import annotations

from collections.abc import Mapping


def stack_tags(project: str, stack: str, user_tags: Mapping[str, str]) -> dict[str, str]:
    """The project's standard tags, then the stack's own (which may override them)."""
    return {"project": project, "stack": stack, "managed-by": "pulumi", **dict(user_tags)}
