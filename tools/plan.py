"""Offline plan: run the program under Pulumi mocks and show what `pulumi preview` would create.

python -m tools.plan --stack dev [--config-file FILE] [--json FILE] [--manifests DIR] [--diff BASE.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from config.errors import EXIT_CODE, ConfigError, clip, scrub
from config.plan_date import PLAN_DATE_ENV, PlanDateError, parse_plan_date, plan_date
from config.schema import StackConfig
from cost.budget import budget_warning
from planning.stack_plan import StackPlan
from stack.loader import SOURCE_ENV  # names the stack file in error messages
from tools.mocks import ProgramRun, Recorded, run_program
from tools.scheduling_check import SchedulingReport, check_scheduling, render_table
from tools.stack_config import StackFileError, StackSettings, load_stack_settings
from tools.tables import column_table

ROOT = Path(__file__).resolve().parent.parent
# Resource options written per resource into the --json plan (and compared by --diff).
RESOURCE_OPTIONS = (
    "dependsOn",
    "replaceOnChanges",
    "deleteBeforeReplace",
    "ignoreChanges",
    "protect",
    "aliases",
)
MANIFEST_INDEX = ".aks-llm-manifests.json"  # what --manifests wrote into a directory, for the next run
INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


class PlanError(Exception):
    """A problem with the tool's own arguments or outputs: one line, exit 2, nothing written."""


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
    return stack_plan(settings).config


def stack_plan(settings: StackSettings) -> StackPlan:
    """The stack's plan, validated and judged by the rules as the program's loader does it."""
    from stack.loader import PROJECT, parse_stack_plan

    prefix = PROJECT + ":"
    values = {k[len(prefix) :]: v for k, v in settings.config.items() if k.startswith(prefix)}
    secrets = [k[len(prefix) :] for k in settings.secret_keys if k.startswith(prefix)]
    return parse_stack_plan(values, source=settings.source, secret_keys=secrets, stack=settings.stack)


def scheduling_report(settings: StackSettings, run: ProgramRun) -> SchedulingReport:
    """The scheduling check over the program's manifests and its rendered charts (tools.scheduling_check),
    on the plan the program made (planned again only for a run that kept none)."""
    from config.catalog import load_catalog

    manifests = kubernetes_manifests(run.resources)
    if run.plan is not None:
        return check_scheduling(run.plan.config, run.plan.catalog, manifests, plan=run.plan)
    return check_scheduling(stack_config(settings), load_catalog(), manifests)


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


def render_manifests(manifests: Sequence[dict[str, Any]], prefix: str = "") -> dict[str, str]:
    """File name (below the --manifests directory) -> YAML text of each manifest."""
    files = {}
    for i, doc in enumerate(manifests):
        meta = doc.get("metadata", {})
        ns = meta.get("namespace", "cluster")
        fname = f"{prefix}{i:03d}-{doc['kind'].lower()}-{ns}-{meta.get('name', 'unnamed')}.yaml"
        files[fname] = yaml.safe_dump(doc, sort_keys=False)
    return files


def write_manifests(manifests: Sequence[dict[str, Any]], directory: Path) -> list[Path]:
    """Write ``manifests`` into ``directory`` (each file whole: temporary file, then rename)."""
    written = []
    for name, text in render_manifests(manifests).items():
        write_atomic(directory / name, text)
        written.append(directory / name)
    return written


def write_atomic(path: Path, text: str) -> None:
    """``path`` holds ``text`` or is untouched: write a temporary file beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def plan_json(doc: dict[str, Any]) -> str:
    """The --json text; a non-finite number (which JSON has no form for) is a ``PlanError``."""
    try:
        return json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except (ValueError, TypeError) as exc:
        raise PlanError(f"the plan cannot be written as JSON ({exc}); nothing was written") from None


def _previous_manifests(directory: Path) -> tuple[str, list[str]]:
    """(stack, files) of the index a previous --manifests run left in ``directory``."""
    index = directory / MANIFEST_INDEX
    if not index.exists():
        return "", []
    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
        files = [str(f) for f in doc["files"]]
        stack = str(doc.get("stack", ""))
    except (OSError, ValueError, KeyError, TypeError):
        raise PlanError(
            f"{index} is not an index this tool wrote; remove it or choose another directory"
        ) from None
    if any(Path(f).is_absolute() or ".." in Path(f).parts for f in files):
        raise PlanError(f"{index} lists files outside {directory}; remove it or choose another directory")
    return stack, files


def plan_manifest_dir(directory: Path, files: dict[str, str]) -> tuple[str, list[str]]:
    """Check that ``directory`` may receive ``files``: it is new, empty, or holds only what an earlier
    run wrote (its index). Returns (the earlier run's stack, its files this run will remove)."""
    if directory.exists() and not directory.is_dir():
        raise PlanError(f"--manifests {directory} is not a directory")
    if not directory.exists():
        _check_creatable(directory)
        return "", []
    stack, previous = _previous_manifests(directory)
    present = {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST_INDEX
    }
    foreign = sorted(present - set(previous))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise PlanError(
            f"--manifests {directory} holds files this tool did not write ({shown}); choose an empty "
            "directory or remove them, so no stale object is applied with this plan; nothing was written"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PlanError(f"--manifests {directory} is not writable; nothing was written")
    return stack, sorted(set(previous) & present - set(files))


def _check_creatable(path: Path) -> None:
    """``path`` (absent) could be created: its nearest existing ancestor is a writable directory."""
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise PlanError(f"cannot create {path}: {parent} is not a directory; nothing was written")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PlanError(f"cannot create {path}: {parent} is not writable; nothing was written")


def check_json_target(path: Path) -> None:
    if path.is_dir():
        raise PlanError(f"--json {path} is a directory; give a file name")
    if path.exists():
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise PlanError(f"--json {path}: {path.parent} is not writable; nothing was written")
    else:
        _check_creatable(path)


@contextlib.contextmanager
def _interrupt_after() -> Any:
    """Hold a Ctrl-C until the block is done (the files are committed whole, or not at all)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def commit_outputs(
    json_path: Path | None,
    json_text: str | None,
    manifests_dir: Path | None,
    files: dict[str, str],
    stack: str,
) -> list[str]:
    """Write the prepared outputs (checked beforehand); returns the stale manifest files removed."""
    stale: list[str] = []
    previous_stack = ""
    if manifests_dir is not None:
        previous_stack, stale = plan_manifest_dir(manifests_dir, files)
    with _interrupt_after():
        if json_path is not None and json_text is not None:
            write_atomic(json_path, json_text)
        if manifests_dir is not None:
            for name in stale:
                (manifests_dir / name).unlink()
            for name, text in files.items():
                write_atomic(manifests_dir / name, text)
            index = {"stack": stack, "files": sorted(files)}
            write_atomic(manifests_dir / MANIFEST_INDEX, json.dumps(index, indent=2) + "\n")
    if stale and previous_stack:
        return [f"{name} (stack {previous_stack})" for name in stale]
    return stale


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
    """The tool: a bad config, argument or output target ends in one message and exit 2, Ctrl-C in
    exit 130; never a traceback, never a partly written file."""
    try:
        return _main(argv)
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_CODE
    except (PlanError, StackFileError) as exc:
        print(f"error: {clip(scrub(str(exc)), 1000)}", file=sys.stderr)
        return EXIT_CODE
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CODE
    except KeyboardInterrupt:
        print("interrupted: stopped before writing anything (no file is partly written)", file=sys.stderr)
        return INTERRUPTED


def _set_plan_date(given: str | None) -> None:
    """``--date`` into the environment the program reads, or a bad ``AKS_LLM_PLAN_DATE`` refused before
    the program runs (``PlanError``)."""
    try:
        if given:
            parse_plan_date(given, given_as="--date")
            os.environ[PLAN_DATE_ENV] = given
        else:
            plan_date()  # a bad AKS_LLM_PLAN_DATE is refused here, before the program runs
    except PlanDateError as exc:
        raise PlanError(str(exc)) from None


def _base_plan(path: Path) -> Any:
    """The ``--diff`` base, a plan written by ``--json`` (``PlanError`` when unreadable or not one)."""
    from tools.diff import malformed

    try:
        base_doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise PlanError(f"cannot read the base plan {path}: {clip(str(reason), 300)}") from None
    why = malformed(base_doc)
    if why is not None:
        raise PlanError(f"{path} is not a plan written by --json ({why})")
    return base_doc


def _main(argv: Sequence[str] | None = None) -> int:
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
    _set_plan_date(args.date)
    base_doc = _base_plan(args.diff) if args.diff else None
    if args.json_path:
        check_json_target(args.json_path)
    if args.manifests:
        plan_manifest_dir(args.manifests, {})

    started = time.perf_counter()
    settings, run = run_stack(ROOT, args.stack, args.config_file)
    if run.exit_code:
        return run.exit_code
    scheduling = scheduling_report(settings, run)
    if scheduling.missing_charts:
        from tools.charts import EXIT_ENVIRONMENT, ChartsMissing

        print(ChartsMissing(list(scheduling.missing_charts)).render(), file=sys.stderr)
        return EXIT_ENVIRONMENT
    if scheduling.problems:
        print(ConfigError(settings.source, "", scheduling.problems).render(), file=sys.stderr)
        return EXIT_CODE
    if base_doc is not None:
        doc = plan_document(settings, run)
        doc["scheduling"] = scheduling.rows()
        return _print_diff(base_doc, args.diff.name, doc, args.json_path)

    notes = run.outputs.get("notes") or []
    for warning in run.warnings:  # what a preview shows as a warning, unless a note already says it
        if not any(warning in note for note in notes):
            print(f"warning: {warning}", file=sys.stderr)
    print(f"Offline plan for stack '{settings.stack}' of project '{settings.project}' ({settings.source})")
    version_line = _version_line(run.outputs.get("kubernetesVersion"))
    if version_line:
        print(version_line)
    upgrade = upgrade_path_lines(run.outputs.get("upgradePath"))
    if upgrade:
        print(upgrade)
    over = budget_warning((run.outputs.get("cost") or {}).get("budget"))
    if over:
        print(f"  WARNING: {over}")
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
    json_text = plan_json(doc) if args.json_path else None
    files: dict[str, str] = {}
    if args.manifests:
        files = render_manifests(kubernetes_manifests(run.resources))
        # Patches are partial objects owned by someone else: apply them with --server-side, never as-is.
        files.update(render_manifests(kubernetes_manifests(run.resources, patches=True), "patches/"))
    removed = commit_outputs(args.json_path, json_text, args.manifests, files, settings.stack)
    if args.manifests:
        print(f"\nWrote {len(files)} Kubernetes manifests to {args.manifests}")
        if removed:
            print(f"Removed {len(removed)} manifests an earlier run wrote there: {', '.join(removed)}")
    print(f"\nPlanned in {time.perf_counter() - started:.2f} s (mocks; nothing was created)")
    stack = settings.stack
    print(f"Its traffic day: python -m tools.simulate --stack {stack} --json OUT.json (docs/simulate.md)")
    return 0


def _print_diff(base: dict[str, Any], base_name: str, doc: dict[str, Any], json_path: Path | None) -> int:
    """``--diff``: the Markdown summary on stdout (and the plan as JSON when ``--json`` is given)."""
    from tools.diff import diff_plans, render_markdown

    try:
        markdown = render_markdown(diff_plans(base, doc), base_label=f"`{base_name}`")
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise PlanError(
            f"{base_name} is not a plan written by --json ({type(exc).__name__}: {exc})"
        ) from None
    json_text = plan_json(doc) if json_path else None
    print(markdown, end="")
    commit_outputs(json_path, json_text, None, {}, str(doc.get("stack", "")))
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


def upgrade_path_lines(steps: Any) -> str:
    """The commands a change of ``cluster.kubernetesVersion`` runs, in order (control plane alone, then
    each pool, spot pools last: ``sizing.upgrade_path``)."""
    if not isinstance(steps, list) or not steps:
        return ""
    lines = ["Upgrade path (runs when cluster.kubernetesVersion changes; each step only if still below it):"]
    lines += [f"  {i}. {s['step']}: {s['command']}" for i, s in enumerate(steps, 1)]
    return "\n".join(lines)


def _extra_sections(doc: dict[str, Any]) -> list[str]:
    """Sections after the tree: sizing now; later reports (quota, cost) add theirs here."""
    from tools.report import sections

    return [render_sizing(doc["sizing"]), *sections(doc)]


if __name__ == "__main__":
    # A one-shot process: the cyclic collector would walk the ~220,000 objects the SDKs create again and
    # again (measured: prod 2.8 s -> 1.5 s wall with it off, the same peak memory, ~150 MB, since little of
    # what a plan creates is cyclic garbage), and once more at exit, which gc.freeze() spares (the
    # interpreter's final collection skips the permanent generation). Only the command does this: tests
    # that call main() in-process keep the collector.
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)
