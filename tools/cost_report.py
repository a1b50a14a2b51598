"""The plan's cost section as text, drawn from the program's ``cost`` output."""

from __future__ import annotations

from typing import Any

from cost.budget import budget_warning
from tools.tables import table

_CAPACITY = {"onDemand": "on-demand", "spot": "spot"}


def money(value: Any, digits: int = 2) -> str:
    """``1,234.56``; ``-`` for a missing (unpriced) figure."""
    if value is None:
        return "-"
    return f"{float(value):,.{digits}f}"


def render_cost(cost: dict[str, Any]) -> str:
    """Capacity rows, hourly and monthly totals, per-model shares, break-even and notes."""
    cur = cost["currency"]
    lines = [f"Cost estimate ({cost['pricesLine']}):"]
    rows = [
        [
            r["name"],
            r["kind"],
            r["sku"],
            _CAPACITY.get(r["capacity"], r["capacity"]),
            str(r["minNodes"]),
            str(r["maxNodes"]),
            money(r["pricePerHour"], 4),
            r["priceBasis"] + (" (stack override)" if r["priceSource"] == "stack" else ""),
            money(r["hourlyAtMin"]),
            money(r["hourlyAtMax"]),
            money(r["monthly"]),
        ]
        for r in cost["rows"]
    ]
    header = ["capacity", "kind", "sku", "type", "min", "max", f"{cur}/h", "price basis"]
    lines += table([*header, "at min /h", "at max /h", "per month"], rows)
    idle, peak, month = cost["hourly"]["idleFloor"], cost["hourly"]["atMax"], cost["monthly"]
    lines.append(
        f"  Hourly {cur}: idle floor {money(idle['total'])} (on-demand {money(idle['onDemand'])}, "
        f"spot {money(idle['spot'])}); at max {money(peak['total'])} (on-demand "
        f"{money(peak['onDemand'])}, spot {money(peak['spot'])})"
    )
    lines.append(
        f"  Monthly {cur} ({cost['hoursPerMonth']:g} h, following the schedules): {money(month['total'])} "
        f"(on-demand {money(month['onDemand'])}, spot {money(month['spot'])}); idle floor all month "
        f"{money(month['idleFloorAllMonth'])}; at max all month {money(month['atMaxAllMonth'])}"
    )
    if not cost["complete"]:
        lines.append("  INCOMPLETE: some capacity has no price (see the notes)")
    warning = budget_warning(cost.get("budget"))
    if warning:
        lines.append(f"  WARNING: {warning}")
    if cost["models"]:
        lines += ["", "Cost per model (its replicas' share of their nodes):"]
        model_rows = [
            [
                m["name"],
                m["runtime"],
                m["pool"],
                f"{m['replicasOffHours']} / {m['replicasBusinessHours']}",
                f"{m['businessHoursPerMonth']:g}",
                f"{m['nodesPerReplica']:g}",
                money(m["replicaPricePerHour"], 4),
                f"{m['nodeHoursPerMonth']:,.1f}",
                money(m["monthly"]),
            ]
            for m in cost["models"]
        ]
        lines += table(
            [
                "model",
                "runtime",
                "pool",
                "replicas off/business hours",
                "business h/month",
                "nodes/replica",
                f"{cur}/h per replica",
                "node-h/month",
                "per month",
            ],
            model_rows,
        )
    if cost["breakEven"]:
        lines += ["", f"Break-even against {cost['breakEven'][0]['api']} (requests per day):"]
        even_rows = [
            [
                b["name"],
                f"{b['tokensPerRequest']:,}",
                f"{b['throughputTokensPerSecond']:g}"
                + (f" {b['throughputBasis']}" if b.get("throughputBasis", "config") != "config" else ""),
                money(b["apiCostPerRequest"], 6),
                money(b["selfHostedCostPerRequest"], 6),
                money(b["fixedDailyOverhead"]),
                "never" if b["breakEvenRequestsPerDay"] is None else f"{b['breakEvenRequestsPerDay']:,}",
                f"{b['capacityRequestsPerDay']:,}",
            ]
            for b in cost["breakEven"]
        ]
        lines += table(
            [
                "model",
                "tokens/request",
                "tok/s per replica",
                f"API {cur}/request",
                f"self-hosted {cur}/request",
                f"fixed {cur}/day",
                "break-even",
                "capacity at max",
            ],
            even_rows,
        )
    network = cost.get("network")
    if network:  # the stack's own VNet (cost/network.py): outside the capacity totals above
        lines.append(
            f"  Network {network['currency']}/month: {money(network['monthly'])} (not in the totals above): "
            f"{network['note']}"
        )
    lines += ["", "Cost notes:", *(f"  - {n}" for n in cost["notes"])]
    lines.append(f"  - price source: {cost['prices']['source']}")
    return "\n".join(lines)
