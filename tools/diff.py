"""Compare two offline plan documents (the ``--json`` format) and summarise the change in Markdown.

Pure: resources are matched by URN, or through an alias the head plan's resource carries (a rename the
engine follows: reported as renamed, never as removed and added); a changed resource lists its changed
input paths (dotted, with ``[i]`` for list items); the cost change compares the ``cost`` sections (hourly
idle floor and max, monthly estimate, and every capacity row whose nodes or monthly figure moved).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cost.budget import budget_warning

MAX_PATHS = 12  # changed inputs listed per resource before "... and N more"
MAX_RENAMED = 20  # renamed resources listed before "... and N more"
_VALUE_WIDTH = 40


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class InputChange:
    """One changed input: its path and the values before and after (``MISSING`` when absent)."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    changes: list[InputChange]
    # The replaceOnChanges fields (of the head plan's resource options) that changed: non-empty means
    # the engine replaces the resource instead of updating it.
    replace_fields: list[str] = field(default_factory=list)
    delete_before_replace: bool = False

    @property
    def replace(self) -> bool:
        return bool(self.replace_fields)


def _field_matches(path: str, pattern: str) -> bool:
    """Whether changed input ``path`` (``a.b[0].c``) falls under option path ``pattern`` (``a.b`` or
    ``a[*].c``, Pulumi's property-path syntax)."""
    parts = [p for p in path.replace("[", ".[").split(".") if p]
    pat = [p for p in pattern.replace("[", ".[").split(".") if p]
    if len(pat) > len(parts):
        return False
    return all(q in ("*", "[*]") or q == p for q, p in zip(pat, parts, strict=False))


def replace_fields(changes: list[InputChange], options: dict[str, Any]) -> list[str]:
    """The ``replaceOnChanges`` entries that ``changes`` touch (``*`` alone: any change), minus
    ``ignoreChanges`` paths (the engine never sends those)."""
    patterns = [str(p) for p in options.get("replaceOnChanges") or []]
    ignored = [str(p) for p in options.get("ignoreChanges") or []]
    hit: list[str] = []
    for c in changes:
        if any(_field_matches(c.path, i) for i in ignored):
            continue
        for p in patterns:
            if (p == "*" or _field_matches(c.path, p)) and p not in hit:
                hit.append(p)
    return hit


@dataclass(frozen=True)
class CostLine:
    label: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass
class PlanDiff:
    """What changes between the base plan and this one."""

    stack: str
    base_stack: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    unchanged: int = 0
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # (type, old name, new name)
    cost: list[CostLine] = field(default_factory=list)
    capacity: list[tuple[str, str, str]] = field(default_factory=list)  # (row, before, after)
    cost_notes: list[str] = field(default_factory=list)
    currency: str = ""
    budget_warning: str | None = None  # this plan's monthly estimate exceeds its budget
    cold_starts: list[tuple[str, str, str]] = field(default_factory=list)  # (model, before, after)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def malformed(doc: Any) -> str | None:
    """Why ``doc`` is not a plan document ``diff_plans`` can read (``None`` when it is one): a base
    plan from elsewhere may be truncated or edited by hand."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    resources = doc.get("resources")
    if not isinstance(resources, list):
        return "no resources list"
    for i, r in enumerate(resources):
        if not isinstance(r, dict):
            return f"resources[{i}] is not an object"
        for key in ("urn", "type", "name"):
            if not isinstance(r.get(key), str):
                return f"resources[{i}].{key} is missing or not text"
        if not isinstance(r.get("parent", ""), str):
            return f"resources[{i}].parent is not text"
        if not isinstance(r.get("inputs", {}), dict):
            return f"resources[{i}].inputs is not an object"
    cost = doc.get("cost")
    if cost is not None and not isinstance(cost, dict):
        return "cost is not an object"
    if isinstance(cost, dict):
        rows = cost.get("rows", [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return "cost.rows is not a list of objects"
    return None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def input_changes(before: Any, after: Any, path: str = "") -> list[InputChange]:
    """Leaf-level differences between two input trees, in a stable order."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[InputChange] = []
        for key in sorted(before.keys() | after.keys()):
            out += input_changes(before.get(key, MISSING), after.get(key, MISSING), _join(path, key))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            b = before[i] if i < len(before) else MISSING
            a = after[i] if i < len(after) else MISSING
            out += input_changes(b, a, _join(path, i))
        return out
    if before is MISSING and after is MISSING:
        return []
    if type(before) is not type(after) or before != after:
        return [InputChange(path or "(inputs)", before, after)]
    return []


def diff_plans(base: dict[str, Any], head: dict[str, Any]) -> PlanDiff:
    """Resources added, removed and changed (by URN), and the cost change, from ``base`` to ``head``."""
    before = {r["urn"]: r for r in base.get("resources", [])}
    after = {r["urn"]: r for r in head.get("resources", [])}
    result = PlanDiff(stack=str(head.get("stack", "")), base_stack=str(base.get("stack", "")))
    matched: set[str] = set()
    for urn, res in after.items():
        old_urn = urn if urn in before else _aliased_base(res, before, after)
        if old_urn is None:
            result.added.append(res)
            continue
        matched.add(old_urn)
        if old_urn != urn:
            result.renamed.append((res["type"], before[old_urn]["name"], res["name"]))
        changes = input_changes(before[old_urn].get("inputs", {}), res.get("inputs", {}))
        if changes:
            options = res.get("options") or {}
            result.changed.append(
                ResourceChange(
                    urn,
                    res["type"],
                    res["name"],
                    changes,
                    replace_fields=replace_fields(changes, options),
                    delete_before_replace=bool(options.get("deleteBeforeReplace")),
                )
            )
        else:
            result.unchanged += 1
    result.removed = [res for urn, res in before.items() if urn not in matched]
    _cost_change(result, _cost_of(base), _cost_of(head))
    head_cost = _cost_of(head) or {}
    section = head_cost.get("budget")
    result.budget_warning = budget_warning(section if isinstance(section, dict) else None)
    result.cold_starts = cold_start_changes(base, head)
    return result


def _cold_starts(doc: dict[str, Any]) -> dict[str, str]:
    """Each model's predicted cold start range (``outputs.models.<name>.coldStart``) as text."""
    models = (doc.get("outputs") or {}).get("models") or {}
    out: dict[str, str] = {}
    for name, model in models.items() if isinstance(models, dict) else []:
        cold = model.get("coldStart") if isinstance(model, dict) else None
        if isinstance(cold, dict) and "lowSeconds" in cold and "highSeconds" in cold:
            out[str(name)] = f"{cold['lowSeconds']}-{cold['highSeconds']} s ({cold.get('weightsPath', '?')})"
    return out


def cold_start_changes(base: dict[str, Any], head: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Models whose predicted cold start moved (or appeared, or went): (model, before, after)."""
    before, after = _cold_starts(base), _cold_starts(head)
    return [
        (name, before.get(name, "(none)"), after.get(name, "(none)"))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def _aliased_base(res: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """The base URN one of ``res``'s aliases names (a resource the engine renames in place), if any."""
    aliases = (res.get("options") or {}).get("aliases") or []
    for alias in aliases if isinstance(aliases, list) else []:
        if isinstance(alias, str) and alias in before and alias not in after:
            return alias
    return None


def _cost_of(doc: dict[str, Any]) -> dict[str, Any] | None:
    cost = doc.get("cost") or (doc.get("outputs") or {}).get("cost")
    return cost if isinstance(cost, dict) else None


def _get(cost: dict[str, Any] | None, *keys: str) -> float | None:
    value: Any = cost
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _row_key(row: dict[str, Any]) -> str:
    capacity = str(row.get("capacity", ""))
    capacity = {"onDemand": "on-demand"}.get(capacity, capacity)
    return f"{row.get('name')} ({row.get('kind')}, {capacity})"


def _row_text(row: dict[str, Any] | None) -> str:
    if row is None:
        return "(none)"
    monthly = row.get("monthly")
    money = f"{monthly:,.2f}/month" if isinstance(monthly, int | float) else "unpriced"
    return f"{row.get('minNodes')}-{row.get('maxNodes')} x {row.get('sku')}, {money}"


def _cost_change(result: PlanDiff, base: dict[str, Any] | None, head: dict[str, Any] | None) -> None:
    if head is None and base is None:
        return
    result.currency = str((head or base or {}).get("currency", ""))
    for label, keys in (
        ("hourly, idle floor", ("hourly", "idleFloor", "total")),
        ("hourly, at max", ("hourly", "atMax", "total")),
        ("monthly estimate (schedules)", ("monthly", "total")),
        ("monthly, idle floor all month", ("monthly", "idleFloorAllMonth")),
    ):
        result.cost.append(CostLine(label, _get(base, *keys), _get(head, *keys)))
    if base is None:
        result.cost_notes.append("the base plan has no cost section (made before cost estimates)")
    rows_before = {_row_key(r): r for r in (base or {}).get("rows", [])}
    rows_after = {_row_key(r): r for r in (head or {}).get("rows", [])}
    for key in [*rows_after, *(k for k in rows_before if k not in rows_after)]:
        b, a = rows_before.get(key), rows_after.get(key)
        if _row_text(b) != _row_text(a):
            result.capacity.append((key, _row_text(b), _row_text(a)))
    for label, side in (("base", base), ("this plan", head)):
        if side is not None and side.get("complete") is False:
            result.cost_notes.append(f"{label}: some capacity has no price, its totals are incomplete")
    if base and head and base.get("pricesLine") != head.get("pricesLine"):
        result.cost_notes.append(f"prices changed: {base.get('pricesLine')} -> {head.get('pricesLine')}")


# --- Markdown ------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + _cell(text).replace("`", "'") + "`"


def _value(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def _change_text(change: InputChange) -> str:
    return f"{_code(change.path)}: {_code(_value(change.before))} → {_code(_value(change.after))}"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _delta(line: CostLine) -> str:
    delta = line.delta
    if delta is None:
        return "-"
    text = f"{delta:+,.2f}"
    if line.before:
        text += f" ({delta / line.before * 100:+.1f} %)"
    return text


def _parent_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def _md_counts(diff: PlanDiff, base_label: str) -> list[str]:
    """The heading, a warning when the stacks differ, and the counts line."""
    lines = [f"### Offline plan diff: stack `{diff.stack}`", ""]
    if diff.base_stack and diff.base_stack != diff.stack:
        lines += [f"> Warning: the base plan is of stack `{diff.base_stack}`.", ""]
    if diff.budget_warning:
        lines += [f"> **Warning: over budget.** {_cell(diff.budget_warning)}", ""]
    replaced = sum(1 for rc in diff.changed if rc.replace)
    counts = f"**{len(diff.added)} to add, {len(diff.changed) - replaced} to change, "
    counts += f"{replaced} to replace, " if replaced else ""
    counts += f"{len(diff.removed)} to remove**"
    renamed = f", {len(diff.renamed)} renamed in place (aliases)" if diff.renamed else ""
    return [*lines, f"Compared with {base_label}: {counts}, {diff.unchanged} unchanged{renamed}.", ""]


def _md_resources(title: str, resources: list[dict[str, Any]]) -> list[str]:
    """An added or removed resources table (nothing when there are none)."""
    if not resources:
        return []
    lines = [f"#### {title}", "", "| type | name | parent |", "|---|---|---|"]
    lines += [
        f"| {_code(r['type'])} | {_code(r['name'])} | {_code(_parent_name(r.get('parent', '')))} |"
        for r in resources
    ]
    return [*lines, ""]


def _md_changed(diff: PlanDiff) -> list[str]:
    """The changed resources with their changed inputs (and how a replacement happens)."""
    if not diff.changed:
        return []
    lines = ["#### Changed", "", "| resource | changed inputs |", "|---|---|"]
    for rc in diff.changed:
        shown = [_change_text(c) for c in rc.changes[:MAX_PATHS]]
        if len(rc.changes) > MAX_PATHS:
            shown.append(f"… and {len(rc.changes) - MAX_PATHS} more")
        if rc.replace:
            how = "delete first, then create" if rc.delete_before_replace else "create first, then delete"
            fields = ", ".join(_code(f) for f in rc.replace_fields)
            shown.insert(0, f"**replace** ({how}): {fields}")
        lines.append(f"| {_code(rc.type)} {_code(rc.name)} | {'<br>'.join(shown)} |")
    return [*lines, ""]


def _md_renamed(diff: PlanDiff) -> list[str]:
    """Resources renamed in place through aliases (the first ``MAX_RENAMED``)."""
    if not diff.renamed:
        return []
    lines = [
        "#### Renamed (the engine follows each alias: updated in place, nothing is replaced)",
        "",
        "| type | was | now |",
        "|---|---|---|",
    ]
    lines += [f"| {_code(t)} | {_code(old)} | {_code(new)} |" for t, old, new in diff.renamed[:MAX_RENAMED]]
    if len(diff.renamed) > MAX_RENAMED:
        lines.append(f"| … and {len(diff.renamed) - MAX_RENAMED} more | | |")
    return [*lines, ""]


def _md_cold_starts(diff: PlanDiff) -> list[str]:
    """The predicted cold start (from zero nodes) of each model whose prediction changed."""
    if not diff.cold_starts:
        return []
    lines = [
        "#### Cold start (from zero nodes, predicted)",
        "",
        "| model | before | after |",
        "|---|---|---|",
    ]
    lines += [f"| {_code(m)} | {_cell(b)} | {_cell(a)} |" for m, b, a in diff.cold_starts]
    return [*lines, ""]


def _md_cost(diff: PlanDiff) -> list[str]:
    """The cost lines, the capacity rows that changed, and the cost notes."""
    if not diff.cost:
        return []
    lines = [
        f"#### Cost ({diff.currency})",
        "",
        "| | before | after | change |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {line.label} | {_money(line.before)} | {_money(line.after)} | {_delta(line)} |"
        for line in diff.cost
    ]
    lines.append("")
    if diff.capacity:
        lines += ["| capacity | before | after |", "|---|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(b)} | {_cell(a)} |" for k, b, a in diff.capacity]
        lines.append("")
    lines += [f"- {_cell(n)}" for n in diff.cost_notes]
    if diff.cost_notes:
        lines.append("")
    return lines


def render_markdown(diff: PlanDiff, base_label: str = "the base plan") -> str:
    """The PR comment: counts, added / changed / removed resources, and the cost change."""
    lines = _md_counts(diff, base_label)
    lines += _md_resources("Added", diff.added)
    lines += _md_changed(diff)
    lines += _md_resources("Removed", diff.removed)
    lines += _md_renamed(diff)
    if diff.empty:
        lines += ["No resource changes.", ""]
    lines += _md_cold_starts(diff)
    lines += _md_cost(diff)
    return "\n".join(lines).rstrip() + "\n"
