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
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from renderers.helm_values import ReleaseSpec

ROOT = Path(__file__).resolve().parent.parent
CHARTS_ENV = "AKS_LLM_CHARTS_DIR"
CACHE_ENV = "AKS_LLM_CACHE_DIR"
SDK = "helm-python-sdk"
OK_DEPENDENCY = {"ok", "unpacked"}  # helm_python.dependency_list statuses of a usable subchart


class ChartUnavailable(Exception):
    """A chart could not be found, pulled or rendered: the reason, never a silent skip."""


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
    folder = f"{spec.chart_key}-{spec.version}"
    local = charts_dir() / folder
    if (local / "Chart.yaml").is_file():
        return local
    pulled = cache_dir() / "charts" / folder / spec.chart
    if (pulled / "Chart.yaml").is_file():
        return pulled
    import helm_python

    staging = Path(tempfile.mkdtemp(prefix="pull-", dir=_ensure(cache_dir() / "charts")))
    try:
        helm_python.pull(
            spec.chart, repo_url=spec.repository, version=spec.version, untar=True, untar_dir=staging
        )
    except helm_python.HelmError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ChartUnavailable(
            f"chart {spec.chart} {spec.version} is not in {local} and cannot be pulled from "
            f"{spec.repository}: {exc}"
        ) from exc
    if not (staging / spec.chart / "Chart.yaml").is_file():
        shutil.rmtree(staging, ignore_errors=True)
        raise ChartUnavailable(f"pulling {spec.chart} {spec.version} from {spec.repository} gave no chart")
    pulled.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(pulled, ignore_errors=True)
    (staging / spec.chart).rename(pulled)
    shutil.rmtree(staging, ignore_errors=True)
    return pulled


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
