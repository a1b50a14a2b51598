"""The date a plan is made for: injectable so tests, PR diffs and plan comparisons do not move with the
calendar (``python -m tools.plan --date YYYY-MM-DD`` or ``AKS_LLM_PLAN_DATE``; default today, UTC)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

PLAN_DATE_ENV = "AKS_LLM_PLAN_DATE"


def parse_plan_date(text: str) -> date:
    """``YYYY-MM-DD`` as a date; ValueError naming the variable otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{PLAN_DATE_ENV}={text!r} is not a date like 2026-12-01") from exc


def plan_date() -> date:
    """``AKS_LLM_PLAN_DATE`` when set, else today's date in UTC."""
    text = os.environ.get(PLAN_DATE_ENV, "").strip()
    return parse_plan_date(text) if text else datetime.now(UTC).date()
