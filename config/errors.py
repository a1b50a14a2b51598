"""The one error type a user's stack config can raise, and how it is worded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EXIT_CODE = 2


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is, what it is, why it is refused and what would be accepted."""

    path: str
    value: object
    message: str
    accepted: str = ""

    def render(self, source: str, namespace: str) -> str:
        key = self.path if not namespace else f"{namespace}:{self.path}" if self.path else namespace
        line = f"{source}: {key}: {self.message} (got {format_value(self.value)})"
        if self.accepted:
            line += f"\n    accepted: {self.accepted}"
        return line


class ConfigError(Exception):
    """Raised before any resource is declared when the stack config cannot be used."""

    def __init__(self, source: str, namespace: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.namespace = namespace
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = f"error: invalid stack config in {self.source} ({count} problem{'s' if count > 1 else ''}):"
        body = "\n".join("  " + p.render(self.source, self.namespace) for p in self.problems)
        hint = "Nothing was created. Fix the value(s) above and run again."
        return f"{head}\n{body}\n{hint}"


def format_value(value: object) -> str:
    """Short, readable rendering of a config value for an error line."""
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def join_path(parts: Iterable[object]) -> str:
    """`("gpuPools", 0, "vmSize")` -> `gpuPools[0].vmSize`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
