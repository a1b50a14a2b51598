"""What each text pattern of the schema accepts, in words: a refused value's message says this, never the
bare regular expression (issue 20). Keyed by the exact pattern of ``config.schema``; a test checks that
every pattern of the schema has its words here."""

from __future__ import annotations

PATTERN_TEXT: dict[str, str] = {
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}$": (  # noqa: E501
        "a storage account's resource id: /subscriptions/<id>/resourceGroups/<group>/providers/"
        "Microsoft.Storage/storageAccounts/<3-24 lowercase letters and digits>"
    ),
    r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$": "a Blob container name: 3-63 lowercase letters, digits and inner "
    "hyphens, e.g. model-weights",
    r"^[a-z][a-z0-9]{0,9}$": "a name of 1-10 lowercase letters and digits starting with a letter, e.g. a100",
    r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$": "a DNS label: 1-40 lowercase letters, digits and inner hyphens, "
    "starting with a letter, e.g. phi4-mini",
    r"^([1-9][0-9]?|100)%$": "a percentage from 1% to 100%, e.g. 33%",
    r"^(([1-9][0-9]?|100)%|[1-9][0-9]{0,2})$": "a percentage from 1% to 100% (e.g. 10%) or a node count "
    'from 1 to 999 written as text (e.g. "1")',
    r"^[0-9]+(s|m|h)$": "a whole number of seconds, minutes or hours, e.g. 30s, 10m or 1h",
    r"^[0-9]+m$": "whole minutes, e.g. 10m",
    r"^[0-9]+s?$": "whole seconds, e.g. 10s (or 10)",
    r"^[+-](0[0-9]|1[0-4]):[0-5][0-9]$": "an offset from UTC as +HH:MM or -HH:MM, e.g. +01:00",
    r"^(([0-9]+(s|m|h))+|Never)$": "a duration such as 10m, 720h or 1h30m, or Never",
    r"^((100|[0-9]{1,2})%|[0-9]+)$": 'a node count written as text (e.g. "1") or a percentage from 0% to '
    "100% (e.g. 10%)",
    r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$": "hours and/or minutes such as 12h, 30m or 1h30m",
    r"^([0-9]+(s|m|h))+$": "a duration such as 15m, 1h or 1h30m",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "a time of day as HH:MM (24-hour clock), e.g. 08:00",
    r"^[0-6](-[0-6])?(,[0-6](-[0-6])?)*$": "days of the week as cron numbers, 0 = Sunday: a range such as "
    "1-5 (Monday to Friday) or a list such as 1,3,5",
    r"^[0-9]+\.[0-9]+\.[0-9]+$": "a version MAJOR.MINOR.PATCH, e.g. 0.15.0",
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$": "a Kubernetes name: 1-63 lowercase letters, digits and inner "
    "hyphens, e.g. inference",
    r"^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$": "a queue name: 1-50 lowercase letters, digits and inner "
    "hyphens, e.g. batch-inference",
    r"^[a-z0-9]{5,50}\.azurecr\.io/[a-z0-9]+([._/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$": (
        "an image in the stack's container registry pinned by digest, "
        "e.g. <registry>.azurecr.io/aks-llm-worker@sha256:<64 hex digits>"
    ),
    r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$": "a Hugging Face repository id owner/name, e.g. microsoft/phi-4",
    r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$": (
        "a GUID, e.g. 7b3c0a52-1f4e-4d2a-9c6b-0e5d8f7a6b21"
    ),
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a calendar date YYYY-MM-DD, e.g. 2026-11-01",
    r"^[a-z0-9]{4,8}$": "4-8 lowercase letters and digits, e.g. x7k2",
    r"^[a-z][a-z0-9]{2,30}$": "an Azure region name such as swedencentral (lowercase, no spaces)",
    r"^[a-z][a-z0-9]{1,9}$": "a prefix of 2-10 lowercase letters and digits starting with a letter, e.g. llm",
    # issue 23: the gateway
    r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$": (
        "a fully qualified host name in lowercase, e.g. llm.internal.example.com"
    ),
    r"^[0-9A-Za-z-]{1,127}$": (
        "a Key Vault object name: 1-127 letters, digits and hyphens, e.g. llm-gateway-tls"
    ),
    r"^asm-1-[0-9]{1,2}$": "an AKS Istio add-on revision such as asm-1-30",
    # issue 23: Azure resource ids of a VNet, a subnet and a NAT gateway
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9_.()]{1,90}/providers/Microsoft\.Network/"
    r"virtualNetworks/[-A-Za-z0-9_.]{2,64}$": (
        "a VNet's resource id, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/"
        "virtualNetworks/<name>"
    ),
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9_.()]{1,90}/providers/Microsoft\.Network/"
    r"virtualNetworks/[-A-Za-z0-9_.]{2,64}/subnets/[-A-Za-z0-9_.]{1,80}$": (
        "a subnet's resource id, <the VNet's resource id>/subnets/<name>"
    ),
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9_.()]{1,90}/providers/Microsoft\.Network/"
    r"natGateways/[-A-Za-z0-9_.]{1,80}$": (
        "a NAT gateway's resource id, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/"
        "natGateways/<name>"
    ),
}


def pattern_text(pattern: object) -> str:
    """The words for ``pattern``; a generic pointer to the reference when a pattern has none."""
    return PATTERN_TEXT.get(str(pattern), "text in the form docs/config-reference.md gives for this key")
