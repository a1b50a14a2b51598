"""GPU nodes in the simulation: agent pools under the cluster autoscaler, NAP NodePools under Karpenter,
and the nodes KAITO provisions per replica (pure). Sources: ``simulation.upstream``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from config.schema import DisruptionBudgetConfig
from sizing.business_hours import WEEK_MINUTES

CAPACITIES = ("on-demand", "spot")
STEP_SECONDS = 15  # the HPA sync period (simulation.upstream.HPA_SYNC_SECONDS)


@dataclass
class Node:
    capacity: str
    slots: int
    born: float  # when the provisioner asked for it
    ready_at: float
    price: float  # USD per hour (the whole node, or KAITO's nodes of one replica)
    used: int = 0
    empty_since: float | None = None

    def ready(self, t: float) -> bool:
        return self.ready_at <= t


@dataclass
class NodeGroup:
    """One logical pool: its nodes, bounds per capacity type and how nodes come and go."""

    name: str
    provisioner: str  # cluster-autoscaler | karpenter | kaito
    slots_per_node: int
    bounds: dict[str, tuple[int, int]]  # capacity -> (min, max) nodes
    order: list[str]  # capacity types in the order they grow
    prices: dict[str, float]
    boot_seconds: float
    scan_seconds: float = 10.0
    unneeded_seconds: float = 600.0
    delay_after_add_seconds: float = 600.0
    consolidate_after_seconds: float | None = 600.0  # None: Never
    budget_active: list[tuple[int, list[bool] | None, list[str] | None]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    last_scale_up: float = -1e9

    def scans(self, t: float) -> bool:
        """Whether a cluster-autoscaler scan falls in the step ending at ``t``."""
        return t == 0 or math.floor(t / self.scan_seconds) != math.floor(
            (t - STEP_SECONDS) / self.scan_seconds
        )

    def count(self, capacity: str) -> int:
        return sum(1 for n in self.nodes if n.capacity == capacity)

    def hourly(self) -> float:
        return sum(n.price for n in self.nodes)

    def add(self, t: float, wanted: int, *, ready_now: bool = False) -> int:
        """Up to ``wanted`` nodes, capacity types in order, within the bounds; returns how many."""
        added = 0
        for capacity in self.order:
            room = self.bounds[capacity][1] - self.count(capacity)
            for _ in range(max(0, min(room, wanted - added))):
                ready = t if ready_now else t + self.boot_seconds
                self.nodes.append(Node(capacity, self.slots_per_node, t, ready, self.prices[capacity]))
                added += 1
        if added and not ready_now:
            self.last_scale_up = t
        return added

    def fill_minimum(self) -> None:
        for capacity in self.order:
            missing = self.bounds[capacity][0] - self.count(capacity)
            for _ in range(max(0, missing)):
                self.nodes.append(Node(capacity, self.slots_per_node, 0.0, 0.0, self.prices[capacity]))

    def free_booting_slots(self, t: float) -> int:
        return sum(n.slots - n.used for n in self.nodes if not n.ready(t))

    def provision(self, t: float, pending_slots: int) -> None:
        """Nodes for pods no node (ready or booting) can hold: the cluster autoscaler at its scan
        interval, Karpenter and KAITO at once."""
        if pending_slots <= 0:
            return
        if self.provisioner == "cluster-autoscaler" and not self.scans(t):
            return
        need = pending_slots - self.free_booting_slots(t)
        if need > 0:
            self.add(t, math.ceil(need / self.slots_per_node))

    def allowed_disruptions(self, utc_minute: int) -> int:
        """Karpenter's budgets for empty nodes: the smallest active budget covering reason Empty."""
        allowed = 1 << 30
        total = len(self.nodes)
        for nodes, active, reasons in self.budget_active:
            if reasons is not None and "Empty" not in reasons:
                continue
            if active is not None and not active[utc_minute % WEEK_MINUTES]:
                continue
            allowed = min(allowed, nodes if nodes >= 0 else math.ceil(total * -nodes / 100))
        return allowed

    def scale_down(self, t: float, utc_minute: int) -> None:
        """Remove empty nodes above the minimum: the cluster autoscaler after the unneeded time (and
        not within delay-after-add of a scale-up), Karpenter after consolidateAfter within budgets."""
        if not any(n.empty_since is not None and n.used == 0 for n in self.nodes):
            return
        if self.provisioner == "kaito":
            self.nodes = [n for n in self.nodes if n.used > 0 or not n.ready(t)]
            return
        if self.provisioner == "cluster-autoscaler":
            if not self.scans(t) or t - self.last_scale_up < self.delay_after_add_seconds:
                return
            wait, allowed = self.unneeded_seconds, 1 << 30
        else:
            if self.consolidate_after_seconds is None:
                return
            wait, allowed = self.consolidate_after_seconds, self.allowed_disruptions(utc_minute)
        for node in sorted(self.nodes, key=lambda n: -n.born):
            if allowed <= 0:
                break
            if node.used or node.empty_since is None or t - node.empty_since < wait:
                continue
            if self.count(node.capacity) <= self.bounds[node.capacity][0]:
                continue
            self.nodes.remove(node)
            allowed -= 1


def cron_field(spec: str, low: int, high: int) -> set[int]:
    """Values of one cron field (``*``, ``*/n``, numbers, ranges, lists); 7 counts as Sunday."""
    out: set[int] = set()
    for part in spec.split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if rng == "*":
            first, last = low, high
        elif "-" in rng:
            a, b = rng.split("-")
            first, last = int(a), int(b)
        else:
            first = last = int(rng)
        out.update(v % 7 if high == 7 else v for v in range(first, last + 1, step))
    return out


MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def _duration_minutes(text: str) -> int:
    total, number = 0, ""
    for ch in text:
        if ch.isdigit():
            number += ch
        else:
            total += int(number) * {"h": 60, "m": 1, "s": 0}[ch]
            number = ""
    return total


def budget_window(budget: DisruptionBudgetConfig) -> list[bool] | None:
    """Per UTC minute of the week (0 = Sunday 00:00), whether the budget's window is open; None: always.
    Day-of-month and month fields are taken as ``*`` (a week cannot show them)."""
    if budget.schedule is None or budget.duration is None:
        return None
    fields = MACROS.get(budget.schedule, budget.schedule).split()
    minutes, hours = cron_field(fields[0], 0, 59), cron_field(fields[1], 0, 23)
    days = cron_field(fields[4], 0, 7)
    length = _duration_minutes(budget.duration)
    active = [False] * WEEK_MINUTES
    for start in range(WEEK_MINUTES):
        day, hour, minute = start // 1440, start % 1440 // 60, start % 60
        if day in days and hour in hours and minute in minutes:
            for m in range(start, start + length):
                active[m % WEEK_MINUTES] = True
    return active


def budget_rules(
    budgets: list[DisruptionBudgetConfig],
) -> list[tuple[int, list[bool] | None, list[str] | None]]:
    """(nodes, or -percent; window; reasons) of each budget."""
    out = []
    for b in budgets:
        text = str(b.nodes)
        nodes = -int(text[:-1]) if text.endswith("%") else int(text)
        out.append((nodes, budget_window(b), [str(r) for r in b.reasons] if b.reasons is not None else None))
    return out
