"""What the stack's own network costs per month (issue 23 item 5): the private endpoints; the VNet,
its subnets, NSGs and route table cost nothing by themselves.

Prices are list prices in USD, read on 2026-12-07 from third-party summaries of Azure's Private Link
price page, **unverified** against Azure's own page (which this machine cannot open): a private
endpoint USD 0.01 per hour, plus USD 0.01 per GB processed in each direction (c3x.dev
"azurerm_private_endpoint cost estimation"; oneuptime.com 2026-02-16 "~$7.30/month per endpoint plus
$0.01/GB"). The per-GB charge depends on traffic, so it is named, not estimated. What is left out:
the private DNS zones (billed per zone and per million queries), Service Bus Premium and the
registry's Premium SKU when they go private (their tier, not the endpoint, is the cost), and the
gateway (not declared yet).
"""

from __future__ import annotations

from typing import Any

from sizing.business_hours import HOURS_PER_MONTH
from sizing.network import NetworkPlan

PRIVATE_ENDPOINT_USD_PER_HOUR = 0.01
PRIVATE_ENDPOINT_USD_PER_GB = 0.01
PRICES_READ = "2026-12-07"


def network_cost(plan: NetworkPlan | None, private_endpoints: list[str]) -> dict[str, Any] | None:
    """The network's monthly cost in USD (None without a VNet of the stack's own)."""
    if plan is None:
        return None
    endpoints = len(private_endpoints)
    monthly = round(endpoints * PRIVATE_ENDPOINT_USD_PER_HOUR * HOURS_PER_MONTH, 2)
    return {
        "currency": "USD",
        "privateEndpoints": endpoints,
        "privateEndpointsMonthly": monthly,
        "vnetMonthly": 0.0,
        "monthly": monthly,
        "note": (
            f"{endpoints} private endpoint(s) x USD {PRIVATE_ENDPOINT_USD_PER_HOUR}/h "
            f"x {HOURS_PER_MONTH:g} h, "
            f"plus USD {PRIVATE_ENDPOINT_USD_PER_GB}/GB processed (not estimated); VNet, subnets, NSGs and "
            f"route table: no charge. List prices read {PRICES_READ}, unverified (cost/network.py); private "
            "DNS zones, Premium tiers of private Service Bus / registry and the gateway not included"
        ),
    }
