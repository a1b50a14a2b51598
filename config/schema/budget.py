"""The monthly Consumption budget with e-mail alerts (``aks-llm:budget``)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from config.errors import KeyValueError
from config.schema.base import MAX_MONTHLY_AMOUNT, MIN_MONTHLY_AMOUNT, Email, Strict

_FIRST_OF_MONTH = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])-01")  # fullmatch, ASCII digits


def _first_of_month(value: str) -> str:
    """Accepted: the first day of a month, `YYYY-MM-01`."""
    if not _FIRST_OF_MONTH.fullmatch(value):
        raise ValueError(f"{value!r} is not the first day of a month as YYYY-MM-01, e.g. 2026-12-01")
    return value


FirstOfMonth = Annotated[str, AfterValidator(_first_of_month)]
ThresholdPercent = Annotated[int, Field(ge=1, le=1000)]
_MAX_BUDGET_NOTIFICATIONS = 5  # Azure: a budget has at most five notifications


class BudgetConfig(Strict):
    """A monthly Consumption budget on the stack's two resource groups (the cluster's and the node
    resource group, where the GPU VMs bill) with e-mail alerts.

    ``thresholds`` alert on actual cost, ``forecastThresholds`` on Azure's forecast, in percent of
    ``monthlyAmount`` (the subscription's billing currency). ``startDate`` (the first day of a month)
    defaults to the first day of the month of the first ``pulumi up``; Azure cannot change it later.
    """

    monthly_amount: Annotated[float, Field(ge=MIN_MONTHLY_AMOUNT, le=MAX_MONTHLY_AMOUNT)]
    """Monthly budget in the subscription's billing currency."""
    thresholds: list[ThresholdPercent] = Field(default_factory=lambda: [50, 80, 100])
    """Alerts on actual cost, in percent of `monthlyAmount`; no repeats."""
    forecast_thresholds: list[ThresholdPercent] = Field(default_factory=lambda: [100])
    """Alerts on Azure's forecast cost, in percent of `monthlyAmount`; no repeats; at most 5 notifications
    with `thresholds`, at least one."""
    contact_emails: Annotated[list[Email], Field(min_length=1, max_length=50)]
    """E-mail addresses the alerts go to (1 to 50, no repeats)."""
    start_date: FirstOfMonth | None = None
    """First day of the budget (`YYYY-MM-01`). Unset: the first day of the plan date's month, kept
    afterwards because Azure cannot change it. A changed date replaces the budget, so a date before the
    plan date's month or more than 12 months after it is refused."""

    @model_validator(mode="after")
    def _notifications(self) -> BudgetConfig:
        for label, values in (
            ("thresholds", self.thresholds),
            ("forecastThresholds", self.forecast_thresholds),
        ):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise KeyValueError(label, f"repeated values {dupes}; list each once")
        count = len(self.thresholds) + len(self.forecast_thresholds)
        if count == 0:
            raise ValueError("a budget needs at least one threshold or forecastThreshold")
        if count > _MAX_BUDGET_NOTIFICATIONS:
            raise ValueError(
                f"Azure allows {_MAX_BUDGET_NOTIFICATIONS} notifications per budget; thresholds and "
                f"forecastThresholds list {count}"
            )
        emails = [e.lower() for e in self.contact_emails]
        repeated = sorted({e for e in emails if emails.count(e) > 1})
        if repeated:
            raise KeyValueError("contactEmails", f"contactEmails: repeated addresses {repeated}")
        return self
