"""What a rule is: a pure function of the validated config and the catalog, or one that also judges
the plan's date (read once per plan by the caller: ``config.plan_date.plan_date``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from config.catalog import Catalog
from config.errors import Problem
from config.schema import StackConfig

Rule = Callable[[StackConfig, Catalog], Iterable[Problem]]
DatedRule = Callable[[StackConfig, Catalog, date], Iterable[Problem]]


@dataclass(frozen=True)
class Dated:
    """A rule judged on the plan's date: ``rules.check.check_rules`` passes the date it was given."""

    rule: DatedRule

    def on(self, day: date) -> Rule:
        """The rule with its date bound."""
        return lambda config, catalog: self.rule(config, catalog, day)
