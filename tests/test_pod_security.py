"""Every pod template the committed stacks render, init containers included, meets the Pod Security
Standards' Restricted profile (the inference namespace enforces baseline and warns and audits restricted).

The checks are the profile's controls as kubernetes.io/docs/concepts/security/pod-security-standards lists
them (Baseline and Restricted tables), written out here: the admission plugin itself
(k8s.io/pod-security-admission) is Go and cannot run in this suite. What only the kubelet adds (the
workload identity webhook's projected token volume) is of an allowed volume type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import planned
from tools.plan import kubernetes_manifests

# Restricted "Volume Types": only these sources
ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}


def pod_specs(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pod spec of a workload manifest (none for other kinds)."""
    spec = manifest.get("spec") or {}
    if manifest["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}:
        yield spec["template"]["spec"]
    elif manifest["kind"] == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]


def container_violations(c: dict[str, Any], psc: dict[str, Any]) -> list[str]:
    """What Restricted refuses in one container, ``psc`` being the pod's security context."""
    out: list[str] = []
    sc = c.get("securityContext") or {}
    where = c["name"]
    caps = sc.get("capabilities") or {}
    if sc.get("privileged"):
        out.append(f"{where}: privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        out.append(f"{where}: allowPrivilegeEscalation is not false")
    if "ALL" not in (caps.get("drop") or []):
        out.append(f"{where}: capabilities do not drop ALL")
    if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        out.append(f"{where}: adds {caps['add']}")
    if not (sc.get("runAsNonRoot") if "runAsNonRoot" in sc else psc.get("runAsNonRoot")):
        out.append(f"{where}: runAsNonRoot is not true")
    if sc.get("runAsUser", psc.get("runAsUser")) == 0:
        out.append(f"{where}: runAsUser 0")
    seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
    if seccomp not in SECCOMP_OK:
        out.append(f"{where}: seccompProfile {seccomp}")
    if any(p.get("hostPort") for p in c.get("ports") or []):
        out.append(f"{where}: hostPort")
    if sc.get("procMount", "Default") != "Default":
        out.append(f"{where}: procMount {sc['procMount']}")
    return out


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What the Restricted profile (with Baseline under it) refuses in ``pod``, one line each."""
    out = [f"{key}: true" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]
    for volume in pod.get("volumes") or []:
        source = set(volume) - {"name"}
        if not source <= ALLOWED_VOLUMES:
            out.append(f"volume {volume['name']}: {sorted(source)}")
    psc = pod.get("securityContext") or {}
    if (psc.get("runAsUser") or 1) == 0:
        out.append("pod runAsUser 0")
    for c in [*(pod.get("initContainers") or []), *pod["containers"]]:
        out.extend(container_violations(c, psc))
    return out


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_every_rendered_pod_meets_the_restricted_profile(stack: str) -> None:
    _, run = planned(stack)
    checked = []
    for manifest in kubernetes_manifests(run.resources):
        for pod in pod_specs(manifest):
            name = (
                f"{manifest['kind']} {manifest['metadata'].get('namespace')}/{manifest['metadata']['name']}"
            )
            assert restricted_violations(pod) == [], name
            checked.append((name, len(pod.get("initContainers") or [])))
    # the seeding Jobs and the Blob-streaming Deployments (with their wait-for-weights) are among them
    assert any(name.startswith("Job ") and inits == 2 for name, inits in checked), checked
    assert any(name.startswith("Deployment ") and inits == 1 for name, inits in checked), checked


def test_the_check_refuses_what_restricted_refuses() -> None:
    good = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        "initContainers": [
            {
                "name": "wait",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
        "containers": [
            {
                "name": "main",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }
    assert restricted_violations(good) == []
    bad = {
        **good,
        "securityContext": {},
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        "initContainers": [{"name": "wait", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}],
    }
    assert restricted_violations(bad) == [
        "volume host: ['hostPath']",
        "wait: allowPrivilegeEscalation is not false",
        "wait: capabilities do not drop ALL",
        "wait: adds ['NET_ADMIN']",
        "wait: runAsNonRoot is not true",
        "wait: seccompProfile None",
        "main: runAsNonRoot is not true",
        "main: seccompProfile None",
    ]
