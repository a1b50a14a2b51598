"""What the stack's own network costs per month (issue 23 item 5): the private endpoints; the VNet,
its subnets, NSGs and route table cost nothing by themselves.

Prices are list prices in USD, read on 2026-12-07 from third-party summaries of Azure's Private Link
price page, **unverified** against Azure's own page (which this machine cannot open): a private
endpoint USD 0.01 per hour, plus USD 0.01 per GB processed in each direction (c3x.dev
"azurerm_private_endpoint cost estimation"; oneuptime.com 2026-02-16 "~$7.30/month per endpoint plus
$0.01/GB"). The per-GB charge depends on traffic, so it is named, not estimated.

The private DNS zones (one per private-endpoint service) at USD 0.50 per zone and month (first 25
zones), plus USD 0.40 per million queries (not estimated); the gateway's load balancer (the Istio
add-on's gateway Service: a Standard load balancer, internal or public) at USD 0.025 per hour for its
first five rules, plus USD 0.005 per GB processed (not estimated). These are Azure list prices as
recalled on 2026-12-07 from Azure's Azure DNS and Load Balancer price pages, **unverified** (the pages
cannot be opened here). Left out: Service Bus Premium and the registry's Premium SKU when they go
private (their tier, not the endpoint, is the cost), and a public IP for an external gateway.
"""

from __future__ import annotations

from typing import Any

from sizing.business_hours import HOURS_PER_MONTH
from sizing.network import NetworkPlan

PRIVATE_ENDPOINT_USD_PER_HOUR = 0.01
PRIVATE_ENDPOINT_USD_PER_GB = 0.01
PRICES_READ = "2026-12-07"
PRIVATE_DNS_ZONE_USD_PER_MONTH = 0.50
LOAD_BALANCER_USD_PER_HOUR = 0.025  # Standard, first five rules


def network_cost(
    plan: NetworkPlan | None, private_endpoints: list[str], gateway: bool = False
) -> dict[str, Any] | None:
    """The network's monthly cost in USD (None without a VNet of the stack's own and without a gateway)."""
    if plan is None and not gateway:
        return None
    endpoints = len(private_endpoints) if plan is not None else 0
    zones = len(set(private_endpoints)) if plan is not None else 0
    endpoint_monthly = round(endpoints * PRIVATE_ENDPOINT_USD_PER_HOUR * HOURS_PER_MONTH, 2)
    zones_monthly = round(zones * PRIVATE_DNS_ZONE_USD_PER_MONTH, 2)
    lb_monthly = round(LOAD_BALANCER_USD_PER_HOUR * HOURS_PER_MONTH, 2) if gateway else 0.0
    return {
        "currency": "USD",
        "privateEndpoints": endpoints,
        "privateEndpointsMonthly": endpoint_monthly,
        "privateDnsZones": zones,
        "privateDnsZonesMonthly": zones_monthly,
        "gatewayLoadBalancerMonthly": lb_monthly,
        "vnetMonthly": 0.0,
        "monthly": round(endpoint_monthly + zones_monthly + lb_monthly, 2),
        "note": (
            f"{endpoints} private endpoint(s) x USD {PRIVATE_ENDPOINT_USD_PER_HOUR}/h "
            f"x {HOURS_PER_MONTH:g} h (+ USD {PRIVATE_ENDPOINT_USD_PER_GB}/GB, not estimated); "
            f"{zones} private DNS zone(s) x USD "
            f"{PRIVATE_DNS_ZONE_USD_PER_MONTH} (+ queries, not estimated); "
            + (
                f"the gateway's load balancer USD {LOAD_BALANCER_USD_PER_HOUR}/h (+ USD 0.005/GB, not "
                "estimated); "
                if gateway
                else ""
            )
            + f"VNet, subnets, NSGs and route table: no charge. List prices read {PRICES_READ}, unverified "
            "(cost/network.py); Premium tiers of a private Service Bus / registry not included"
        ),
    }
