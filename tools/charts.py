"""Render the program's Helm releases offline with a real Helm engine (helm-python-sdk, Helm v4's Go
SDK through ctypes; no ``helm`` binary, no cluster).

A planning/CI dependency only: the Pulumi program never imports this module or ``helm_python``, and
``helm_python`` itself is imported lazily, only when a render is not already cached.

Chart source, in order: ``$AKS_LLM_CHARTS_DIR/<key>-<version>`` (default ``../shared/charts`` beside
the project: the upstream trees the tests use), the pull cache ``.cache/helm/charts``, else
``helm_python.pull`` from the chart's repository (versions.yaml). If none works the render fails
with the reason (``ChartUnavailable``): the scheduling check never silently disappears.
Renders are cached on disk under ``.cache/helm/renders``, keyed by chart, version, source, release,
namespace, values and the helm-python-sdk version.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from config.errors import clip
from renderers.helm_values import ReleaseSpec

ROOT = Path(__file__).resolve().parent.parent
CHARTS_ENV = "AKS_LLM_CHARTS_DIR"
CACHE_ENV = "AKS_LLM_CACHE_DIR"
SDK = "helm-python-sdk"
OK_DEPENDENCY = {"ok", "unpacked"}  # helm_python.dependency_list statuses of a usable subchart


class ChartUnavailable(Exception):
    """A chart could not be found, pulled or rendered: the reason, never a silent skip."""


class ChartMissing(ChartUnavailable):
    """A pinned chart is not on this machine and cannot be pulled: a problem of the environment, not of
    the stack config (``make charts`` prepares a machine)."""

    def __init__(self, spec: ReleaseSpec, looked: list[Path], reason: str) -> None:
        self.spec = spec
        self.looked = looked
        self.reason = reason
        super().__init__(
            f"chart {spec.chart} {spec.version} is not in {' or '.join(map(str, looked))} and cannot be "
            f"pulled from {spec.repository}: {reason}"
        )

    def describe(self) -> str:
        """One line: the chart, where it was looked for, why the pull failed."""
        return (
            f"{self.spec.chart} {self.spec.version} (release {self.spec.release}): not in "
            f"{' nor '.join(map(str, self.looked))}; pulling it from {self.spec.repository} failed: "
            f"{clip(self.reason, 200)}"
        )


def charts_dir() -> Path:
    return Path(os.environ.get(CHARTS_ENV) or ROOT.parent / "shared" / "charts")


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or ROOT / ".cache" / "helm")


def _sdk_version() -> str:
    try:
        return importlib.metadata.version(SDK)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ChartUnavailable(
            f"{SDK} is not installed (pip install -r requirements-dev.txt): the charts cannot be rendered"
        ) from exc


def chart_source(spec: ReleaseSpec) -> Path:
    """The directory of the pinned chart: the shared upstream tree, the pull cache, or a fresh pull."""
    local = charts_dir() / f"{spec.chart_key}-{spec.version}"
    if (local / "Chart.yaml").is_file():
        return local
    pulled = cached_chart(spec)
    if (pulled / "Chart.yaml").is_file():
        return pulled
    try:
        return _pull(spec)
    except ChartMissing as exc:
        raise ChartMissing(spec, [local, pulled], exc.reason) from exc


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _lookup(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.strip().split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values over chart defaults: maps merge, everything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def dependency_enabled(dependency: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Helm's ``condition``: the first of its comma-separated paths that holds a bool decides; none:
    enabled (helm pkg/chart/v2/util/dependencies.go, processDependencyConditions)."""
    for path in str(dependency.get("condition") or "").split(","):
        if not path.strip():
            continue
        found = _lookup(values, path)
        if isinstance(found, bool):
            return found
    return True


def missing_subcharts(source: Path, values: Mapping[str, Any]) -> list[str]:
    """Enabled subcharts that ``helm_python.dependency_list`` does not report as present."""
    import helm_python

    chart_yaml = yaml.safe_load((source / "Chart.yaml").read_text(encoding="utf-8")) or {}
    declared = {d["name"]: d for d in chart_yaml.get("dependencies") or []}
    defaults = yaml.safe_load((source / "values.yaml").read_text(encoding="utf-8")) or {}
    merged = merge_values(defaults, values)
    missing = []
    for dep in helm_python.dependency_list(source):
        if dep["status"] in OK_DEPENDENCY:
            continue
        if dependency_enabled(declared.get(dep["name"], {}), merged):
            missing.append(f"{dep['name']} {dep['version']} ({dep['status']})")
    return missing


def _render_key(spec: ReleaseSpec, source: Path) -> str:
    body = json.dumps(
        {
            "chart": spec.chart_key,
            "version": spec.version,
            "source": str(source),
            "release": spec.release,
            "namespace": spec.namespace,
            "values": spec.values,
            "sdk": _sdk_version(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def render(spec: ReleaseSpec) -> list[dict[str, Any]]:
    """Every object the release creates (template order), from the cache or a fresh render."""
    source = chart_source(spec)
    cached = cache_dir() / "renders" / f"{spec.chart_key}-{spec.version}-{_render_key(spec, source)}.json"
    if cached.is_file():
        try:
            objects: list[dict[str, Any]] = json.loads(cached.read_text(encoding="utf-8"))
            return objects
        except ValueError:
            pass  # a torn write: render again
    objects = _render_fresh(spec, source)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(objects), encoding="utf-8")
    tmp.replace(cached)
    return objects


def _render_fresh(spec: ReleaseSpec, source: Path) -> list[dict[str, Any]]:
    import helm_python

    missing = missing_subcharts(source, spec.values)
    if missing:
        raise ChartUnavailable(
            f"chart {spec.chart} {spec.version} at {source}: enabled subcharts missing: {', '.join(missing)}"
        )
    # Loaded afresh for every render: a reused Chart object was seen to return stale output
    # (../shared/charts/SOURCES.md).
    chart = helm_python.Chart.load(source)
    try:
        files = chart.render(
            json.loads(json.dumps(dict(spec.values), default=str)),
            name=spec.release,
            namespace=spec.namespace,
            is_install=True,
        )
    except helm_python.HelmError as exc:
        raise ChartUnavailable(f"chart {spec.chart} {spec.version} does not render: {exc}") from exc
    objects: list[dict[str, Any]] = []
    for path in sorted(files):
        if not path.endswith((".yaml", ".yml")) or "/tests/" in path:
            continue
        for doc in yaml.safe_load_all(files[path]):
            if isinstance(doc, dict) and doc.get("kind"):
                doc.setdefault("metadata", {}).setdefault("namespace", spec.namespace)
                objects.append(doc)
    return objects


# --- make charts: prepare a machine that cannot reach the chart repositories ----------------------

# The chart's name in its repository, per key under ``charts:`` in versions.yaml (renderers.helm_values
# uses the same names; tests/test_charts_cli.py checks they agree).
CHART_NAMES = {
    "gpu-operator": "gpu-operator",
    "nvidia-device-plugin": "nvidia-device-plugin",
    "kaito-workspace": "workspace",
    "gpu-provisioner": "gpu-provisioner",
    "keda-add-ons-http": "keda-add-ons-http",
}


def pinned_specs() -> list[ReleaseSpec]:
    """Every pinned chart of versions.yaml as a (value-less) release spec: what ``make charts`` fetches."""
    from config import versions

    specs = []
    for key, name in CHART_NAMES.items():
        pin = versions.chart(key)
        specs.append(ReleaseSpec(key, key, name, pin.version, pin.repository, "default"))
    return specs


def cached_chart(spec: ReleaseSpec) -> Path:
    """Where the pull cache keeps the chart (the second place ``chart_source`` looks)."""
    return cache_dir() / "charts" / f"{spec.chart_key}-{spec.version}" / spec.chart


def copy_chart(spec: ReleaseSpec, source: Path) -> Path:
    """Copy ``source/<key>-<version>`` (an unpacked chart, as in ../shared/charts) into the pull cache."""
    tree = source / f"{spec.chart_key}-{spec.version}"
    if not (tree / "Chart.yaml").is_file():
        raise ChartMissing(spec, [tree], "no Chart.yaml there")
    target = cached_chart(spec)
    staging = Path(tempfile.mkdtemp(prefix="copy-", dir=_ensure(cache_dir() / "charts")))
    shutil.copytree(tree, staging / spec.chart, symlinks=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    (staging / spec.chart).rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def prepare_charts(source: Path | None, specs: list[ReleaseSpec] | None = None) -> list[str]:
    """Put every pinned chart into the pull cache: copied from ``source`` when given, else pulled from its
    repository (a chart already in the cache is kept). Returns one line per chart; ``ChartsMissing``
    names every chart that could not be had, after trying them all."""
    lines: list[str] = []
    missing: list[ChartMissing] = []
    for spec in specs if specs is not None else pinned_specs():
        try:
            if source is not None:
                where = copy_chart(spec, source)
                lines.append(f"{spec.chart} {spec.version}: copied to {where}")
            elif (cached_chart(spec) / "Chart.yaml").is_file():
                lines.append(f"{spec.chart} {spec.version}: already in {cached_chart(spec)}")
            else:
                where = _pull(spec)
                lines.append(f"{spec.chart} {spec.version}: pulled from {spec.repository} into {where}")
        except ChartMissing as exc:
            missing.append(exc)
    if missing:
        raise ChartsMissing(missing)
    return lines


def _pull(spec: ReleaseSpec) -> Path:
    """Pull ``spec`` into the cache (not looking at $AKS_LLM_CHARTS_DIR: the cache is what is prepared)."""
    import helm_python

    staging = Path(tempfile.mkdtemp(prefix="pull-", dir=_ensure(cache_dir() / "charts")))
    try:
        helm_python.pull(
            spec.chart, repo_url=spec.repository, version=spec.version, untar=True, untar_dir=staging
        )
        if not (staging / spec.chart / "Chart.yaml").is_file():
            raise ChartMissing(spec, [cached_chart(spec)], "the pull gave no chart")
        target = cached_chart(spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        (staging / spec.chart).rename(target)
        return target
    except helm_python.HelmError as exc:
        raise ChartMissing(spec, [cached_chart(spec)], str(exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class ChartsMissing(Exception):
    """Charts the plan needs and this machine cannot get: said once, as what it is (an environment
    problem), with how to get them."""

    def __init__(self, missing: list[ChartMissing]) -> None:
        self.missing = missing
        super().__init__(self.render())

    def render(self) -> str:
        lines = [
            f"error: {len(self.missing)} Helm chart(s) the plan renders are not on this machine and cannot "
            "be pulled (an environment problem: nothing is wrong with the stack config):"
        ]
        lines += [f"  {m.describe()}" for m in self.missing]
        lines.append(
            "Get them: `make charts` pulls every pinned chart (versions.yaml) into "
            f"{cache_dir() / 'charts'} where the repositories are reachable; `make charts FROM=DIR` copies "
            "them from DIR/<chart>-<version> (e.g. a copy of ../shared/charts); or set "
            f"{CHARTS_ENV}=DIR. Nothing was created."
        )
        return "\n".join(lines)


EXIT_ENVIRONMENT = 3  # the plan cannot run on this machine (a missing chart); 2 is a config error


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.charts [--from DIR]``: prepare the pull cache (``make charts``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.charts", description=main.__doc__)
    parser.add_argument("--from", dest="source", type=Path, help="copy <chart>-<version> folders from DIR")
    args = parser.parse_args(argv)
    if args.source is not None and not args.source.is_dir():
        print(f"error: --from {args.source} is not a directory", file=sys.stderr)
        return 2
    try:
        for line in prepare_charts(args.source):
            print(line)
    except ChartsMissing as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_ENVIRONMENT
    return 0


if __name__ == "__main__":
    sys.exit(main())
