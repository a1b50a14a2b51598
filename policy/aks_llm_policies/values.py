"""Reading resource properties as the policy SDK hands them over.

``pulumi_policy`` wraps properties in proxies that raise ``UnknownValueError`` when a value is not
known yet (an output of a resource that does not exist during preview). A policy that let that error
escape would be skipped as a whole for the resource, so every policy here first copies the
properties into plain dicts and lists with ``plain``, turning each unknown value into ``UNKNOWN``,
and then decides per field what an unknown value means (usually: cannot tell, no violation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class _Unknown:
    """A value that is not known during preview."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
JSON = dict[str, Any]


def plain(value: Any) -> Any:
    """A plain copy of ``value`` (dicts, lists, scalars) with every unknown value as ``UNKNOWN``."""
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, Mapping):
        out: JSON = {}
        for key in value:
            try:
                item = value[key]
            except UnknownValueError:
                out[str(key)] = UNKNOWN
                continue
            out[str(key)] = plain(item)
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items: list[Any] = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def dig(obj: Any, *path: str | int) -> Any:
    """``obj[path[0]][path[1]]...``, or None when any step is missing or not a container."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return None
            obj = obj[step]
        else:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(step)
    return obj


def mapping(value: Any) -> JSON:
    """``value`` if it is a dict, else an empty dict (missing or unknown)."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty list (missing or unknown)."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """``value`` if it is a known string."""
    return value if isinstance(value, str) else None


def number(value: Any) -> float | None:
    """A known number (the engine sends every number as a float; Kubernetes quantities may be strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_URN = re.compile(r"^urn:pulumi:(?P<stack>[^:]+)::(?P<project>[^:]+)::")


def stack_of(urn: str) -> str | None:
    """The stack name in a resource URN (``urn:pulumi:<stack>::<project>::...``)."""
    match = _URN.match(urn)
    return match["stack"] if match else None


def display(value: Any) -> str:
    """A short rendering of a value for messages."""
    if value is UNKNOWN:
        return "(unknown during preview)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)
