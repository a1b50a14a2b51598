"""Wait, on the first ``pulumi up``, until the Kubernetes API lets the deployer do what the program does.

The deployer's "Azure Kubernetes Service RBAC Cluster Admin" assignment (``components/cluster.py``) is
created in the same run as the cluster; a new Azure role assignment takes up to five minutes to reach the
API server's authoriser (AKS docs ``entra-id-authorization.md``; ``../shared/facts/pitfalls.md`` 34), and
until then every Kubernetes object is refused with Forbidden, which pulumi-kubernetes does not retry.

The Kubernetes provider depends on this resource, so no Kubernetes object is sent before it is created;
creating it polls SelfSubjectAccessReviews (``authorization.k8s.io/v1``, which every authenticated user may
create) for a few representative rights until all are allowed, or fails after ``TIMEOUT_SECONDS`` naming
what is still denied. Azure RBAC propagates an assignment as a whole, so a few checks stand for the role.

Why a dynamic provider (like ``components/version_update.py``), not a fixed sleep or pulumi-command: a poll
ends as soon as the rights arrive (often at once: an admin group, a re-run) and says what is missing when
they never do; it needs no new dependency, only what the Kubernetes provider already runs (the
kubeconfig's kubelogin exec plugin) and the standard library. It acts on create only: later runs do not
poll again unless the deployer or the cluster changes (a replacement). On preview nothing is polled.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

TIMEOUT_SECONDS = 600  # twice the documented propagation time
INTERVAL_SECONDS = 10
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True)
class AccessCheck:
    """One SelfSubjectAccessReview: may the caller ``verb`` the ``resource`` of ``group``?"""

    verb: str
    resource: str
    group: str = ""
    namespace: str = ""

    def review(self) -> dict[str, Any]:
        attributes = {"verb": self.verb, "group": self.group, "resource": self.resource}
        if self.namespace:
            attributes["namespace"] = self.namespace
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }

    def text(self) -> str:
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {what}" + (f" in {self.namespace}" if self.namespace else "")


# What the program's first objects need: namespaces (cluster scope), the charts' CRDs and cluster roles,
# and the patches of the KEDA add-on's ServiceAccount and operator Deployment (its restart,
# components/keda.py) in kube-system. tests/test_first_up.py: every patch of the plan has its check.
DEPLOYER_CHECKS: tuple[AccessCheck, ...] = (
    AccessCheck("create", "namespaces"),
    AccessCheck("create", "customresourcedefinitions", "apiextensions.k8s.io"),
    AccessCheck("create", "clusterroles", "rbac.authorization.k8s.io"),
    AccessCheck("patch", "serviceaccounts", namespace="kube-system"),
    AccessCheck("patch", "deployments", "apps", namespace="kube-system"),
)


class AccessTimeout(Exception):
    """The deployer's rights did not arrive in time: what is still denied, and the last answer."""


def wait_for_access(
    ask: Callable[[AccessCheck], bool],
    checks: Sequence[AccessCheck],
    *,
    timeout: float = TIMEOUT_SECONDS,
    interval: float = INTERVAL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Poll ``ask`` until every check is allowed; the seconds waited. An answer that raises (API server
    not reachable yet, token refused) counts as "not yet" and is reported if time runs out."""
    start = clock()
    pending = list(checks)
    last_error = ""
    while True:
        still = []
        for check in pending:
            try:
                allowed = ask(check)
            except Exception as exc:
                allowed, last_error = False, f"{type(exc).__name__}: {exc}"
            if not allowed:
                still.append(check)
        pending = still
        waited = clock() - start
        if not pending:
            return waited
        if waited + interval > timeout:
            denied = ", ".join(c.text() for c in pending)
            raise AccessTimeout(
                f"after {waited:.0f} s the Kubernetes API still refuses the deployer: {denied}"
                + (f" (last error: {last_error})" if last_error else "")
                + ". A new Azure role assignment takes up to 5 minutes to reach the API server; check that "
                "the deployer holds Azure Kubernetes Service RBAC Cluster Admin on the cluster (or is in "
                "cluster.adminGroupObjectIds) and that its address is in cluster.apiServer.authorizedIpRanges"
            )
        sleep(interval)


@dataclass(frozen=True)
class KubeEndpoint:
    """Where the API server is and how to authenticate, from a kubeconfig with an exec user."""

    server: str
    ca_pem: str  # empty: the system's trust store
    exec_command: str
    exec_args: tuple[str, ...]
    exec_env: Mapping[str, str]


def endpoint_of(kubeconfig: str) -> KubeEndpoint:
    """The current context's server, CA and exec credential plugin."""
    doc = yaml.safe_load(kubeconfig)
    current = doc.get("current-context") or doc["contexts"][0]["name"]
    context = next(c["context"] for c in doc["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in doc["users"] if u["name"] == context["user"])
    exec_ = user.get("exec") or {}
    if not exec_.get("command"):
        raise ValueError("the kubeconfig's user has no exec credential plugin (expected kubelogin)")
    ca = cluster.get("certificate-authority-data")
    return KubeEndpoint(
        server=str(cluster["server"]).rstrip("/"),
        ca_pem=base64.b64decode(ca).decode() if ca else "",
        exec_command=str(exec_["command"]),
        exec_args=tuple(str(a) for a in exec_.get("args") or ()),
        exec_env={str(e["name"]): str(e["value"]) for e in exec_.get("env") or ()},
    )


def exec_token(endpoint: KubeEndpoint, run: Callable[..., Any] = subprocess.run) -> str:
    """A bearer token from the exec plugin (an ExecCredential on stdout), as kubectl would get it."""
    result = run(
        [endpoint.exec_command, *endpoint.exec_args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **endpoint.exec_env},
    )
    token: str = json.loads(result.stdout)["status"]["token"]
    return token


def _opener(endpoint: KubeEndpoint) -> Callable[[urllib.request.Request], Any]:
    context = ssl.create_default_context()
    if endpoint.ca_pem:
        context = ssl.create_default_context(cadata=endpoint.ca_pem)

    def open_(request: urllib.request.Request) -> Any:
        return urllib.request.urlopen(request, timeout=30, context=context)

    return open_


def access_asker(
    endpoint: KubeEndpoint,
    token: Callable[[], str],
    open_: Callable[[urllib.request.Request], Any] | None = None,
) -> Callable[[AccessCheck], bool]:
    """``ask`` for ``wait_for_access``: POST one SelfSubjectAccessReview, read ``status.allowed``."""
    if not endpoint.server.startswith("https://"):
        raise ValueError(f"refusing a non-HTTPS API server: {endpoint.server}")
    send = open_ or _opener(endpoint)

    def ask(check: AccessCheck) -> bool:
        request = urllib.request.Request(
            endpoint.server + SSAR_PATH,
            data=json.dumps(check.review()).encode(),
            headers={"Authorization": f"Bearer {token()}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with send(request) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):  # the token or the review itself is not accepted yet
                return False
            raise
        return bool((body.get("status") or {}).get("allowed"))

    return ask


class _DeployerAccessProvider(ResourceProvider):
    """create: poll until the deployer's rights arrive; nothing else to do, ever."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        endpoint = endpoint_of(props["kubeconfig"])
        cached: dict[str, str] = {}

        def token() -> str:  # one token for the whole poll (kubelogin's live for about an hour)
            if "t" not in cached:
                cached["t"] = exec_token(endpoint)
            return cached["t"]

        checks = [AccessCheck(**c) for c in props["checks"]]
        waited = wait_for_access(access_asker(endpoint, token), checks)
        outs = {k: v for k, v in props.items() if k != "kubeconfig"}
        return CreateResult(
            id_=f"{props['clusterId']}/{props['principalId']}",
            outs={**outs, "waitedSeconds": round(waited)},
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Another deployer or another cluster: poll again. The kubeconfig text is not compared.
        changed = [k for k in ("clusterId", "principalId", "checks") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)


class DeployerAccess(pulumi.dynamic.Resource):
    """Created once the Kubernetes API allows the deployer ``DEPLOYER_CHECKS``; the Kubernetes provider
    depends on it (``components/cluster.py``)."""

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: pulumi.Input[str],
        cluster_id: pulumi.Input[str],
        principal_id: pulumi.Input[str],
        checks: Sequence[AccessCheck] = DEPLOYER_CHECKS,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "kubeconfig": pulumi.Output.secret(kubeconfig),
            "clusterId": cluster_id,
            "principalId": principal_id,
            "checks": [
                {"verb": c.verb, "resource": c.resource, "group": c.group, "namespace": c.namespace}
                for c in checks
            ],
        }
        super().__init__(_DeployerAccessProvider(), name, props, opts)
