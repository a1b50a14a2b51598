"""The one error type a user's stack config can raise, and how it is worded."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EXIT_CODE = 2
MAX_VALUE_CHARS = 120  # a bad value as shown in a message
MAX_MESSAGE_CHARS = 400  # the message (it may quote the value: validators format it themselves)
MAX_ACCEPTED_CHARS = 1200  # what is accepted (e.g. every catalog SKU name)
MAX_PROBLEMS = 20  # lines of one error before "... and N more"

# What a secret looks like, wherever it is pasted: Hugging Face tokens (hf_ + 34 letters and digits
# today; any 20+), GitHub, OpenAI-style, Slack and AWS keys, JWTs and PEM private keys.
SECRET_PATTERNS = (
    re.compile(r"hf_[A-Za-z0-9]{20,}"),
    re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}"),  # not inside a word (mask-rcnn-...)
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"),
)
REDACTED = "<redacted>"


def looks_secret(text: str) -> bool:
    """True when ``text`` holds something shaped like a token or key."""
    return any(p.search(text) for p in SECRET_PATTERNS)


def scrub(text: str) -> str:
    """``text`` with everything that looks like a token or key replaced by ``<redacted>``."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, keeping its start and its end (the end of a validator's
    message usually says what is wrong)."""
    if len(text) <= limit:
        return text
    head = (limit - 5) * 2 // 3
    tail = limit - 5 - head
    return f"{text[:head]} ... {text[-tail:]}"


WHOLE_MAPPING = "<the mapping>"  # a Problem's value when a check of a whole mapping fails: nothing to quote


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is, what it is, why it is refused and what would be accepted."""

    path: str
    value: object
    message: str
    accepted: str = ""

    def render(self, source: str, namespace: str) -> str:
        key = self.path if not namespace else f"{namespace}:{self.path}" if self.path else namespace
        key = clip(scrub(key), MAX_VALUE_CHARS)  # scrub first: a cut token would no longer match
        message = clip(scrub(" ".join(self.message.split())), MAX_MESSAGE_CHARS)
        got = "" if self.value is WHOLE_MAPPING else f" (got {format_value(self.value)})"
        line = f"{source}: {key + ': ' if key else ''}{message}{got}"
        if self.accepted:
            line += f"\n    accepted: {clip(scrub(self.accepted), MAX_ACCEPTED_CHARS)}"
        return scrub(line)


class KeyValueError(ValueError):
    """A check of a whole mapping (a model validator) that blames one of its keys: the message names
    ``key`` (its camelCase name in the stack file) and its value, not the parent with the mapping."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class ConfigError(Exception):
    """Raised before any resource is declared when the stack config cannot be used."""

    def __init__(self, source: str, namespace: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.namespace = namespace
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        source = clip(self.source, 200)
        head = f"error: invalid stack config in {source} ({count} problem{'s' if count > 1 else ''}):"
        lines = ["  " + p.render(source, self.namespace) for p in self.problems[:MAX_PROBLEMS]]
        if count > MAX_PROBLEMS:
            lines.append(f"  ... and {count - MAX_PROBLEMS} more problems")
        hint = "Nothing was created. Fix the value(s) above and run again."
        return scrub("\n".join([head, *lines, hint]))


def format_value(value: object) -> str:
    """Short, readable rendering of a config value for an error line."""
    if value is None:
        return "nothing"
    text = scrub(_short_repr(value))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _short_repr(value: object, budget: int = 4 * MAX_VALUE_CHARS) -> str:
    """``repr`` that stops early on a huge or deep value (never builds a 100 kB string)."""
    if isinstance(value, str):
        return repr(scrub(value)[:budget])
    if isinstance(value, dict):
        parts: list[str] = []
        for k, v in value.items():
            if sum(map(len, parts)) > budget:
                parts.append("...")
                break
            parts.append(f"{_short_repr(k, budget // 2)}: {_short_repr(v, budget // 2)}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list | tuple):
        items: list[str] = []
        for v in value:
            if sum(map(len, items)) > budget:
                items.append("...")
                break
            items.append(_short_repr(v, budget // 2))
        return "[" + ", ".join(items) + "]"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**40:
        return f"<a {len(str(abs(value)))}-digit number>" if abs(value) < 10**4000 else "<a huge number>"
    text = repr(value)
    return text[:budget]


def join_path(parts: Iterable[object]) -> str:
    """`("gpuPools", 0, "vmSize")` -> `gpuPools[0].vmSize`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
