"""Hourly and monthly cost of a stack's capacity, and the break-even against an API (pure).

Capacity rows: each GPU pool's on-demand and spot node pools, each NAP NodePool (kind ``nodepool``,
priced at its sizing SKU: see ``cost.nodepools``), the nodes KAITO provisions for each KAITO model,
and the system pool. A row's ``minNodes`` is what runs at the idle floor (outside business hours, no
traffic), at least the autoscaler minimum (a NodePool has none); ``maxNodes`` the autoscaler maximum
(NodePool: what its limits allow; KAITO: max replicas x nodes per replica).

Monthly (730 h): the UTC week is cut at every schedule boundary; in each piece every model runs its
business-hours replicas (``schedule.minReplicas``) or its floor (0 with ``scaleToZero``, else
``replicas.min``; a KAITO Workspace keeps >= 1), vLLM replicas are packed onto their pool's nodes
(GPUs, or MIG slices / time-sliced shares), a pool fills its minimum first, then on-demand up to its
max, then spot. Traffic-driven scale-out above the floors is not in the monthly figure: ``atMax`` is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from config.catalog import Catalog, DiskPrice, GpuSku
from config.prices import local_book
from config.schema import GpuPoolConfig, NodePoolConfig, StackConfig
from cost import breakeven
from cost.budget import NOT_ESTIMATED, budget_note, budget_section
from cost.nodepools import ON_DEMAND, SPOT, NodePoolCapacity, nodepool_capacities
from sizing.business_hours import (
    HOURS_PER_MONTH,
    WEEK_MINUTES,
    Interval,
    business_hours_per_month,
    inside,
    segments,
    utc_offset_minutes,
    weekly_intervals,
)
from sizing.deployments import ModelPlan
from sizing.node_selection import gpus_per_node
from sizing.plan_estimates import replica_estimate
from sizing.slots import fill
from sizing.workloads import floor_replicas

DAYS_PER_MONTH = HOURS_PER_MONTH / 24
ROOFLINE = "estimated (roofline)"  # a break-even throughput the stack did not give (sizing.roofline)
NOT_INCLUDED = "not included: " + NOT_ESTIMATED  # the budget sees these too (cost.budget)


@dataclass(frozen=True)
class CapacityRow:
    """One priced block of nodes: a pool's on-demand or spot part, KAITO's nodes, the system pool."""

    name: str
    kind: str  # pool | nodepool | kaito | system
    sku: str
    capacity: str  # onDemand | spot
    min_nodes: int
    max_nodes: int
    price_per_hour: float | None
    price_basis: str
    price_source: str  # stack | catalog | none
    node_hours_per_month: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.name, self.capacity)

    @property
    def hourly_at_min(self) -> float | None:
        return None if self.price_per_hour is None else self.min_nodes * self.price_per_hour

    @property
    def hourly_at_max(self) -> float | None:
        return None if self.price_per_hour is None else self.max_nodes * self.price_per_hour

    @property
    def monthly(self) -> float | None:
        return None if self.price_per_hour is None else self.node_hours_per_month * self.price_per_hour

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "sku": self.sku,
            "capacity": self.capacity,
            "minNodes": self.min_nodes,
            "maxNodes": self.max_nodes,
            "pricePerHour": self.price_per_hour,
            "priceBasis": self.price_basis,
            "priceSource": self.price_source,
            "hourlyAtMin": _r(self.hourly_at_min),
            "hourlyAtMax": _r(self.hourly_at_max),
            "nodeHoursPerMonth": round(self.node_hours_per_month, 1),
            "monthly": _r(self.monthly, 2),
        }


@dataclass(frozen=True)
class ModelLoad:
    """How many replicas a model runs when, and what capacity each replica takes."""

    plan: ModelPlan
    floor: int  # replicas outside business hours
    warm: int  # replicas inside business hours (== floor without a schedule)
    slots: int  # vLLM: GPUs / MIG slices / shares per replica; KAITO: nodes per replica
    node_share: float  # nodes one replica occupies (a fraction on a shared node)
    intervals: list[Interval]
    row_key: tuple[str, str, str]  # the capacity row its nodes are billed on

    @property
    def kaito(self) -> bool:
        return self.plan.config.runtime == "kaito"

    def replicas_at(self, minute: int) -> int:
        return self.warm if inside(minute, self.intervals) else self.floor


@dataclass
class CostEstimate:
    """Everything the plan prints and exports under ``cost``."""

    prices: dict[str, Any]
    prices_line: str
    rows: list[CapacityRow]
    models: list[dict[str, Any]]
    break_even: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    budget: dict[str, Any] | None = None  # cost.budget.budget_section

    def _sum(self, attr: str, capacity: str | None = None) -> float:
        values: list[float | None] = [getattr(r, attr) for r in self.rows if capacity in (None, r.capacity)]
        return sum(v for v in values if v is not None)

    def totals(self) -> dict[str, Any]:
        def split(attr: str, digits: int) -> dict[str, float]:
            return {
                ON_DEMAND: round(self._sum(attr, ON_DEMAND), digits),
                SPOT: round(self._sum(attr, SPOT), digits),
                "total": round(self._sum(attr), digits),
            }

        idle, peak = self._sum("hourly_at_min"), self._sum("hourly_at_max")
        return {
            "hourly": {"idleFloor": split("hourly_at_min", 4), "atMax": split("hourly_at_max", 4)},
            "monthly": {
                **split("monthly", 2),
                "idleFloorAllMonth": round(idle * HOURS_PER_MONTH, 2),
                "atMaxAllMonth": round(peak * HOURS_PER_MONTH, 2),
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (camelCase) for the stack outputs and the plan document."""
        return {
            "currency": self.prices["currency"],
            "hoursPerMonth": HOURS_PER_MONTH,
            "prices": self.prices,
            "pricesLine": self.prices_line,
            "complete": all(r.price_per_hour is not None for r in self.rows),
            "rows": [r.to_dict() for r in self.rows],
            **self.totals(),
            "models": self.models,
            "breakEven": self.break_even,
            "notes": self.notes,
            **({"budget": self.budget} if self.budget is not None else {}),
        }


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _basis(priced: bool) -> str:
    return "on-demand price" if priced else "unpriced"


def os_disk_tier(tiers: Sequence[DiskPrice], size_gib: int) -> DiskPrice | None:
    """The smallest managed-disk tier that holds ``size_gib`` (a disk is billed at that tier), None when
    the table has none that large."""
    return next((t for t in tiers if t.size_gib >= size_gib), None)


def slots_per_node(pool: GpuPoolConfig, catalog: Catalog) -> int:
    """What a node of the pool offers vLLM replicas: the plan's ``sizing.node_selection.gpus_per_node``."""
    return gpus_per_node(pool, catalog.skus[pool.vm_size])


class _Estimator:
    def __init__(self, config: StackConfig, catalog: Catalog, plans: list[ModelPlan]) -> None:
        self.config, self.catalog, self.plans = config, catalog, plans
        self.book = local_book(catalog.prices, config.prices)
        self.notes: list[str] = []
        self.model_node_hours: dict[str, float] = defaultdict(float)
        self.pools = [p for p in config.gpu_pools if p.vm_size in catalog.skus]
        self.nodepools = nodepool_capacities(config, catalog)
        self.loads = [self._load(plan) for plan in plans]
        self.budget: dict[str, Any] | None = None

    # --- demand ------------------------------------------------------------------------------

    def _load(self, plan: ModelPlan) -> ModelLoad:
        model, pool = plan.config, plan.pool
        floor = floor_replicas(model)
        intervals: list[Interval] = []
        warm = floor
        if model.schedule is not None:
            offset = utc_offset_minutes(model.schedule.timezone)
            if offset is None:
                self.notes.append(
                    f"{model.name}: unknown time zone {model.schedule.timezone!r}, schedule read as UTC"
                )
            intervals = weekly_intervals(model.schedule, offset or 0)
            warm = max(floor, model.schedule.min_replicas)
        if model.runtime == "kaito":
            nodes = plan.sizing.kaito_nodes_per_replica
            if nodes is None:
                nodes = max(1, math.ceil(plan.sizing.gpus_per_replica / plan.sku.gpu_count))
                self.notes.append(
                    f"{model.name}: no KAITO node estimate for {plan.sku.name}; assumed {nodes} node(s) "
                    "per replica"
                )
            key = ("kaito", model.name, ON_DEMAND)
            return ModelLoad(plan, floor, warm, nodes, float(nodes), intervals, key)
        if isinstance(pool, NodePoolConfig):  # a NAP NodePool: whole GPUs of its sizing SKU
            slots = plan.sizing.gpus_per_replica
            preferred = next(n.order[0] for n in self.nodepools if n.name == pool.name)
            key = ("nodepool", pool.name, preferred)
            return ModelLoad(plan, floor, warm, slots, slots / plan.sku.gpu_count, intervals, key)
        slots = 1 if plan.mig is not None else plan.sizing.gpus_per_replica
        share = slots / slots_per_node(pool, self.catalog)
        capacity = ON_DEMAND if pool.on_demand is not None else SPOT
        return ModelLoad(plan, floor, warm, slots, share, intervals, ("pool", pool.name, capacity))

    def _pool_nodes(self, pool: GpuPoolConfig, replicas: dict[str, int]) -> tuple[int, int, int]:
        slots = sum(
            replicas[ld.plan.config.name] * ld.slots
            for ld in self.loads
            if not ld.kaito and ld.plan.pool.name == pool.name
        )
        return fill(pool, math.ceil(slots / slots_per_node(pool, self.catalog)))

    def _nodepool_nodes(self, np: NodePoolCapacity, replicas: dict[str, int]) -> tuple[dict[str, int], int]:
        gpus = sum(
            replicas[ld.plan.config.name] * ld.slots
            for ld in self.loads
            if not ld.kaito and ld.plan.pool.name == np.name
        )
        return np.fill(math.ceil(gpus / np.sku.gpu_count))

    def _nodepool_rows(
        self, node_hours: dict[tuple[str, str, str], float], unmet: dict[str, int]
    ) -> list[CapacityRow]:
        idle = {ld.plan.config.name: ld.floor for ld in self.loads}
        rows = []
        for np in self.nodepools:
            at_idle, missing = self._nodepool_nodes(np, idle)
            if missing:
                unmet[np.name] = max(unmet.get(np.name, 0), missing)
            quote = self.book.quote(np.sku.name)
            for cap in (ON_DEMAND, SPOT):
                if cap not in np.maxima:
                    continue
                if cap == ON_DEMAND:
                    rate, basis = quote.on_demand, _basis(quote.priced)
                else:
                    rate, basis = self.book.spot_rate(np.sku.name, -1.0)
                rows.append(
                    CapacityRow(
                        name=np.name,
                        kind="nodepool",
                        sku=np.sku.name,
                        capacity=cap,
                        min_nodes=at_idle[cap],
                        max_nodes=np.maxima[cap],
                        price_per_hour=rate,
                        price_basis=basis,
                        price_source=quote.source,
                        node_hours_per_month=node_hours[("nodepool", np.name, cap)],
                    )
                )
        return rows

    # --- rows --------------------------------------------------------------------------------

    def rows(self) -> list[CapacityRow]:
        idle = {ld.plan.config.name: ld.floor for ld in self.loads}
        node_hours, unmet = self._timeline()
        rows: list[CapacityRow] = []
        for pool in self.pools:
            od_idle, sp_idle, missing = self._pool_nodes(pool, idle)
            if missing:
                unmet[pool.name] = max(unmet.get(pool.name, 0), missing)
            quote = self.book.quote(pool.vm_size)
            if pool.on_demand is not None:
                rows.append(
                    CapacityRow(
                        name=pool.name,
                        kind="pool",
                        sku=pool.vm_size,
                        capacity=ON_DEMAND,
                        min_nodes=od_idle,
                        max_nodes=pool.on_demand.max,
                        price_per_hour=quote.on_demand,
                        price_basis=_basis(quote.priced),
                        price_source=quote.source,
                        node_hours_per_month=node_hours[("pool", pool.name, ON_DEMAND)],
                    )
                )
            if pool.spot is not None:
                rate, basis = self.book.spot_rate(pool.vm_size, pool.spot.max_price)
                rows.append(
                    CapacityRow(
                        name=pool.name,
                        kind="pool",
                        sku=pool.vm_size,
                        capacity=SPOT,
                        min_nodes=sp_idle,
                        max_nodes=pool.spot.max,
                        price_per_hour=rate,
                        price_basis=basis,
                        price_source=quote.source,
                        node_hours_per_month=node_hours[("pool", pool.name, SPOT)],
                    )
                )
            if pool.scale_down_mode == "Deallocate":
                rows.extend(self._kept_os_disk_rows(pool))
        rows.extend(self._nodepool_rows(node_hours, unmet))
        for ld in self.loads:
            if ld.kaito:
                quote = self.book.quote(ld.plan.sku.name)
                rows.append(
                    CapacityRow(
                        name=ld.plan.config.name,
                        kind="kaito",
                        sku=ld.plan.sku.name,
                        capacity=ON_DEMAND,
                        min_nodes=ld.floor * ld.slots,
                        max_nodes=max(ld.plan.replicas_max, ld.warm) * ld.slots,
                        price_per_hour=quote.on_demand,
                        price_basis=_basis(quote.priced),
                        price_source=quote.source,
                        node_hours_per_month=node_hours[ld.row_key],
                    )
                )
        system = self.config.cluster.system_pool
        quote = self.book.quote(system.vm_size)
        rows.append(
            CapacityRow(
                name="system",
                kind="system",
                sku=system.vm_size,
                capacity=ON_DEMAND,
                min_nodes=system.count,
                max_nodes=system.count,
                price_per_hour=quote.on_demand,
                price_basis=_basis(quote.priced),
                price_source=quote.source,
                node_hours_per_month=system.count * HOURS_PER_MONTH,
            )
        )
        nodepools = {np.name for np in self.nodepools}
        for name, missing in sorted(unmet.items()):
            what, bound = ("NodePool", "limits") if name in nodepools else ("pool", "onDemand.max + spot.max")
            self.notes.append(
                f"{what} {name}: the models' scheduled replicas need {missing} node(s) more than its "
                f"{bound} allow; the estimate counts only what the {what} can hold"
            )
        return rows

    def _kept_os_disk_rows(self, pool: GpuPoolConfig) -> list[CapacityRow]:
        """A Scale-down Mode ``Deallocate`` pool keeps its stopped nodes' managed OS disks, billed
        (scale-down-mode.md: "you'll still need to pay for any OS and data storage disks attached"): once
        it has scaled to its max, that many disks all month, running nodes' included (OS disks are not
        counted elsewhere). Priced at the smallest managed-disk tier holding ``osDiskSizeGB``."""
        disk = os_disk_tier(self.book.table.managed_disks, pool.os_disk_size_gb)
        rows = []
        for cap, spec in ((ON_DEMAND, pool.on_demand), (SPOT, pool.spot)):
            if spec is None or spec.max == 0:
                continue
            rows.append(
                CapacityRow(
                    name=pool.name,
                    kind="os-disks",
                    sku=disk.tier if disk else f"managed OS disk of {pool.os_disk_size_gb} GiB",
                    capacity=cap,
                    min_nodes=spec.max,
                    max_nodes=spec.max,
                    price_per_hour=None if disk is None else disk.per_month / HOURS_PER_MONTH,
                    price_basis="OS disks kept while deallocated" if disk else "unpriced",
                    price_source="catalog" if disk else "none",
                    node_hours_per_month=spec.max * HOURS_PER_MONTH,
                )
            )
        if disk is not None:
            self.notes.append(
                f"pool {pool.name}: scaleDownMode Deallocate keeps up to {sum(r.max_nodes for r in rows)} "
                f"OS disks ({disk.tier}, {disk.per_month} {self.book.table.currency}/month each: "
                f"{disk.source}); their vCPUs count against the quota while stopped too"
            )
        return rows

    def _timeline(self) -> tuple[dict[tuple[str, str, str], float], dict[str, int]]:
        """Node-hours a month per capacity row, and the most nodes a pool lacked."""
        node_hours: dict[tuple[str, str, str], float] = defaultdict(float)
        unmet: dict[str, int] = {}
        for start, end in segments([ld.intervals for ld in self.loads]):
            hours = (end - start) / WEEK_MINUTES * HOURS_PER_MONTH
            replicas = {ld.plan.config.name: ld.replicas_at(start) for ld in self.loads}
            for pool in self.pools:
                od, sp, missing = self._pool_nodes(pool, replicas)
                node_hours[("pool", pool.name, ON_DEMAND)] += od * hours
                node_hours[("pool", pool.name, SPOT)] += sp * hours
                if missing:
                    unmet[pool.name] = max(unmet.get(pool.name, 0), missing)
            for np in self.nodepools:
                nodes, missing = self._nodepool_nodes(np, replicas)
                for cap, n in nodes.items():
                    node_hours[("nodepool", np.name, cap)] += n * hours
                if missing:
                    unmet[np.name] = max(unmet.get(np.name, 0), missing)
            for ld in self.loads:
                n = replicas[ld.plan.config.name]
                self.model_node_hours[ld.plan.config.name] += n * ld.node_share * hours
                if ld.kaito:
                    node_hours[ld.row_key] += n * ld.slots * hours
        return node_hours, unmet

    # --- per model ---------------------------------------------------------------------------

    def model_rows(self, rows: list[CapacityRow]) -> list[dict[str, Any]]:
        by_key = {r.key: r for r in rows}
        out = []
        for ld in self.loads:
            name = ld.plan.config.name
            price = by_key[ld.row_key].price_per_hour
            node_hours = self.model_node_hours[name]
            out.append(
                {
                    "name": name,
                    "runtime": ld.plan.config.runtime,
                    "pool": ld.plan.pool.name,
                    "sku": ld.plan.sku.name,
                    "replicasOffHours": ld.floor,
                    "replicasBusinessHours": ld.warm,
                    "businessHoursPerMonth": round(business_hours_per_month(ld.intervals), 1),
                    "nodesPerReplica": round(ld.node_share, 4),
                    "replicaPricePerHour": _r(None if price is None else price * ld.node_share),
                    "nodeHoursPerMonth": round(node_hours, 1),
                    "monthly": _r(None if price is None else price * node_hours, 2),
                }
            )
        return out

    def break_even(self, models: list[dict[str, Any]], monthly_total: float) -> list[dict[str, Any]]:
        cmp = self.config.cost_comparison
        if cmp is None or not models:
            return []
        shares = [m["monthly"] or 0.0 for m in models]
        shared = max(0.0, monthly_total - sum(shares)) / len(models)
        out = []
        for ld, m, share in zip(self.loads, models, shares, strict=True):
            name = m["name"]
            tps = cmp.model_throughput.get(name, cmp.throughput_tokens_per_second)
            basis = "config"
            if tps is None:
                est = replica_estimate(ld.plan, self.catalog)
                if est is not None:
                    tps, basis = round(est.tokens_per_s, 1), ROOFLINE
                    self.notes.append(
                        f"{name}: throughput {ROOFLINE}, {tps:,.0f} tok/s per replica ({est.batch} "
                        f"sequences on {ld.plan.sizing.parallelism} of {ld.plan.sku.name}; +-50 %, "
                        f"docs/advisor.md): set costComparison.modelThroughput.{name} to a measured figure"
                    )
            if tps is None or m["replicaPricePerHour"] is None:
                continue
            w = ld.plan.config.workload
            tokens = w.p95_prompt_tokens + w.p95_completion_tokens
            api = breakeven.api_cost_per_request(
                w.p95_prompt_tokens,
                w.p95_completion_tokens,
                cmp.api_price_per_million_input_tokens,
                cmp.api_price_per_million_output_tokens,
            )
            own = breakeven.self_hosted_cost_per_request(tokens, m["replicaPricePerHour"], tps)
            fixed = (share + shared) / DAYS_PER_MONTH
            even = breakeven.break_even_requests_per_day(fixed, api, own)
            replicas = max(ld.plan.replicas_max, ld.warm)
            capacity = breakeven.capacity_requests_per_day(replicas, tps, tokens)
            out.append(
                {
                    "name": name,
                    "api": cmp.api_name,
                    "tokensPerRequest": tokens,
                    "throughputTokensPerSecond": tps,
                    "throughputBasis": basis,
                    "apiCostPerRequest": round(api, 6),
                    "selfHostedCostPerRequest": round(own, 6),
                    "fixedDailyOverhead": round(fixed, 2),
                    "breakEvenRequestsPerDay": None if even is None else math.ceil(even),
                    "capacityRequestsPerDay": math.floor(capacity),
                }
            )
            if even is None:
                self.notes.append(
                    f"{name}: self-hosting costs {own:.6f} per request, the API {api:.6f}: "
                    "it never breaks even"
                )
            elif even > capacity:
                self.notes.append(
                    f"{name}: break-even ({math.ceil(even):,} requests/day) is above what {replicas} "
                    f"replica(s) serve ({math.floor(capacity):,}/day at {tps:g} tok/s)"
                )
        return out

    # --- notes -------------------------------------------------------------------------------

    def _explain_nodepools(self) -> None:
        """A NodePool allowing pricier SKUs than its sizing SKU: the bound at its limits."""
        for np in self.nodepools:
            worst, worst_hourly = np.sku, self._hourly_at_limits(np, np.sku)
            for sku in np.allowed:
                hourly = self._hourly_at_limits(np, sku)
                if hourly is not None and (worst_hourly is None or hourly > worst_hourly):
                    worst, worst_hourly = sku, hourly
            if worst is not np.sku and worst_hourly is not None:
                self.notes.append(
                    f"NodePool {np.name}: priced at its sizing SKU {np.sku.name} (its models are pinned "
                    f"there); other workloads could make Karpenter launch any SKU it allows, up to "
                    f"{worst_hourly:,.2f}/h at its limits on {worst.name}"
                )

    def _hourly_at_limits(self, np: NodePoolCapacity, sku: GpuSku) -> float | None:
        total = 0.0
        for cap, nodes in np.at_limits(sku).items():
            rate = (
                self.book.quote(sku.name).on_demand
                if cap == ON_DEMAND
                else self.book.spot_rate(sku.name, -1.0)[0]
            )
            if rate is None:
                return None
            total += nodes * rate
        return total

    def explain(self, rows: list[CapacityRow], monthly_total: float) -> None:
        """The estimate's notes, in order: KAITO's own nodes, unpriced or cap-priced rows, NodePools,
        spot caps below the price, the price table's region and age, the budget, what is not included."""
        self._explain_kaito()
        self._explain_rows(rows)
        self._explain_nodepools()
        self._explain_spot_caps()
        self._explain_price_table(rows)
        if self.budget is not None:
            self.notes.append(budget_note(self.budget))
        if self.config.cost_comparison is None and self.loads:
            self.notes.append("add costComparison to the stack config for the break-even against an API")
        self.notes.append(NOT_INCLUDED)

    def _explain_kaito(self) -> None:
        """KAITO models: the nodes KAITO keeps alive itself, or a zero floor only an InferenceSet has."""
        for ld in self.loads:
            if not ld.kaito:
                continue
            m, sku = ld.plan.config, ld.plan.sku.name
            if ld.floor:
                when = f", {ld.warm * ld.slots} in business hours" if ld.warm != ld.floor else ""
                self.notes.append(
                    f"{m.name} (KAITO): while its Workspace exists KAITO keeps its GPU node(s) alive, "
                    f"{ld.floor * ld.slots} x {sku} at all hours{when}; KAITO provisions these nodes "
                    f"itself, so {'NodePool' if ld.plan.on_nodepool else 'pool'} {ld.plan.pool.name}'s "
                    "limits do not cap them"
                )
            else:
                self.notes.append(
                    f"{m.name} (KAITO): counted at zero replicas outside business hours: true only for an "
                    "InferenceSet scaled to 0 (a Workspace keeps its GPU node while it exists)"
                )

    def _explain_rows(self, rows: list[CapacityRow]) -> None:
        """Capacity rows without a price, or priced at the spot cap or at on-demand."""
        for row in rows:
            if row.price_per_hour is None:
                self.notes.append(
                    f"no price for {row.sku} ({row.name} {row.capacity}): left out of the totals; "
                    f"add prices.skus.{row.sku}.onDemandPerHour to the stack config"
                )
            elif row.capacity == SPOT and row.price_basis == "maxPrice cap":
                self.notes.append(
                    f"{row.name} spot: no spot price for {row.sku} in the table: priced at spot.maxPrice "
                    f"{row.price_per_hour} (what you pay at most)"
                )
            elif row.capacity == SPOT and row.price_basis != "spot price":
                self.notes.append(
                    f"{row.name} spot: no spot price for {row.sku} in the table and maxPrice -1: priced at "
                    "on-demand as an upper bound (add prices.skus.<sku>.spotPerHour)"
                )

    def _explain_spot_caps(self) -> None:
        """GPU pools whose spot.maxPrice is below the spot price: Azure may not allocate them."""
        for pool in self.pools:
            quote = self.book.quote(pool.vm_size)
            if pool.spot and pool.spot.max_price > 0 and quote.spot and pool.spot.max_price < quote.spot:
                self.notes.append(
                    f"{pool.name}: spot.maxPrice {pool.spot.max_price} is below the spot price {quote.spot}: "
                    "Azure may not allocate or may evict these nodes"
                )

    def _explain_price_table(self, rows: list[CapacityRow]) -> None:
        """Catalog prices of another region, and SKUs a refreshed table lacks (the catalog's price used)."""
        table = self.book.table
        from_table = [r for r in rows if r.price_source == "catalog"]
        if from_table and self.config.location != table.region:
            kind = "catalog prices" if table.origin == "catalog" else f"prices in {table.origin}"
            self.notes.append(
                f"{kind} are for {table.region}; this stack runs in {self.config.location}: run "
                f"python -m tools.prices refresh --region {self.config.location} (Azure Retail Prices API), "
                "or set prices.skus for your region and rates"
            )
        if table.origin != "catalog":
            stale = sorted(
                {
                    r.sku
                    for r in from_table
                    if r.sku in table.entries and table.entries[r.sku].source.startswith("catalog (")
                }
            )
            if stale:
                self.notes.append(
                    f"no {table.region} price for {', '.join(stale)} in {table.origin}: the catalog's "
                    "(another region and date, unverified) is used"
                )


def estimate_cost(
    config: StackConfig, catalog: Catalog, plans: list[ModelPlan], budget_groups: Sequence[str] = ()
) -> CostEstimate:
    """The cost section of a stack (see the module docstring for the assumptions); ``budget_groups``
    are the resource groups the budget watches (``facts.naming.Names.budget_resource_groups``)."""
    est = _Estimator(config, catalog, plans)
    rows = est.rows()
    models = est.model_rows(rows)
    monthly_total = sum(r.monthly for r in rows if r.monthly is not None)
    est.budget = budget_section(config.budget, monthly_total, est.book.table.currency, budget_groups)
    break_even = est.break_even(models, monthly_total)
    est.explain(rows, monthly_total)
    return CostEstimate(
        prices=est.book.header(),
        prices_line=est.book.describe(),
        rows=rows,
        models=models,
        break_even=break_even,
        notes=est.notes,
        budget=est.budget,
    )
