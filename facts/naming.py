"""Azure names within Azure's naming rules.

Names scoped to the resource group or subscription are deterministic (same config, same names).
Globally unique names (Key Vault, container registry, Service Bus: DNS names every Azure customer
shares) end in the deployment's ``unique`` suffix: a random string created on the stack's first
``pulumi up`` and kept in its state (``components.name_suffix``), or ``naming.suffix`` from config.
A hash of prefix, stack and region alone (``Names.suffix``, what these names ended in before) is the
same for every user who keeps the defaults, and a destroyed vault's name stays taken for its
soft-delete period, so a re-created stack needs a new one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

UNIQUE_SUFFIX_LENGTH = 6  # lowercase letters and digits: 36^6 (about 2.2e9) suffixes
# Azure limits (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules)
_LIMITS = {
    "resource_group": 90,
    # AKS's own limit on the node resource group ("The maximum length is 80", its InvalidParameter message)
    "node_resource_group": 80,
    "cluster": 63,
    "dns_prefix": 54,
    "log_analytics": 63,
    "identity": 128,
    "key_vault": 24,
    "monitor_workspace": 44,
    "service_bus": 50,
    "container_registry": 50,
    "storage_account": 24,
    "budget": 63,
    "data_collection_endpoint": 44,
    "data_collection_rule": 64,
    # Microsoft.AlertsManagement/prometheusRuleGroups: the REST API (2023-03-01) gives the pattern
    # ^[^:@/#{}%&+*<>?]+$ and no length; kept to the cluster's 63.
    "prometheus_rule_group": 63,
    # Microsoft.Insights/actionGroups: name 1-260; groupShortName at most 12 characters (REST API
    # 2023-01-01, ActionGroup.groupShortName maxLength 12). Metric alerts: kept to 63 like the rest.
    "action_group": 63,
    "action_group_short": 12,
    "metric_alert": 63,
}


@dataclass(frozen=True)
class Names:
    """Names of one stack's Azure resources: ``<kind>-<prefix>-<stack>`` plus a short region code."""

    prefix: str
    stack: str
    location: str

    @property
    def base(self) -> str:
        return f"{self.prefix}-{_clean(self.stack)}"

    @property
    def suffix(self) -> str:
        """Four hex characters from prefix, stack and region (the DNS prefix's; AKS adds its own hash to
        the FQDN). Also what the globally unique names ended in before the random suffix: an existing
        stack keeps its names with ``naming.suffix`` set to this value."""
        return hashlib.sha256(f"{self.prefix}/{self.stack}/{self.location}".encode()).hexdigest()[:4]

    def resource_group(self) -> str:
        return _fit(f"rg-{self.base}-{self.location}", "resource_group")

    def node_resource_group(self) -> str:
        """Where AKS puts the nodes' VM scale sets, disks, load balancer and public IPs (AKS FAQ). At most
        80 characters (AKS), always ending in ``-nodes``: a long cluster group name is shortened before
        it, never cut back to the cluster's own group name."""
        return _fit(f"{self.resource_group()}-nodes", "node_resource_group", keep_tail=len("-nodes"))

    def budget_resource_groups(self) -> list[str]:
        """The groups the budget watches: the cluster's own and the node resource group, where the
        GPU VMs bill (the cost estimate states the same scope)."""
        return [self.resource_group(), self.node_resource_group()]

    def cluster(self) -> str:
        return _fit(f"aks-{self.base}", "cluster")

    def dns_prefix(self) -> str:
        return _fit(f"{self.base}-{self.suffix}", "dns_prefix")

    def log_analytics(self) -> str:
        return _fit(f"log-{self.base}", "log_analytics")

    def identity(self, purpose: str) -> str:
        return _fit(f"id-{self.base}-{purpose}", "identity")

    def key_vault(self, unique: str) -> str:
        """Globally unique, 3-24 alphanumerics and hyphens, starting with a letter, no consecutive
        hyphens (a stack name such as ``eu_-dev`` or ``a..b`` would give some: they are merged)."""
        name = re.sub(r"-{2,}", "-", f"kv-{self.base}-{unique}")
        return _fit(name, "key_vault", keep_tail=len(unique) + 1)

    def monitor_workspace(self) -> str:
        return _fit(f"amw-{self.base}", "monitor_workspace")

    def service_bus(self, unique: str) -> str:
        """Globally unique, 6-50 letters, digits and hyphens, ending in a letter or digit."""
        return _fit(f"sb-{self.base}-{unique}", "service_bus", keep_tail=len(unique) + 1)

    def container_registry(self, unique: str) -> str:
        """Globally unique, 5-50 lowercase letters and digits only (no hyphens)."""
        name = re.sub(r"[^a-z0-9]", "", f"cr{self.base}{unique}")
        return _fit(name, "container_registry", keep_tail=len(unique))

    def storage_account(self, unique: str) -> str:
        """Globally unique, 3-24 lowercase letters and digits only (the model weights' account)."""
        name = re.sub(r"[^a-z0-9]", "", f"stw{self.base}{unique}")
        return _fit(name, "storage_account", keep_tail=len(unique))

    def budget(self) -> str:
        """Consumption budget: letters, digits, hyphens and underscores, at most 63; unique in the
        subscription (its scope), so with the region as the resource group has it."""
        return _fit(f"budget-{self.base}-{self.location}", "budget")

    def prometheus_endpoint(self) -> str:
        """Managed Prometheus data collection endpoint (the portal names it MSProm-<region>-<cluster>)."""
        return _fit(f"MSProm-{self.location}-{self.cluster()}", "data_collection_endpoint")

    def container_insights_rule(self) -> str:
        """Container Insights data collection rule (the portal names it MSCI-<region>-<cluster>)."""
        return _fit(f"MSCI-{self.location}-{self.cluster()}", "data_collection_rule")

    def prometheus_rule(self) -> str:
        return _fit(f"MSProm-{self.location}-{self.cluster()}", "data_collection_rule")

    def prometheus_rule_group(self) -> str:
        """The stack's Prometheus rule group (recording rules, later alert rules) on its workspace."""
        return _fit(f"prom-rules-{self.base}", "prometheus_rule_group")

    def prometheus_alert_group(self) -> str:
        """The stack's Prometheus alert rule group (renderers/alerts.py) on its workspace."""
        return _fit(f"prom-alerts-{self.base}", "prometheus_rule_group")

    def action_group(self) -> str:
        """The action group the stack's alerts and budget forecasts notify."""
        return _fit(f"ag-{self.base}", "action_group")

    def action_group_short(self) -> str:
        """The action group's short name (shown in its e-mails and SMS)."""
        return _fit(self.base, "action_group_short")

    def metric_alert(self, key: str) -> str:
        """An Azure Monitor metric alert of the stack (``key``: what it watches)."""
        return _fit(f"alert-{self.base}-{key}", "metric_alert")


def _clean(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", text.lower()).strip("-") or "stack"


def _fit(name: str, kind: str, keep_tail: int = 0) -> str:
    """Shorten ``name`` to the kind's limit, keeping the last ``keep_tail`` characters (a hash)."""
    limit = _LIMITS[kind]
    if len(name) <= limit:
        return name
    if keep_tail:
        head = name[: limit - keep_tail].rstrip("-")
        return head + name[-keep_tail:]
    return name[:limit].rstrip("-")
