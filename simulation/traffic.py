"""Demand over the simulated week: concurrent requests per model per minute (pure).

The stack's own figures: ``workload.peakConcurrentRequests`` scaled by a shape over the local day (the
model's schedule: its time zone, days and business hours, else 08:00-18:00 Monday to Friday UTC), or
``simulation.shape`` (24 hourly fractions of the peak), or a traffic file. A request lasts its p95
generation at the decode-speed floor (``sizing.drain.longest_generation_seconds``, the figure the
cooldown uses), so a request rate becomes a concurrency by Little's law (concurrency = rate x duration).
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config.schema import ModelConfig, ScheduleConfig, TrafficShapeConfig
from sizing import drain
from sizing.business_hours import DAY_MINUTES, WEEK_MINUTES, parse_days, utc_offset_minutes

DEFAULT_SCHEDULE = ScheduleConfig.model_validate({})  # 08:00-18:00, days 1-5, Etc/UTC
# The default shape of a business day (fractions of the peak), an assumption stated in docs/simulate.md:
# inside business hours 0.6 + 0.4 sin(pi x) (60 % at the edges, the peak mid-window); early users in
# the hour before the window and a tail over the two hours after it at 10 %; nothing at night or on the
# other days. ``simulation.shape`` replaces it.
EDGE_FRACTION, SWING_FRACTION = 0.6, 0.4
EARLY_MINUTES, LATE_MINUTES, SHOULDER_FRACTION = 60, 120, 0.10


class TrafficFileError(ValueError):
    """A traffic file the tool cannot read: one line, exit 2."""


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def request_seconds(model: ModelConfig) -> int:
    """How long one request holds a sequence: the p95 generation at the decode-speed floor."""
    return max(1, drain.longest_generation_seconds(model))


def default_fraction(schedule: ScheduleConfig, day: int, minute_of_day: int) -> float:
    """The default shape at local ``day`` (0 = Sunday) and minute: see the constants above."""
    days = set(parse_days(schedule.days))
    start, end = _minutes(schedule.start), _minutes(schedule.end)
    length = (end - start) % DAY_MINUTES or DAY_MINUTES
    since = (minute_of_day - start) % DAY_MINUTES
    opened = (day - (1 if minute_of_day < start else 0)) % 7  # the day the window containing it opened
    if opened in days and since < length:
        return EDGE_FRACTION + SWING_FRACTION * math.sin(math.pi * since / length)
    if opened in days and since < length + LATE_MINUTES:
        return SHOULDER_FRACTION
    if day in days and 0 < start - minute_of_day <= EARLY_MINUTES:
        return SHOULDER_FRACTION
    return 0.0


def shape_fraction(
    shape: TrafficShapeConfig, schedule: ScheduleConfig, day: int, minute_of_day: int
) -> float:
    """The stack's hourly shape: business-day fractions on the schedule's days, else the other days'."""
    hours = shape.business_days if day in set(parse_days(schedule.days)) else shape.other_days
    return hours[minute_of_day // 60]


@dataclass(frozen=True)
class Demand:
    """Concurrent requests of one model per UTC minute of the week (index 0 = Sunday 00:00 UTC)."""

    model: str
    per_minute: list[float]
    source: str  # default shape | stack shape | traffic file

    def at(self, utc_week_minute: int) -> float:
        return self.per_minute[utc_week_minute % WEEK_MINUTES]


def model_demand(model: ModelConfig, shape: TrafficShapeConfig | None) -> Demand:
    """The week of demand of one model from its peak, its schedule and the shape."""
    schedule = model.schedule or DEFAULT_SCHEDULE
    offset = utc_offset_minutes(schedule.timezone) or 0
    peak = float(model.workload.peak_concurrent_requests)
    if model.workload.peak_requests_per_second is not None:
        peak = model.workload.peak_requests_per_second * request_seconds(model)
    fraction: Callable[[int, int], float]
    if shape is None:
        fraction, source = (lambda d, m: default_fraction(schedule, d, m)), "default shape"
    else:
        fraction, source = (lambda d, m: shape_fraction(shape, schedule, d, m)), "stack shape"
    out = []
    for utc in range(WEEK_MINUTES):
        local = (utc + offset) % WEEK_MINUTES
        out.append(peak * fraction(local // DAY_MINUTES, local % DAY_MINUTES))
    return Demand(model.name, out, source)


def read_traffic_file(path: Path, models: dict[str, ModelConfig]) -> dict[str, Demand]:
    """A CSV of ``minute,model,concurrency`` or ``minute,model,requestsPerSecond,p95CompletionTokens``.

    ``minute`` counts UTC minutes from Sunday 00:00 (0-10079, a week), or 0-1439 (one day, repeated on
    every day); minutes between rows keep the previous row's value. Concurrency from a rate: rate x the
    p95 generation at the decode-speed floor (``request_seconds``; the row's tokens replace the stack's).
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise TrafficFileError(f"{path}: cannot read it ({exc.strerror})") from exc
    points: dict[str, list[tuple[int, float]]] = {}
    for number, row in enumerate(rows, start=2):
        name = (row.get("model") or "").strip()
        if name not in models:
            raise TrafficFileError(
                f"{path}:{number}: model {name!r} is not in the stack (accepted: {', '.join(sorted(models))})"
            )
        try:
            minute = int(row["minute"])
            if row.get("concurrency") not in (None, ""):
                value = float(row["concurrency"])
            else:
                rate, tokens = float(row["requestsPerSecond"]), float(row["p95CompletionTokens"])
                value = rate * max(1.0, tokens / drain.DECODE_TOKENS_PER_SECOND_FLOOR)
        except (KeyError, TypeError, ValueError) as exc:
            raise TrafficFileError(
                f"{path}:{number}: expected columns minute,model,concurrency or "
                "minute,model,requestsPerSecond,p95CompletionTokens with numbers"
            ) from exc
        if not 0 <= minute < WEEK_MINUTES or not math.isfinite(value) or value < 0:
            raise TrafficFileError(
                f"{path}:{number}: minute 0-10079 and a concurrency >= 0 (got {minute}, {value})"
            )
        points.setdefault(name, []).append((minute, value))
    out = {}
    for name, pts in points.items():
        pts.sort()
        span = DAY_MINUTES if pts[-1][0] < DAY_MINUTES else WEEK_MINUTES
        minutes = [m for m, _ in pts]
        per = [0.0] * WEEK_MINUTES
        for utc in range(WEEK_MINUTES):
            at = bisect.bisect_right(minutes, utc % span) - 1
            per[utc] = pts[at][1] if at >= 0 else 0.0
        out[name] = Demand(name, per, f"traffic file {path.name}")
    return out
