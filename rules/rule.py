"""What a rule is, in two phases: a reference rule (``ConfigRule``) judges the validated config and the
catalog before anything is planned (planning needs the names it looks up to exist); every other rule
(``Rule``) judges the stack's plan, computed once by ``planning.stack_plan.plan_stack``, and reads its
decisions (model plans, pools, quota rows, the plan's date) from the plan's fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from config.catalog import Catalog
from config.errors import Problem
from config.schema import StackConfig
from planning.stack_plan import StackPlan

ConfigRule = Callable[[StackConfig, Catalog], Iterable[Problem]]
Rule = Callable[[StackPlan], Iterable[Problem]]
