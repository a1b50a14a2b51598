"""The date a plan is made for: injectable so tests, PR diffs and plan comparisons do not move with the
calendar (``python -m tools.plan --date YYYY-MM-DD`` or ``AKS_LLM_PLAN_DATE``; default today, UTC)."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime

PLAN_DATE_ENV = "AKS_LLM_PLAN_DATE"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class PlanDateError(ValueError):
    """The plan date given (the variable or ``--date``) is not a calendar date; the message names it."""


def parse_plan_date(text: str, *, given_as: str = PLAN_DATE_ENV) -> date:
    """``YYYY-MM-DD`` as a date; else ``PlanDateError`` naming ``given_as`` (the variable or the flag)."""
    value = text.strip()
    try:
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    shown = f"{given_as}={text!r}" if given_as == PLAN_DATE_ENV else f"{given_as} {text!r}"
    hint = "; unset it to plan as of today (UTC)" if given_as == PLAN_DATE_ENV else ""
    raise PlanDateError(f"{shown} is not a calendar date YYYY-MM-DD, e.g. 2026-12-01{hint}")


def plan_date() -> date:
    """``AKS_LLM_PLAN_DATE`` when set, else today's date in UTC."""
    text = os.environ.get(PLAN_DATE_ENV, "").strip()
    return parse_plan_date(text) if text else datetime.now(UTC).date()
