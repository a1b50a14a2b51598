"""Pulumi entry point: load and validate the stack config, plan it once, build the platform, export."""

import sys

import pulumi

from config.errors import EXIT_CODE, ConfigError
from stack.loader import PROJECT, config_source, load_stack_plan, read_plan_date

try:
    # The plan's date, read once: the rules judge it and the plan keeps it (a run across midnight UTC
    # judges one date).
    ON = read_plan_date(config_source(pulumi.get_stack()))
    # The typed pure plan (the catalog loaded once), judged by the rules; Platform only composes from it.
    plan = load_stack_plan(pulumi.get_stack(), on=ON)
except ConfigError as error:
    print(error.render(), file=sys.stderr)
    sys.exit(EXIT_CODE)

from components.platform import Platform, PlatformArgs

platform = Platform("platform", PlatformArgs(project=PROJECT, stack=pulumi.get_stack(), plan=plan))
for key, value in platform.outputs.items():
    pulumi.export(key, value)
