"""Validate rendered Kubernetes manifests: custom resources against the upstream CRDs in
``../shared/crds`` (strictly: unknown fields are errors), core objects with kubernetes-validate."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

CRD_DIR = ROOT.parent / "shared" / "crds"
KUBERNETES_VERSION = "1.36"  # the stacks' cluster version (config/catalog/aks-versions.yaml)
requires_crds = pytest.mark.skipif(
    not CRD_DIR.is_dir(),
    reason="../shared/crds (upstream CRDs) is not beside this checkout: it exists on team machines only",
)


@functools.cache
def crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema, for every CRD file."""
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas[(group, version["name"], kind)] = strictify(version["schema"]["openAPIV3Schema"])
    return schemas


def crd_groups() -> set[str]:
    return {group for group, _, _ in crd_schemas()}


def strictify(schema: Any) -> Any:
    """Objects with declared properties refuse unknown ones (the API server would prune them)."""
    if isinstance(schema, list):
        return [strictify(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strictify(v) for k, v in schema.items()}
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _errors_for_custom(doc: dict[str, Any], group: str, version: str) -> list[str]:
    key = (group, version, doc["kind"])
    schema = crd_schemas().get(key)
    if schema is None:
        return [f"no CRD for {group}/{version} {doc['kind']} in {CRD_DIR}"]
    body = {k: v for k, v in doc.items() if k != "metadata"}
    # metadata is validated by the API server itself; check its shape here.
    meta = doc.get("metadata", {})
    problems = [] if isinstance(meta.get("name"), str) and meta["name"] else ["metadata.name missing"]
    validator = jsonschema.Draft7Validator(
        {**schema, "properties": {**schema.get("properties", {}), "metadata": {}}}
    )
    problems += [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    return problems


def manifest_errors(doc: dict[str, Any]) -> list[str]:
    """Every problem of one manifest (empty when it is valid)."""
    group, _, version = doc["apiVersion"].rpartition("/")
    if group in crd_groups():
        errors = _errors_for_custom(doc, group, version)
        if (group, doc["kind"]) == ("karpenter.sh", "NodePool") and not errors:
            from tests.karpenter_rules import nodepool_label_errors  # the CEL label rules, too

            errors = nodepool_label_errors(doc)
        return errors
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc)]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {doc['apiVersion']} {doc['kind']}: neither core Kubernetes nor a known CRD"]
    return []


# What a server-side-apply patch of an object it does not own leaves out: the owner's required fields.
_PATCH_BASES: dict[str, dict[str, Any]] = {
    "Deployment": {
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "x", "image": "x"}]},
            },
        }
    },
}


def _merged(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: _merged(base.get(k), v) for k, v in patch.items()}}
    return patch


def patch_errors(doc: dict[str, Any]) -> list[str]:
    """A patch's problems: the patch over a minimal object of its kind, so that the owner's required
    fields are present and every field the patch sets is checked as strictly as a whole manifest."""
    return manifest_errors(_merged(_PATCH_BASES.get(doc["kind"], {}), doc))


def iter_docs(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in manifests:
        yield f"{doc['kind']}/{doc.get('metadata', {}).get('name')}", doc


def load_yaml_dir(directory: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(directory.glob("*.yaml"))]
