"""Every Kubernetes object the program declares is a valid manifest (CRDs and strict core schemas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import planned
from tests.k8s_schemas import iter_docs, load_yaml_dir, manifest_errors, patch_errors, requires_crds
from tools.plan import kubernetes_manifests, main


@requires_crds
@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_every_rendered_manifest_validates(stack: str) -> None:
    resources = planned(stack)[1].resources
    manifests = kubernetes_manifests(resources)
    failures = {name: errs for name, doc in iter_docs(manifests) if (errs := manifest_errors(doc))}
    patches = kubernetes_manifests(resources, patches=True)
    failures |= {name: errs for name, doc in iter_docs(patches) if (errs := patch_errors(doc))}
    assert not failures, failures
    assert len(patches) == 2


@requires_crds
def test_a_patch_with_an_unknown_field_is_caught() -> None:
    patch: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "keda-operator", "namespace": "kube-system"},
        "spec": {"template": {"metadata": {"annotations": {"a": "b"}}}},
    }
    assert patch_errors(patch) == [] and manifest_errors(patch)  # partial: fine as a patch only
    patch["spec"]["template"]["metadata"]["annotationz"] = {}
    assert patch_errors(patch)


def test_patches_of_add_on_objects_are_written_apart(tmp_path: Path) -> None:
    """The KEDA add-on's ServiceAccount and Deployment are AKS's: only our annotations are applied
    (server-side): the client id on the ServiceAccount, and on the pod template (the restart)."""
    assert main(["--stack", "prod", "--manifests", str(tmp_path)]) == 0
    patches = {p["kind"]: p for p in load_yaml_dir(tmp_path / "patches")}
    assert set(patches) == {"ServiceAccount", "Deployment"}
    for patch in patches.values():
        assert (patch["metadata"]["namespace"], patch["metadata"]["name"]) == ("kube-system", "keda-operator")
    assert "azure.workload.identity/client-id" in patches["ServiceAccount"]["metadata"]["annotations"]
    assert not [d for d in load_yaml_dir(tmp_path) if d["metadata"].get("name") == "keda-operator"]


@requires_crds
def test_validator_catches_unknown_fields_in_custom_and_core_objects() -> None:
    scaled: dict[str, Any] = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "y"},
            "triggers": [{"type": "cron", "metadata": {}}],
            "minReplicas": 0,
        },
    }
    assert any("minReplicas" in e for e in manifest_errors(scaled))
    scaled["spec"].pop("minReplicas")
    assert manifest_errors(scaled) == []
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labelz": {}}}
    assert manifest_errors(ns)
    assert manifest_errors({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "x"}})


def test_manifests_directory_holds_one_file_per_object(tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    assert main(["--stack", "prod", "--manifests", str(out)]) == 0
    docs = load_yaml_dir(out)
    assert len(docs) == len(kubernetes_manifests(planned("prod")[1].resources))
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(doc)
