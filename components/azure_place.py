"""Where an Azure resource of the stack lives: one typed value instead of three loose arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class AzurePlace:
    """The resource group, region and tags every Azure resource of a component takes."""

    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
