"""The rendered workload manifests pass Checkov's Kubernetes checks (skips: tests/checkov_skips.py).

Checkov pins libraries that conflict with Pulumi's, so it lives in its own venv (`make setup` creates
`venv-checkov`). Without it the test is skipped with a reason, except under CI (`CI` set), where it
fails: CI must run it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.checkov_skips import SKIPS
from tests.conftest import ROOT, planned
from tests.test_model_services import full
from tools.plan import kubernetes_manifests, write_manifests

CHECKOV = ROOT / "venv-checkov" / "bin" / "checkov"


def _checkov() -> Path:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing: CI must run the Checkov checks (make setup installs it)")
        pytest.skip(f"{CHECKOV} is missing: run `make setup` to install Checkov in its own venv")
    return CHECKOV


def test_rendered_workload_manifests_pass_checkov(tmp_path: Path) -> None:
    checkov = _checkov()
    sets = {
        "dev": kubernetes_manifests(planned("dev")[1].resources),
        "prod": kubernetes_manifests(planned("prod")[1].resources),
        "nap": kubernetes_manifests(planned("nap")[1].resources),  # NodePools, AKSNodeClasses, KAITO
        "full": kubernetes_manifests(full().resources),  # models, HF token sync, HTTP add-on, queue worker
    }
    for name, docs in sets.items():
        assert docs, name
        write_manifests(docs, tmp_path / name)
    command = [str(checkov), "-d", str(tmp_path), "--framework", "kubernetes", "--skip-download", "--quiet"]
    command += ["-o", "json"]
    if SKIPS:
        command += ["--skip-check", ",".join(sorted(SKIPS))]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    # --quiet leaves passed checks out of the JSON: the summary still counts them
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert summary["failed"] == 0 and not failed, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 200 and summary["resource_count"] > 30


def test_checkov_evaluates_the_checks_that_matter(tmp_path: Path) -> None:
    """The security checks a vLLM Deployment typically fails ran and passed here (not skipped)."""
    checkov = _checkov()
    docs = [
        d
        for d in kubernetes_manifests(planned("dev")[1].resources)
        if d["kind"] in ("Deployment", "NetworkPolicy")
    ]
    write_manifests(docs, tmp_path)
    done = subprocess.run(
        [str(checkov), "-d", str(tmp_path), "--framework", "kubernetes", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    passed = {c["check_id"] for c in report["results"]["passed_checks"]}
    # digest pin, pull policy, no secrets in env, non-root high UID, read-only root, seccomp, no token
    # mount, capabilities dropped, CPU/memory limits, probes, NetworkPolicy for the pods
    wanted = {
        "CKV_K8S_43",
        "CKV_K8S_15",
        "CKV_K8S_35",
        "CKV_K8S_40",
        "CKV_K8S_22",
        "CKV_K8S_31",
        "CKV_K8S_38",
    }
    wanted |= {"CKV_K8S_37", "CKV_K8S_11", "CKV_K8S_13", "CKV_K8S_8", "CKV_K8S_9", "CKV2_K8S_6"}
    assert wanted <= passed, wanted - passed
    assert not wanted & set(SKIPS)
