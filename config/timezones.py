"""IANA time zones from the pinned ``tzdata`` package, the same on every machine.

``zoneinfo.ZoneInfo`` prefers the machine's zone database (``TZPATH``) and falls back to ``tzdata``;
``zoneinfo.available_timezones()`` lists both, and a system database adds names that are no zone
(``localtime``, the machine's own setting) while a machine without one accepts nothing or, through
other libraries, falls back to UTC. The schedules' zones are therefore checked against, and read
from, the ``tzdata`` package alone: its ``zones`` file (one name a line, shipped with the package)
and its compiled zone files. ``Factory`` is in that list but is no place: its offset is 0 with the
abbreviation ``-00`` ("local time zone must be set"), so it is refused too.
"""

from __future__ import annotations

import functools
from importlib import resources
from zoneinfo import ZoneInfo

NOT_A_PLACE = frozenset({"Factory"})


@functools.cache
def iana_zones() -> frozenset[str]:
    """Every zone name of the pinned tzdata package, less ``Factory``."""
    text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(text.split()) - NOT_A_PLACE


@functools.cache
def zone_info(name: str) -> ZoneInfo:
    """The zone ``name`` read from the tzdata package (never the machine's database); KeyError when
    ``name`` is not in ``iana_zones()``."""
    if name not in iana_zones():
        raise KeyError(name)
    path = resources.files("tzdata").joinpath("zoneinfo", *name.split("/"))
    with path.open("rb") as handle:
        return ZoneInfo.from_file(handle, key=name)
