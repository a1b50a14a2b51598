"""Pulumi entry point: load and validate the stack config, build the platform, export outputs."""

import sys

import pulumi

from config.errors import EXIT_CODE, ConfigError
from stack.loader import PROJECT, config_source, load_stack_config, read_plan_date

try:
    # The plan's date, read once: the rules judge it and the plan keeps it (a run across midnight UTC
    # judges one date).
    ON = read_plan_date(config_source(pulumi.get_stack()))
    stack_config = load_stack_config(pulumi.get_stack(), on=ON)
except ConfigError as error:
    print(error.render(), file=sys.stderr)
    sys.exit(EXIT_CODE)

from components.platform import Platform, PlatformArgs
from config.catalog import load_catalog
from plan.stack_plan import plan_stack

# The typed pure plan first (the catalog loaded once); Platform then only composes resources from it.
plan = plan_stack(stack_config, load_catalog(), on=ON)
platform = Platform("platform", PlatformArgs(project=PROJECT, stack=pulumi.get_stack(), plan=plan))
for key, value in platform.outputs.items():
    pulumi.export(key, value)
