"""The plan-time scheduling check: every pod the stack will run, where it can land, and the refusals.

Workloads: the program's own Kubernetes objects (as the mocks recorded them), every pod template the
charts of its Helm releases render (``tools.charts``, a real Helm engine), the DaemonSets the GPU
Operator creates at run time from the rendered ClusterPolicy, and the pods KAITO creates for the
program's Workspaces/InferenceSets. Node groups: ``sizing.node_groups``. Evaluation:
``sizing.placement``. Runs in ``python -m tools.plan`` and the tests, not inside ``pulumi preview``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config.catalog import Catalog
from config.errors import Problem
from config.schema import StackConfig
from planning.stack_plan import StackPlan
from renderers.helm_values import ReleaseSpec, release_specs
from sizing.node_groups import kaito_workloads, node_groups, planned_node_groups, workloads_of
from sizing.placement import SchedulingResult, Workload, check_placement, operand_workloads

ACCEPTED = {
    "taint": "tolerate the node group's taints (or pin the pod elsewhere) through the chart's values",
    "duplicate": "one component per GPU function per node: disable the second one in its chart values, "
    "or keep it off the group by node selector/affinity",
    "none": "give the pod tolerations and a node selector that match a node group that fits it",
    "system": "keep GPU pods off the system pool (GPU resource requests and a GPU node selector)",
    "gpu-pool": "keep CPU pods off GPU pools: drop the GPU tolerations or select the system pool",
    "coverage": "every GPU node group needs exactly one NVIDIA driver and one device plugin",
}


# The stack-config key that declares each kind of node group (for problems about a group itself).
GROUP_PATHS = {
    "system": "cluster.systemPool",
    "agent-pool": "gpuPools",
    "nap": "nodeProvisioning.nodePools",
    "kaito": "addons.kaito",
}


@dataclass(frozen=True)
class SchedulingReport:
    result: SchedulingResult
    problems: tuple[Problem, ...]
    # Charts this machine lacks (tools.charts.ChartMissing): the check is incomplete, so its findings
    # (a node group without a driver ...) would be consequences; the plan reports only these.
    missing_charts: tuple[Any, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """One entry per workload: the ``scheduling`` section of ``--json`` and the plan table."""
        return [
            {
                "workload": p.workload.name,
                "kind": p.workload.kind,
                "namespace": p.workload.namespace,
                "source": p.workload.source,
                "pools": list(p.groups),
                "gpuRequest": p.workload.gpu_request,
            }
            for p in self.result.placements
        ]


def chart_workloads(specs: Sequence[ReleaseSpec]) -> tuple[list[Workload], list[Problem], list[Any]]:
    """Pod templates of every release (rendered), plus the GPU Operator's run-time operands; the problems
    of charts that do not render, and the charts that are missing (``ChartMissing``)."""
    from tools.charts import ChartMissing, ChartUnavailable, render

    workloads: list[Workload] = []
    problems: list[Problem] = []
    missing: list[ChartMissing] = []
    for spec in specs:
        try:
            objects = render(spec)
        except ChartMissing as exc:
            missing.append(exc)
            continue
        except ChartUnavailable as exc:
            problems.append(
                Problem(
                    spec.config_path,
                    f"{spec.chart} {spec.version}",
                    f"the scheduling check cannot render this release: {exc}",
                    f"put the chart under $AKS_LLM_CHARTS_DIR/{spec.chart_key}-{spec.version}, or let "
                    f"the plan reach {spec.repository}",
                )
            )
            continue
        source = f"chart {spec.chart} {spec.version}"
        workloads.extend(workloads_of(objects, source, spec.config_path))
        for obj in objects:
            if obj.get("kind") == "ClusterPolicy":
                workloads.extend(operand_workloads(obj, spec.namespace, spec.config_path))
    return workloads, problems, missing


def check_scheduling(
    config: StackConfig,
    catalog: Catalog,
    manifests: Sequence[Mapping[str, Any]],
    specs: Sequence[ReleaseSpec] | None = None,
    *,
    plan: StackPlan | None = None,
) -> SchedulingReport:
    """Where every workload can run, and the problems that refuse the plan (``specs``: the releases
    to render; by default the stack's own, ``release_specs``; ``plan``: the stack's plan when the caller
    has it, e.g. the offline plan's program run: its pools and models are not planned again)."""
    plans = plan.model_plans if plan is not None else None
    if specs is None:
        specs = release_specs(config, catalog, plans)
    workloads, problems, missing = chart_workloads(specs)
    program_path = "models"
    workloads = [
        *workloads_of(manifests, "program", program_path),
        *kaito_workloads(manifests, catalog),
        *workloads,
    ]
    groups = (
        node_groups(config, catalog)
        if plan is None
        else planned_node_groups(
            config, catalog, plan.agent_pool_specs, plan.nodepool_specs, plan.model_plans
        )
    )
    result = check_placement(groups, workloads)
    group_kinds = {g.name: g.kind for g in result.groups}
    for f in result.findings:
        w = f.workload
        kind = _kind(f.message)
        path = (w.config_path if w else "") or GROUP_PATHS.get(group_kinds.get(f.group, ""), "")
        problems.append(Problem(path, w.name if w else f.group, f.message, ACCEPTED[kind]))
    # Model replicas vs their pool's GPU slots is one rule, rules.runtime.replicas_fit_pool_slots
    # (sizing.slots): it refuses the stack at load time, before this check runs, so it is not repeated here.
    if missing:  # an incomplete check: its findings would be consequences of the missing charts
        return SchedulingReport(result, (), tuple(missing))
    return SchedulingReport(result, tuple(problems))


def _kind(message: str) -> str:
    if message.startswith("two components"):
        return "duplicate"
    if message.startswith("GPU pod"):
        return "system"
    if message.startswith("CPU pod"):
        return "gpu-pool"
    if message.startswith("GPU node group"):
        return "coverage"
    return "taint" if "tolerate" in message else "none"


def render_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The plan's "where pods run" table."""
    from tools.tables import column_table

    table = [
        {
            "workload": f"{r['kind']} {r['workload']}",
            "namespace": r["namespace"],
            "pools": ", ".join(r["pools"]) or "NONE",
            "gpu": ", ".join(f"{k} {v}" for k, v in r["gpuRequest"].items()) or "-",
        }
        for r in rows
    ]
    columns = [
        ("workload", "workload"),
        ("namespace", "namespace"),
        ("pools", "pools"),
        ("gpu", "GPU request"),
    ]
    return "Where pods run:\n" + column_table(table, columns, str, indent="  ")
