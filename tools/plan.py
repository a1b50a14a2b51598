"""Offline plan: run the program under Pulumi mocks and show what `pulumi preview` would create.

python -m tools.plan --stack dev [--config-file FILE] [--json FILE] [--manifests DIR] [--diff BASE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from config.errors import EXIT_CODE, ConfigError
from config.plan_date import PLAN_DATE_ENV, parse_plan_date
from config.schema import StackConfig
from tools.mocks import ProgramRun, Recorded, run_program
from tools.scheduling_check import SchedulingReport, check_scheduling, render_table
from tools.stack_config import StackFileError, StackSettings, load_stack_settings
from tools.tables import column_table

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ENV = "AKS_LLM_CONFIG_SOURCE"  # read by config.loader to name the file in error messages
# Resource options written per resource into the --json plan (and compared by --diff).
RESOURCE_OPTIONS = (
    "dependsOn",
    "replaceOnChanges",
    "deleteBeforeReplace",
    "ignoreChanges",
    "protect",
    "aliases",
)


def run_stack(root: Path, stack: str, config_file: Path | None = None) -> tuple[StackSettings, ProgramRun]:
    """Run the program of ``root`` for ``stack`` under mocks."""
    settings = load_stack_settings(root, stack, config_file)
    previous = os.environ.get(SOURCE_ENV)
    os.environ[SOURCE_ENV] = settings.source
    cwd = Path.cwd()
    sys.path.insert(0, str(root))
    try:
        os.chdir(root)
        run = run_program(
            root / "__main__.py",
            project=settings.project,
            stack=stack,
            config=settings.config,
            secret_keys=settings.secret_keys,
        )
    finally:
        os.chdir(cwd)
        sys.path.remove(str(root))
        if previous is None:
            os.environ.pop(SOURCE_ENV, None)
        else:
            os.environ[SOURCE_ENV] = previous
    return settings, run


def plan_document(settings: StackSettings, run: ProgramRun) -> dict[str, Any]:
    """The `--json` document."""
    outputs = dict(run.outputs)
    sizing = outputs.get("sizing", [])
    return {
        "project": settings.project,
        "stack": settings.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "inputs": r.inputs,
                "options": {k: v for k, v in r.options.items() if k in RESOURCE_OPTIONS},
            }
            for r in run.resources
        ],
        "outputs": outputs,
        "sizing": sizing,
        "cost": outputs.get("cost"),
    }


def stack_config(settings: StackSettings) -> StackConfig:
    """The validated config of the stack the program just ran (the program validated it already)."""
    from config.loader import PROJECT, parse_stack_config

    prefix = PROJECT + ":"
    values = {k[len(prefix) :]: v for k, v in settings.config.items() if k.startswith(prefix)}
    secrets = [k[len(prefix) :] for k in settings.secret_keys if k.startswith(prefix)]
    return parse_stack_config(values, source=settings.source, secret_keys=secrets)


def scheduling_report(settings: StackSettings, run: ProgramRun) -> SchedulingReport:
    """The scheduling check over the program's manifests and its rendered charts (tools.scheduling_check)."""
    from config.catalog import load_catalog

    return check_scheduling(stack_config(settings), load_catalog(), kubernetes_manifests(run.resources))


def kubernetes_manifests(resources: Sequence[Recorded], *, patches: bool = False) -> list[dict[str, Any]]:
    """Every Kubernetes object the program declares, as a plain manifest; with ``patches=True`` instead
    the server-side-apply patches it makes to objects it does not own (e.g. an add-on's ServiceAccount)."""
    manifests = []
    for r in resources:
        if not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:helm.sh"):
            continue
        if r.type.endswith("Patch") != patches:
            continue
        if "apiVersion" not in r.inputs or "kind" not in r.inputs:
            continue
        body = {k: v for k, v in r.inputs.items() if not k.startswith("__")}
        ordered = {"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind")}
        ordered["metadata"] = body.pop("metadata", {})
        ordered.update(body)
        manifests.append(ordered)
    return manifests


def write_manifests(manifests: Sequence[dict[str, Any]], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for i, doc in enumerate(manifests):
        meta = doc.get("metadata", {})
        ns = meta.get("namespace", "cluster")
        fname = f"{i:03d}-{doc['kind'].lower()}-{ns}-{meta.get('name', 'unnamed')}.yaml"
        path = directory / fname
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        written.append(path)
    return written


def render_tree(resources: Sequence[Recorded]) -> str:
    """Resources as an indented tree of `type name`, children under their parent component."""
    children: dict[str, list[Recorded]] = {}
    urns = {r.urn for r in resources}
    for r in resources:
        parent = r.parent if r.parent in urns else ""
        children.setdefault(parent, []).append(r)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for r in children.get(parent, []):
            lines.append(f"{'  ' * depth}+ {r.type}  {r.name}")
            walk(r.urn, depth + 1)

    walk("", 0)
    return "\n".join(lines)


def render_counts(resources: Sequence[Recorded]) -> str:
    counts = Counter(r.type for r in resources)
    width = max((len(t) for t in counts), default=0)
    rows = [f"  {t:<{width}}  {n}" for t, n in sorted(counts.items())]
    return "\n".join([f"{len(resources)} resources to create:", *rows])


_SIZING_COLUMNS = [
    ("model", "model"),
    ("sku", "sku"),
    ("migProfile", "MIG"),
    ("runtime", "runtime"),
    ("dtype", "dtype"),
    ("gpusPerReplica", "TP"),
    ("weightsGiB", "weights GiB"),
    ("kvBytesPerToken", "KV B/token"),
    ("gpuMemoryUtilization", "gpu-mem-util"),
    ("kvBudgetPerGpuGiB", "KV GiB/GPU"),
    ("maxModelLen", "max-model-len"),
    ("maxNumSeqs", "max-num-seqs"),
    ("maxConcurrentAtFullContext", "seqs@full ctx"),
    ("replicasMin", "replicas min"),
    ("replicasMax", "replicas max"),
    ("fits", "fits"),
    ("kaitoNodesPerReplica", "KAITO nodes"),
]


def render_sizing(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "No models configured."
    return "Sizing per model:\n" + column_table(rows, _SIZING_COLUMNS, _cell, indent="")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--config-file", type=Path, help="use this stack file instead of Pulumi.<stack>.yaml")
    parser.add_argument("--json", type=Path, dest="json_path", help="write the plan as JSON to this file")
    parser.add_argument(
        "--manifests", type=Path, help="write every Kubernetes object as YAML into this directory"
    )
    parser.add_argument(
        "--diff",
        type=Path,
        metavar="BASE.json",
        help="print only a Markdown summary of the changes against BASE.json (a --json plan of the base)",
    )
    parser.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help=f"plan as of this date (version end of life, budget start); default ${PLAN_DATE_ENV} or today",
    )
    args = parser.parse_args(argv)
    if args.date:
        try:
            parse_plan_date(args.date)
        except ValueError as exc:
            print(f"error: --date: {exc}", file=sys.stderr)
            return 2
        os.environ[PLAN_DATE_ENV] = args.date
    base_doc = None
    if args.diff:
        try:
            base_doc = json.loads(args.diff.read_text())
        except (OSError, ValueError) as exc:
            print(f"error: cannot read the base plan {args.diff}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(base_doc, dict) or not isinstance(base_doc.get("resources"), list):
            print(f"error: {args.diff} is not a plan written by --json (no resources list)", file=sys.stderr)
            return 2

    started = time.perf_counter()
    try:
        settings, run = run_stack(ROOT, args.stack, args.config_file)
    except StackFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if run.exit_code:
        return run.exit_code
    scheduling = scheduling_report(settings, run)
    if scheduling.problems:
        print(ConfigError(settings.source, "", scheduling.problems).render(), file=sys.stderr)
        return EXIT_CODE
    if base_doc is not None:
        doc = plan_document(settings, run)
        doc["scheduling"] = scheduling.rows()
        return _print_diff(base_doc, args.diff.name, doc, args.json_path)

    print(f"Offline plan for stack '{settings.stack}' of project '{settings.project}' ({settings.source})")
    version_line = _version_line(run.outputs.get("kubernetesVersion"))
    if version_line:
        print(version_line)
    print(render_tree(run.resources))
    print()
    print(render_counts(run.resources))
    doc = plan_document(settings, run)
    doc["scheduling"] = scheduling.rows()
    for section in _extra_sections(doc):
        print()
        print(section)
    print()
    print(render_table(doc["scheduling"]))
    if args.json_path:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        args.json_path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    if args.manifests:
        written = write_manifests(kubernetes_manifests(run.resources), args.manifests)
        # Patches are partial objects owned by someone else: apply them with --server-side, never as-is.
        written += write_manifests(
            kubernetes_manifests(run.resources, patches=True), args.manifests / "patches"
        )
        print(f"\nWrote {len(written)} Kubernetes manifests to {args.manifests}")
    print(f"\nPlanned in {time.perf_counter() - started:.2f} s (mocks; nothing was created)")
    return 0


def _print_diff(base: dict[str, Any], base_name: str, doc: dict[str, Any], json_path: Path | None) -> int:
    """``--diff``: the Markdown summary on stdout (and the plan as JSON when ``--json`` is given)."""
    from tools.diff import diff_plans, render_markdown

    print(render_markdown(diff_plans(base, doc), base_label=f"`{base_name}`"), end="")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return 0


def _version_line(summary: Any) -> str:
    """E.g. ``Kubernetes 1.36 (tier Standard, KubernetesOfficial): AKS end of life 2027-06-30 ...``."""
    if not isinstance(summary, dict):
        return ""
    flag = {"warn": "  WARNING: ", "refuse": "  REFUSED: "}.get(str(summary.get("status")), "")
    line = (
        f"Kubernetes {summary.get('version')} (tier {summary.get('tier')}, {summary.get('supportPlan')}): "
        f"AKS end of life {summary.get('endOfLife') or 'unknown'} (plan date {summary.get('planDate')})"
    )
    return line + (f"\n{flag}{summary.get('note')}" if flag else "")


def _extra_sections(doc: dict[str, Any]) -> list[str]:
    """Sections after the tree: sizing now; later reports (quota, cost) add theirs here."""
    from tools.report import sections

    return [render_sizing(doc["sizing"]), *sections(doc)]


if __name__ == "__main__":
    sys.exit(main())
