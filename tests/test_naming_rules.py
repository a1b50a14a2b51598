"""Globally unique names obey Azure's naming rules for every prefix, stack name and suffix the program
accepts (Microsoft's resource-name-rules page, Microsoft.KeyVault/vaults, Microsoft.ServiceBus/namespaces,
Microsoft.ContainerRegistry/registries), the longest and the oddest included."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from facts.naming import Names

PREFIXES = st.from_regex(r"\A[a-z][a-z0-9]{1,9}\Z")  # config.schema: aks-llm:prefix
# Pulumi stack names: letters, digits, hyphens, underscores and periods, at most 100 characters.
STACKS = st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=100) | st.text(
    alphabet="abc019-", min_size=60, max_size=100
)
SUFFIXES = st.from_regex(r"\A[a-z0-9]{4,8}\Z")  # naming.suffix, or the random 6 characters
KEY_VAULT = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
SERVICE_BUS = re.compile(r"^[a-z][a-z0-9-]{4,48}[a-z0-9]$")
REGISTRY = re.compile(r"^[a-z0-9]{5,50}$")


@given(PREFIXES, STACKS, SUFFIXES)
def test_global_names_are_valid_azure_names(prefix: str, stack: str, suffix: str) -> None:
    names = Names(prefix=prefix, stack=stack, location="swedencentral")
    vault = names.key_vault(suffix)
    assert KEY_VAULT.match(vault) and "--" not in vault, vault  # no consecutive hyphens in a vault name
    assert vault.endswith("-" + suffix)
    bus = names.service_bus(suffix)
    assert SERVICE_BUS.match(bus) and not bus.endswith(("-sb", "-mgmt")), bus
    assert bus.endswith("-" + suffix)
    registry = names.container_registry(suffix)
    assert REGISTRY.match(registry) and registry.endswith(suffix), registry


def test_a_stack_name_with_an_underscore_next_to_a_hyphen_gives_a_valid_vault() -> None:
    assert Names(prefix="llm", stack="eu_-dev", location="swedencentral").key_vault("a1b2c3") == (
        "kv-llm-eu-dev-a1b2c3"
    )


# AKS refuses a longer node resource group: "The length of the node resource group name is too long. The
# maximum length is 80" (AKS's InvalidParameter message, quoted in the issues
# Azure-Terraform/terraform-azurerm-kubernetes#33 and rancher/rancher#21264; not run here).
NODE_RESOURCE_GROUP_MAX = 80
LOCATIONS = st.sampled_from(["swedencentral", "australiasoutheast", "southafricanorth", "eastus"])


@given(PREFIXES, STACKS, LOCATIONS)
def test_the_node_resource_group_is_a_valid_name_of_its_own(prefix: str, stack: str, location: str) -> None:
    names = Names(prefix=prefix, stack=stack, location=location)
    group, nodes = names.resource_group(), names.node_resource_group()
    assert len(group) <= 90 and len(nodes) <= NODE_RESOURCE_GROUP_MAX
    assert nodes != group and nodes.endswith("-nodes")
    assert names.budget_resource_groups() == [group, nodes]


def test_a_long_stack_name_keeps_the_node_resource_group_apart() -> None:
    names = Names(prefix="abcdefghij", stack="s" * 100, location="australiasoutheast")
    assert names.node_resource_group() == names.resource_group()[:74] + "-nodes"
