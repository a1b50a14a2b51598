"""The GitHub workflows: valid against the workflow schema (offline), pinned, and safe by design."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tools.stack_config import stack_names

WORKFLOWS = ROOT / ".github" / "workflows"
# A full commit SHA with its tag in a comment (a dependency bot updates both): `uses: o/a@<sha> # v1.2.3`.
PINNED_LINE = re.compile(r"^\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v[0-9]+(\.[0-9]+){0,2}$")


def _check_jsonschema() -> str:
    local = Path(sys.executable).parent / "check-jsonschema"
    found = str(local) if local.exists() else shutil.which("check-jsonschema")
    assert found, "check-jsonschema is pinned in requirements-dev.txt: run make setup"
    return found


def _validate(*files: Path) -> subprocess.CompletedProcess[str]:
    # --builtin-schema: the schema vendored in the package, so no download happens
    return subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(doc, dict)
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def _uses(doc: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in _steps(doc) if str(s.get("uses", "")).split("@")[0] == action]


def test_the_workflows_exist_and_validate_against_the_github_workflow_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} == {
        "ci.yml",
        "preview.yml",
        "preview-comment.yml",
        "deploy.yml",
        "worker-image.yml",
    }
    result = _validate(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\non: pull_requests\njobs:\n  a:\n    steps:\n      - run: echo\n")
    result = _validate(bad)
    assert result.returncode != 0
    assert "runs-on" in result.stdout or "pull_requests" in result.stdout


@pytest.mark.parametrize(
    "name", ["ci.yml", "preview.yml", "preview-comment.yml", "deploy.yml", "worker-image.yml"]
)
def test_every_action_is_pinned_and_permissions_are_explicit(name: str) -> None:
    doc = load(name)
    uses = [str(s["uses"]) for s in _steps(doc) if "uses" in s]
    assert uses
    lines = [
        ln
        for ln in (WORKFLOWS / name).read_text().splitlines()
        if ln.strip().startswith(("uses:", "- uses:"))
    ]
    assert len(lines) == len(uses)
    assert [ln for ln in lines if not PINNED_LINE.fullmatch(ln)] == [], (
        "pin to a commit SHA, tag in a comment"
    )
    assert doc["permissions"] == {}  # nothing at the workflow level
    for job_name, job in doc["jobs"].items():  # every job says what it needs, and never write-all
        assert isinstance(job.get("permissions"), dict), job_name
        assert job["permissions"].get("contents", "read") == "read", job_name


def test_zizmor_finds_nothing_high_in_the_workflows() -> None:
    """zizmor (pinned in requirements-dev.txt) offline: unpinned actions, dangerous triggers without an
    inline justification, excessive permissions all fail this test (and `make lint`)."""
    zizmor = Path(sys.executable).parent / "zizmor"
    if not zizmor.exists():
        pytest.skip("zizmor is not installed in this venv (make setup installs requirements-dev.txt)")
    result = subprocess.run(
        [str(zizmor), "--offline", "--min-severity=high", "--format=plain", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command_on_push_and_pull_request() -> None:
    doc = load("ci.yml")
    assert set(doc["on"]) == {"push", "pull_request"}
    runs = [s.get("run") for s in _steps(doc)]
    assert "make test" in runs and "make lint" in runs
    assert "make test" in (ROOT / "README.md").read_text()
    (setup,) = _uses(doc, "actions/setup-python")
    assert setup["with"]["python-version"] == "3.11"


def test_offline_plan_diff_needs_no_secret_and_covers_every_stack() -> None:
    doc = load("preview.yml")
    assert set(doc["on"]) == {"pull_request"}  # never pull_request_target: the PR's code runs here
    job = doc["jobs"]["plan-diff"]
    text = yaml.safe_dump(job)
    assert "secrets." not in text and "vars." not in text
    assert job["permissions"] == {"contents": "read"} and "environment" not in job  # read-only token
    assert sorted(job["strategy"]["matrix"]["stack"]) == stack_names(ROOT)
    script = "\n".join(str(s.get("run", "")) for s in job["steps"])
    assert 'tools.plan --stack "$STACK" --json ../base.json' in script
    assert "--diff ../base.json" in script
    refs = [s["with"].get("ref") for s in _uses(doc, "actions/checkout") if "with" in s]
    assert "${{ github.event.pull_request.base.sha }}" in refs
    (upload,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload["with"]["name"] == "plan-diff-${{ matrix.stack }}"


def test_offline_plan_job_renders_charts_and_fails_when_the_scheduling_check_fails() -> None:
    """The plan's scheduling check needs helm-python-sdk (a dev requirement); a refused head plan
    (exit 2) marks the step failed and the job fails."""
    job = load("preview.yml")["jobs"]["plan-diff"]
    script = "\n".join(str(s.get("run", "")) for s in job["steps"])
    assert "-r head/requirements-dev.txt" in script
    assert any(
        line.startswith("helm-python-sdk==")
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
    )
    (diff,) = [s for s in job["steps"] if s.get("id") == "diff"]
    assert 'echo "failed=true"' in diff["run"] and diff["run"].lstrip().startswith("mkdir")
    (fail,) = [s for s in job["steps"] if s.get("name") == "Fail when the head plan fails"]
    assert fail["if"] == "steps.diff.outputs.failed == 'true'" and fail["run"] == "exit 1"


def test_real_preview_only_with_azure_oidc_settings_and_no_stored_azure_secret() -> None:
    job = load("preview.yml")["jobs"]["pulumi-preview"]
    assert "vars.AZURE_CLIENT_ID != ''" in job["if"]
    assert "head.repo.full_name == github.repository" in job["if"]  # not for forks
    assert job["permissions"]["id-token"] == "write"
    env = job["env"]
    assert env["ARM_USE_OIDC"] == "true"
    for key in ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"):
        assert env[key].startswith("${{ vars."), key
    assert not [k for k in env if k in {"ARM_CLIENT_SECRET", "AZURE_CREDENTIALS"}]
    (login,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/login@")]
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}  # no creds, no secret
    (pulumi,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"


def test_commenter_never_runs_the_pull_requests_code() -> None:
    doc = load("preview-comment.yml")
    assert doc["on"] == {"workflow_run": {"workflows": ["preview"], "types": ["completed"]}}
    assert _uses(doc, "actions/checkout") == []
    assert not [s for s in _steps(doc) if "run" in s]
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    (script,) = [s["with"]["script"] for s in _uses(doc, "actions/github-script")]
    assert "pr.head.sha !== run.head_sha" in script  # the artifact's PR number is checked


def test_deploy_dev_on_merge_then_prod_behind_an_environment() -> None:
    doc = load("deploy.yml")
    assert doc["on"]["push"] == {"branches": ["main"]}
    dev, prod = doc["jobs"]["dev"], doc["jobs"]["prod"]
    assert prod["needs"] == "dev" and prod["environment"] == "prod"
    for job, stack in ((dev, "dev"), (prod, "prod")):
        (pulumi,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
        assert pulumi["with"] == {
            "command": "up",
            "stack-name": stack,
            "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}",
            "refresh": True,  # issue 19: the stored kubernetesVersion is the live one before the PUT
        }
        assert job["permissions"]["id-token"] == "write"
    assert doc["env"]["ARM_USE_OIDC"] == "true"
    assert doc["concurrency"]["cancel-in-progress"] is False  # never cancel a running deployment


def test_deploy_covers_the_nap_stack_after_dev_in_its_own_environment() -> None:
    doc = load("deploy.yml")
    nap = doc["jobs"]["nap"]
    assert nap["needs"] == "dev" and nap["environment"] == "nap"
    (pulumi,) = [s for s in nap["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert pulumi["with"]["stack-name"] == "nap" and pulumi["with"]["command"] == "up"
    assert "make plan STACK=nap" in [s.get("run") for s in nap["steps"]]
    deployed = {_pulumi_up(j)["with"]["stack-name"] for j in doc["jobs"].values()}
    assert deployed == set(stack_names(ROOT))  # every committed stack is deployed
    preview = load("preview.yml")["jobs"]["pulumi-preview"]
    assert sorted(preview["strategy"]["matrix"]["stack"]) == stack_names(ROOT)


def _pulumi_up(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    return dict(step)


def test_each_deployment_is_verified_after_up_and_the_result_attached() -> None:
    for name, job in load("deploy.yml")["jobs"].items():
        steps = job["steps"]
        up = steps.index(_pulumi_up(job))
        verify, summary, upload = steps[up + 1 : up + 4]
        assert f"make verify STACK={name}" in verify["run"] and "pipefail" in verify["run"]
        assert f"--json verify-{name}.json" in verify["run"]
        assert summary["if"] == "always()" and "GITHUB_STEP_SUMMARY" in summary["run"]
        assert upload["if"] == "always()" and upload["uses"].startswith("actions/upload-artifact@")
        assert upload["with"]["path"] == f"verify-{name}.*"


def test_worker_image_is_built_pushed_by_oidc_and_its_digest_recorded() -> None:
    doc = load("worker-image.yml")
    assert set(doc["on"]) == {"workflow_dispatch", "push"}
    assert doc["on"]["push"] == {"branches": ["main"], "paths": ["worker/**"]}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    (login,) = _uses(doc, "azure/login")
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}  # OIDC, no secret
    assert "secrets." not in yaml.safe_dump(job)
    (build,) = [s for s in job["steps"] if s.get("name") == "Build and push"]
    script = build["run"]
    assert "docker build --pull --file worker/Dockerfile" in script and "docker push" in script
    assert "RepoDigests" in script and "GITHUB_STEP_SUMMARY" in script
    assert "asyncQueue.worker.image" in script  # the summary says where the digest goes
    # a private registry (public access off) takes pushes only from inside the VNet: the runner is
    # configurable (review4), GitHub-hosted when the variable is unset; the docs name the variable
    assert job["runs-on"] == "${{ vars.WORKER_IMAGE_RUNNER || 'ubuntu-24.04' }}"
    assert "WORKER_IMAGE_RUNNER" in (ROOT / "docs" / "async-queue.md").read_text()
    (upload,) = _uses(doc, "actions/upload-artifact")
    assert upload["with"]["path"] == "out/image.txt"
    # the same action versions as the other workflows
    versions = {
        str(s["uses"]) for name in ("deploy.yml", "preview.yml") for s in _steps(load(name)) if "uses" in s
    }
    assert {str(s["uses"]) for s in _steps(doc) if "uses" in s} <= versions


def test_worker_dockerfile_is_pinned_and_non_root() -> None:
    text = (ROOT / "worker" / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", text, re.M)
    assert re.fullmatch(r"docker\.io/library/python:3\.11-slim@sha256:[0-9a-f]{64}", base)
    assert re.search(r"^USER 10002:10002$", text, re.M)
    assert "useradd --uid 10002" in text and "USER=worker" in text  # a passwd entry and USER both
    lines = (ROOT / "worker" / "requirements.txt").read_text().splitlines()
    reqs = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert "azure-servicebus==7.15.0" in reqs and "azure-identity==1.27.0" in reqs
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", r) for r in reqs), reqs  # every package pinned


def test_deploy_and_preview_run_on_each_stacks_configurable_runner() -> None:
    """`pulumi up` and `pulumi preview` reach the API server, which admits only the stack's authorised
    ranges (or its own network): each stack's jobs run on the runner label of the repository variable
    DEPLOY_RUNNER_<STACK> (a self-hosted runner with a fixed egress, or one inside a private cluster's
    network), GitHub-hosted only when it is unset; docs/api-access.md names the variables."""
    stacks = stack_names(ROOT)
    runner = "${{{{ vars.DEPLOY_RUNNER_{} || 'ubuntu-24.04' }}}}"
    deploy = load("deploy.yml")["jobs"]
    assert {stack: deploy[stack]["runs-on"] for stack in stacks} == {
        s: runner.format(s.upper()) for s in stacks
    }
    preview = load("preview.yml")["jobs"]
    job = preview["pulumi-preview"]
    assert job["runs-on"] == "${{ matrix.runner }}"
    include = {row["stack"]: row["runner"] for row in job["strategy"]["matrix"]["include"]}
    assert include == {s: runner.format(s.upper()) for s in stacks}
    assert preview["plan-diff"]["runs-on"] == "ubuntu-24.04"  # offline: no cluster, no variable
    docs = (ROOT / "docs" / "api-access.md").read_text()
    assert all(f"DEPLOY_RUNNER_{s.upper()}" in docs for s in stacks)
