"""Plan sections drawn from the program's own outputs (one source of truth: the program)."""

from __future__ import annotations

from typing import Any

from tools.report_gpu import gpu_sections
from tools.report_nap import nap_sections


def sections(doc: dict[str, Any]) -> list[str]:
    """Extra plain-text sections of the offline plan, in order."""
    out: list[str] = []
    notes = doc["outputs"].get("notes") or []
    if notes:
        out.append("Notes:\n" + "\n".join(f"  - {n}" for n in notes))
    out.extend(gpu_sections(doc))
    out.extend(nap_sections(doc))
    cost = doc.get("cost") or doc["outputs"].get("cost")
    if cost:
        from tools.cost_report import render_cost

        out.append(render_cost(cost))
    return out
