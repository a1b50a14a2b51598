"""The first `pulumi up` (issue 18 item 6): no Kubernetes object before the API server lets the deployer
act (a bounded SelfSubjectAccessReview poll, ``components/deployer_access.py``), and the KEDA add-on's
operator restarted once its ServiceAccount carries the workload identity's client id."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import dill  # type: ignore[import-untyped]
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components import deployer_access as access
from components.deployer_access import (
    DEPLOYER_CHECKS,
    AccessCheck,
    AccessTimeout,
    KubeEndpoint,
    access_asker,
    endpoint_of,
    exec_token,
    wait_for_access,
)
from components.keda import RESTART_ANNOTATION
from components.version_update import _AzAksUpgrade
from tests.conftest import ROOT, by_type, one, planned
from tests.test_crd_providers import dependencies_of, reaches
from tools.mocks import MASK, ProgramRun

DYNAMIC = "pulumi-python:dynamic:Resource"
PROVIDER = "pulumi:providers:kubernetes"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
CA_DATA = base64.b64encode(CA.encode()).decode()
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://aks.example:443/", certificate-authority-data: {CA_DATA}}}
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --login, azurecli, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]
      env: [{{name: AAD_LOGIN_METHOD, value: azurecli}}]
"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_poll_returns_as_soon_as_every_right_is_there() -> None:
    clock, answers = Clock(), iter([False, True, True, True, True])
    asked: list[AccessCheck] = []

    def ask(check: AccessCheck) -> bool:
        asked.append(check)
        return next(answers)

    checks = DEPLOYER_CHECKS[:2]
    waited = wait_for_access(ask, checks, interval=10, timeout=600, clock=clock, sleep=clock.sleep)
    assert waited == 10 and clock.sleeps == [10]
    assert asked == [checks[0], checks[1], checks[0]]  # an allowed check is not asked again


def test_the_poll_is_bounded_and_says_what_is_still_denied() -> None:
    clock = Clock()

    def ask(check: AccessCheck) -> bool:
        if check.resource == "namespaces":
            raise urllib.error.URLError("connection refused")
        return check.verb == "create"

    with pytest.raises(AccessTimeout) as info:
        wait_for_access(ask, DEPLOYER_CHECKS, interval=10, timeout=60, clock=clock, sleep=clock.sleep)
    message = str(info.value)
    assert (
        "create namespaces, patch serviceaccounts in kube-system, patch deployments.apps in kube-system"
        in message
    )
    assert "URLError" in message and "up to 5 minutes" in message and "authorizedIpRanges" in message
    assert clock.now == 60 and len(clock.sleeps) == 6  # polls at 0, 10, ... 60 s, then stops


def test_nothing_to_wait_for_returns_at_once() -> None:
    clock = Clock()
    assert wait_for_access(lambda _c: True, DEPLOYER_CHECKS, clock=clock, sleep=clock.sleep) == 0
    assert clock.sleeps == []


def test_the_review_is_a_self_subject_access_review() -> None:
    review = AccessCheck("patch", "serviceaccounts", namespace="kube-system").review()
    assert review == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "verb": "patch",
                "group": "",
                "resource": "serviceaccounts",
                "namespace": "kube-system",
            }
        },
    }


def test_endpoint_and_token_come_from_the_kubeconfig_exec_plugin() -> None:
    endpoint = endpoint_of(KUBECONFIG)
    assert endpoint.server == "https://aks.example:443" and endpoint.ca_pem == CA
    assert endpoint.exec_command == "kubelogin" and endpoint.exec_args[:3] == (
        "get-token",
        "--login",
        "azurecli",
    )
    seen: dict[str, Any] = {}

    def run(argv: list[str], **kw: Any) -> Any:
        seen.update(argv=argv, env=kw["env"])
        credential = {"kind": "ExecCredential", "status": {"token": "t0k"}}
        return type("Done", (), {"stdout": json.dumps(credential)})()

    assert exec_token(endpoint, run) == "t0k"
    assert seen["argv"][0] == "kubelogin" and seen["env"]["AAD_LOGIN_METHOD"] == "azurecli"


class Response(io.BytesIO):
    def __enter__(self) -> Response:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def test_the_asker_posts_the_review_and_reads_allowed() -> None:
    endpoint = endpoint_of(KUBECONFIG)
    sent: list[urllib.request.Request] = []

    def open_(request: urllib.request.Request) -> Response:
        sent.append(request)
        if len(sent) == 2:
            raise urllib.error.HTTPError(request.full_url, 403, "Forbidden", {}, None)  # type: ignore[arg-type]
        return Response(json.dumps({"status": {"allowed": True}}).encode())

    ask = access_asker(endpoint, lambda: "t0k", open_)
    assert ask(DEPLOYER_CHECKS[0]) is True
    assert ask(DEPLOYER_CHECKS[0]) is False  # Forbidden: not yet
    assert sent[0].full_url == "https://aks.example:443/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    assert sent[0].get_header("Authorization") == "Bearer t0k" and sent[0].get_method() == "POST"
    assert json.loads(sent[0].data)["spec"]["resourceAttributes"]["resource"] == "namespaces"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-HTTPS"):
        access_asker(KubeEndpoint("http://x", "", "kubelogin", (), {}), lambda: "t")


def test_the_provider_polls_on_create_only_and_keeps_no_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "exec_token", lambda _e: "t0k")
    monkeypatch.setattr(access, "_opener", lambda _e: lambda _r: Response(b'{"status": {"allowed": true}}'))
    provider = access._DeployerAccessProvider()
    props = {
        "kubeconfig": KUBECONFIG,
        "clusterId": "/sub/aks",
        "principalId": "p1",
        "checks": [{"verb": "create", "resource": "namespaces", "group": "", "namespace": ""}],
    }
    result = provider.create(props)
    assert result.id == "/sub/aks/p1" and "kubeconfig" not in (result.outs or {})
    assert (result.outs or {})["waitedSeconds"] == 0
    same = provider.diff("id", props, {**props, "kubeconfig": "another"})
    assert not same.changes
    other = provider.diff("id", props, {**props, "principalId": "p2"})
    assert other.changes and other.replaces == ["principalId"]
    # the dynamic provider host loads it by reference (this module, as for components/version_update.py)
    loaded = dill.loads(base64.b64decode(serialize_provider(provider)))
    assert type(loaded) is access._DeployerAccessProvider


def test_both_dynamic_providers_load_in_a_fresh_interpreter_started_in_the_project() -> None:
    """What the dynamic provider host does with the pickled providers (``pulumi.dynamic.__main__``:
    ``dill.loads`` of ``__provider``): no closure or state of the process that pickled them is needed,
    only ``components`` importable from the project directory. (That the engine starts the host there is
    read, not run: serves-a's report; no Pulumi engine runs here.)"""
    blobs = [serialize_provider(access._DeployerAccessProvider()), serialize_provider(_AzAksUpgrade())]
    load = (
        "import base64, sys, dill\n"
        "for line in sys.stdin.read().split():\n"
        "    p = dill.loads(base64.b64decode(line))\n"
        "    print(type(p).__module__ + '.' + type(p).__name__, callable(p.create))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", load], input="\n".join(blobs), cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [
        "components.deployer_access._DeployerAccessProvider True",
        "components.version_update._AzAksUpgrade True",
    ]


def _access(run: ProgramRun) -> Any:
    (res,) = [r for r in by_type(run, DYNAMIC) if r.name.endswith("-deployer-access")]
    return res


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_no_kubernetes_object_before_the_deployers_rights(stack: str) -> None:
    run = planned(stack)[1]
    wait = _access(run)
    assert wait.inputs["kubeconfig"] == MASK  # a secret, in state and plan
    checks = {(c["verb"], c["resource"]) for c in wait.inputs["checks"]}
    assert ("create", "namespaces") in checks and ("patch", "serviceaccounts") in checks
    admin = one(run, "azure-native:authorization:RoleAssignment", "platform-cluster-deployer-cluster-admin")
    cluster = one(run, "azure-native:containerservice:ManagedCluster")
    assert {admin.urn, cluster.urn} <= set(wait.options["dependencies"])
    (provider,) = by_type(run, PROVIDER)
    assert wait.urn in provider.options["dependencies"]
    graph = dependencies_of(run)
    objects = [r for r in run.resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(objects) > 10
    late = [r.name for r in objects if not reaches(graph, r.urn, {wait.urn})]
    assert late == []


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_the_keda_operator_restarts_after_its_service_account_gets_the_client_id(stack: str) -> None:
    run = planned(stack)[1]
    (patch,) = by_type(run, "kubernetes:apps/v1:DeploymentPatch")
    assert patch.inputs["metadata"] == {"name": "keda-operator", "namespace": "kube-system"}
    annotations = patch.inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {RESTART_ANNOTATION: f"client-id-of-id-llm-{stack}-keda"}
    (sa,) = by_type(run, "kubernetes:core/v1:ServiceAccountPatch")
    assert (
        sa.inputs["metadata"]["annotations"]["azure.workload.identity/client-id"]
        == annotations[RESTART_ANNOTATION]
    )
    assert sa.urn in patch.options["dependsOn"]  # annotated first, then restarted
    assert "spec" not in str(patch.inputs["spec"]["template"]["metadata"])  # nothing else is owned
    assert set(patch.inputs["spec"]) == {"template"} and set(patch.inputs["spec"]["template"]) == {"metadata"}


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_every_patch_of_the_plan_is_among_the_deployers_checks(stack: str) -> None:
    # a patch of an object the program does not own (the AKS add-ons' in kube-system) waits for the right
    # to patch it: the KEDA operator's restart (DeploymentPatch) and its ServiceAccount (realcluster.md 5)
    checks = {(c.verb, c.resource, c.group, c.namespace) for c in DEPLOYER_CHECKS}
    patches = [
        r
        for r in planned(stack)[1].resources
        if r.type.startswith("kubernetes:") and r.type.endswith("Patch")
    ]
    assert len(patches) >= 2
    for r in patches:
        api, kind = r.type.split(":")[1:]
        group = api.rsplit("/", 1)[0] if api.count("/") else ""
        resource = kind.removesuffix("Patch").lower() + "s"
        needed = ("patch", resource, "" if group == "core" else group, r.inputs["metadata"]["namespace"])
        assert needed in checks, (r.name, needed)
