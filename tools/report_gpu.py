"""Plan sections of the GPU pools: the agent pool table and the vCPU quota need per family."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.outputs import QuotaNeed, StackOutputs
from tools.tables import column_table


def gpu_sections(doc: dict[str, Any]) -> list[str]:
    """The pool table and the quota table, when the program reported them."""
    outputs: StackOutputs = doc["outputs"]
    out: list[str] = []
    nap = outputs.get("nodeProvisioning")
    nap_mode = nap is not None and nap.get("mode") == "nap"
    if outputs.get("gpuPools") is not None and not (nap_mode and not outputs["gpuPools"]):
        out.append(render_gpu_pools(outputs["gpuPools"]))
    if outputs.get("quota") is not None:
        out.append(render_quota(outputs["quota"]))
    return out


_POOL_COLUMNS = [
    ("agentPool", "agent pool"),
    ("vmSize", "vmSize"),
    ("capacity", "capacity"),
    ("min", "min"),
    ("max", "max"),
    ("driver", "driver"),
    ("mig", "MIG"),
    ("gpuResource", "GPU resource"),
    ("purpose", "purpose"),
    ("scaleDownMode", "scale-down"),
    ("maxSurge", "max surge"),
    ("spotMaxPrice", "spot max price"),
]

_QUOTA_COLUMNS = [
    ("family", "quota family"),
    ("kind", "kind"),
    ("needVcpus", "vCPUs needed"),
    ("quotaVcpus", "quota"),
    ("status", "status"),
    ("pools", "pools at max (nodes x vCPUs)"),
]


def render_gpu_pools(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "GPU agent pools: none configured."
    return "GPU agent pools:\n" + column_table(rows, _POOL_COLUMNS)


def render_quota(rows: Sequence[QuotaNeed]) -> str:
    """The vCPU need per quota family, whether or not a quota is declared."""
    if not rows:
        return "vCPU quota needed: none."
    shown: list[dict[str, Any]] = [{**r, "status": _status(r.get("ok"))} for r in rows]
    hint = (
        "  (request these in the Azure portal, Quotas, before `pulumi up`; declare them under "
        "`quota:` to have the plan check them)"
    )
    head = "vCPU quota needed per family at the pools' maximum (upgrade surge included)"
    if any("NodePool's limits" in str(r.get("pools")) for r in rows):
        head += " and the NodePools' limits (worst allowed SKU)"
    if any("kaito " in str(r.get("pools")) for r in rows):
        head += ", plus the nodes KAITO provisions (nodes per replica x replicas max)"
    return head + ":\n" + "\n".join([column_table(shown, _QUOTA_COLUMNS), hint])


def _status(ok: Any) -> str:
    return "not declared" if ok is None else ("ok" if ok else "EXCEEDED")
