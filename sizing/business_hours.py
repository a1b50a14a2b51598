"""Business-hours windows of a model's schedule on a common UTC week (pure).

A week is 10,080 minutes from Sunday 00:00 UTC; days use cron numbering (0 = Sunday, as KEDA's cron
trigger does). Time zones are resolved with their UTC offset on ``REFERENCE_INSTANT`` (a January
date: standard time in the northern hemisphere), so a summer-time hour shift is ignored. A month is
730 hours, a week 168, so a weekly pattern repeats 730/168 times a month.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from config.schema import ScheduleConfig
from config.timezones import zone_info

HOURS_PER_MONTH = 730.0
HOURS_PER_WEEK = 168.0
WEEK_MINUTES = 7 * 24 * 60
DAY_MINUTES = 24 * 60
REFERENCE_INSTANT = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)

Interval = tuple[int, int]  # [start, end) in minutes of the UTC week


def parse_days(days: str) -> list[int]:
    """Cron day list ``"1-5"``, ``"0,6"`` or ``"1-3,5"`` -> sorted days (a range like 5-1 wraps)."""
    out: set[int] = set()
    for part in days.split(","):
        first, _, last = part.partition("-")
        a = int(first)
        b = int(last) if last else a
        day = a
        while True:
            out.add(day)
            if day == b:
                break
            day = (day + 1) % 7
    return sorted(out)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def utc_offset_minutes(timezone: str) -> int | None:
    """The zone's UTC offset at ``REFERENCE_INSTANT`` in minutes; None for an unknown zone."""
    try:
        offset = REFERENCE_INSTANT.astimezone(zone_info(timezone)).utcoffset()
    except KeyError:
        return None
    return int(offset.total_seconds() // 60) if offset is not None else 0


def window_minutes(schedule: ScheduleConfig) -> int:
    """Length of one daily window; an end at or before the start runs past midnight (00:00 = 24 h)."""
    return (_minutes(schedule.end) - _minutes(schedule.start)) % DAY_MINUTES or DAY_MINUTES


def weekly_intervals(schedule: ScheduleConfig, offset_minutes: int) -> list[Interval]:
    """The schedule's windows on the UTC week, split where they wrap past Saturday night."""
    length = window_minutes(schedule)
    intervals: list[Interval] = []
    for day in parse_days(schedule.days):
        start = (day * DAY_MINUTES + _minutes(schedule.start) - offset_minutes) % WEEK_MINUTES
        end = start + length
        if end <= WEEK_MINUTES:
            intervals.append((start, end))
        else:
            intervals.extend([(start, WEEK_MINUTES), (0, end - WEEK_MINUTES)])
    return _merge(intervals)


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def business_hours_per_month(intervals: list[Interval]) -> float:
    """Hours a month inside the windows: weekly minutes x 730/168."""
    weekly = sum(end - start for start, end in intervals) / 60
    return weekly * HOURS_PER_MONTH / HOURS_PER_WEEK


def segments(all_intervals: list[list[Interval]]) -> list[Interval]:
    """The week cut at every window boundary: inside a segment nothing changes."""
    cuts = {0, WEEK_MINUTES}
    for intervals in all_intervals:
        for start, end in intervals:
            cuts.update((start, end))
    points = sorted(cuts)
    return list(itertools.pairwise(points))


def inside(minute: int, intervals: list[Interval]) -> bool:
    return any(start <= minute < end for start, end in intervals)
