"""A Karpenter disruption budget's ``schedule``, checked as Karpenter reads it (pure).

Karpenter (sigs.k8s.io/karpenter at the commit karpenter-provider-azure v1.12.2 pins, 7e9d426919bd, the
NAP version of AKS 1.36) accepts a schedule in two steps; a schedule that passes the first and fails the
second is stored, and then the budget can never be evaluated:

1. the NodePool CRD's pattern (pkg/apis/v1/nodepool.go:140, read at that commit):
   ``^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|((.+)\\s(.+)\\s(.+)\\s(.+)\\s(.+))$``
   (Go RE2: ``\\s`` is ASCII ``[\\t\\n\\f\\r ]``, ``.`` is anything but a newline, the match may start
   anywhere);
2. ``Budget.IsActive`` (nodepool.go:396-409) parses ``"TZ=UTC " + schedule`` with robfig/cron v3.0.1's
   ``ParseStandard`` (read at robfig/cron@v3.0.1 parser.go:88-153, 217-341, 365-434; spec.go:14-49):
   the time zone is cut off at the first space and the rest trimmed; a descriptor (``@daily`` ...) must
   match exactly; otherwise exactly 5 whitespace-separated fields (minute 0-59, hour 0-23, day of month
   1-31, month 1-12 or jan-dec, day of week 0-6 or sun-sat), each a comma-separated list of ``*``/``?``,
   ``N``, ``N-M``, with an optional ``/step``; numbers as Go's ``strconv.Atoi`` reads them (ASCII digits).

A schedule that never fires (``0 0 31 2 *``) parses, but robfig's ``Next`` then returns the zero time
(spec.go:57, 87-92: nothing within five years), which ``IsActive`` reads as *always active*: refused too.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
CRD_PATTERN = re.compile(
    r"\A(@(annually|yearly|monthly|weekly|daily|midnight|hourly))"
    r"|((.+)[\t\n\f\r ](.+)[\t\n\f\r ](.+)[\t\n\f\r ](.+)[\t\n\f\r ](.+))\Z"
)
# Go's unicode.IsSpace: what strings.Fields splits on and strings.TrimSpace trims.
GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)
_ATOI = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
ACCEPTED = (
    "5 cron fields in UTC: minute hour day-of-month month day-of-week (e.g. 0 7 * * 1-5, or MON-FRI), "
    "or @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly; no time zone"
)


class CronError(ValueError):
    """Why Karpenter would not use the schedule."""


def _fields(text: str) -> list[str]:
    out: list[str] = []
    current = ""
    for char in text:
        if char in GO_SPACE:
            if current:
                out.append(current)
            current = ""
        else:
            current += char
    return [*out, current] if current else out


def _trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in GO_SPACE:
        start += 1
    while end > start and text[end - 1] in GO_SPACE:
        end -= 1
    return text[start:end]


def _number(token: str, names: tuple[str, ...] | None, base: int, what: str) -> int:
    if names is not None and token.lower() in names:
        return names.index(token.lower()) + base
    if not _ATOI.fullmatch(token):
        known = f" or a name ({', '.join(names)})" if names else ""
        raise CronError(f"{what}: {token!r} is not a number{known}")
    value = int(token)
    if value < 0:
        raise CronError(f"{what}: negative number {token!r}")
    return value


def _values(field: str, index: int) -> tuple[set[int], bool]:
    """The values a field selects, and whether it was a star (robfig's starBit)."""
    what, low, high, names = _FIELDS[index]
    base = 1 if index == 3 else 0  # month names count from 1, weekday names from 0
    selected: set[int] = set()
    star = False
    for part in (p for p in field.split(",") if p):  # strings.FieldsFunc drops empty parts
        range_and_step = part.split("/")
        bounds = range_and_step[0].split("-")
        if len(range_and_step) > 2:
            raise CronError(f"{what}: too many slashes in {part!r}")
        if bounds[0] in ("*", "?"):
            start, end, part_star = low, high, True
        else:
            if len(bounds) > 2:
                raise CronError(f"{what}: too many hyphens in {part!r}")
            start = _number(bounds[0], names, base, what)
            end = _number(bounds[1], names, base, what) if len(bounds) == 2 else start
            part_star = False
        step = 1
        if len(range_and_step) == 2:
            step = _number(range_and_step[1], None, 0, what)
            if len(bounds) == 1:
                end = high  # "N/step" means "N-max/step"
            if step > 1:
                part_star = False
        if start < low or end > high:
            raise CronError(f"{what}: {part!r} is outside {low}-{high}")
        if start > end:
            raise CronError(f"{what}: the range {part!r} runs backwards")
        if step == 0:
            raise CronError(f"{what}: a step of 0 in {part!r}")
        selected.update(range(start, end + 1, step))
        star = star or part_star
    return selected, star


def _fires(values: list[tuple[set[int], bool]]) -> bool:
    """Whether the schedule matches some minute within five years (robfig's Next gives up after that)."""
    (minutes, _), (hours, _), (dom, dom_star), (months, _), (dow, dow_star) = values
    if not minutes or not hours:
        return False
    day = date(2026, 1, 1)
    for _ in range(366 * 5):
        if day.month in months:
            dom_match, dow_match = day.day in dom, (day.weekday() + 1) % 7 in dow
            if (dom_match and dow_match) if (dom_star or dow_star) else (dom_match or dow_match):
                return True
        day += timedelta(days=1)
    return False


def check_schedule(schedule: str) -> None:
    """Raise ``CronError`` unless Karpenter's CRD stores ``schedule`` and its budget code can use it."""
    if not CRD_PATTERN.search(schedule):
        raise CronError("not a schedule the NodePool CRD stores (5 fields, or one of the @ macros)")
    spec = _trim(("TZ=UTC " + schedule)[len("TZ=UTC") :])
    if spec.startswith("@"):
        if spec not in DESCRIPTORS:
            raise CronError(f"{spec!r} is not one of Karpenter's macros")
        return
    if spec.startswith(("TZ=", "CRON_TZ=")):
        raise CronError("Karpenter adds TZ=UTC itself: a budget schedule takes no time zone")
    fields = _fields(spec)
    if len(fields) != 5:
        raise CronError(f"{len(fields)} fields; a budget schedule has exactly 5")
    values = [_values(field, i) for i, field in enumerate(fields)]
    if not _fires(values):
        raise CronError(
            "the schedule never fires (no such date), which Karpenter reads as a budget that is always active"
        )
