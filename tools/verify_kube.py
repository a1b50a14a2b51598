"""The I/O of ``python -m tools.verify``: the official ``kubernetes`` client (the only module that imports
it, so the offline plan never loads it), a port-forward for the models' HTTP API, and the ``pulumi`` and
``az`` CLIs for the stack's outputs, its kubeconfig and the budget. Everything it returns is plain data
for the pure checks in ``tools/verify_checks.py``.

Reaching a model through a port-forward to its pod (the kubelet's stream, not the pod network) is what
the models' NetworkPolicy allows: it admits only the inference namespace, the KEDA interceptor and the
metrics scraper, so a Service proxy through the API server would be refused.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config
from kubernetes.stream import portforward

from components.kubeconfig import with_azure_cli_login

Obj = dict[str, Any]
HTTP_TIMEOUT_SECONDS = 120


def stack_outputs(stack: str) -> Obj:
    """``pulumi stack output --json`` of the stack (secrets stay masked: none is needed)."""
    out = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--stack", stack], check=True, capture_output=True, text=True
    )
    result: Obj = json.loads(out.stdout)
    return result


def fetch_kubeconfig(resource_group: str, cluster: str) -> Path:
    """The cluster's Entra ID kubeconfig from ``az aks get-credentials``, with kubelogin set to the Azure
    CLI login as the program sets it up (components/kubeconfig.py)."""
    raw = Path(tempfile.mkdtemp(prefix="aks-llm-verify-")) / "kubeconfig"
    subprocess.run(
        [
            "az",
            "aks",
            "get-credentials",
            "-g",
            resource_group,
            "-n",
            cluster,
            "--format",
            "exec",
            "--file",
            str(raw),
        ],
        check=True,
        capture_output=True,
    )
    raw.write_text(with_azure_cli_login(raw.read_text()))
    raw.chmod(0o600)
    return raw


def budget_exists(resource_group: str, name: str) -> bool:
    """Whether Azure has the budget (needs an Azure login with Cost Management Reader on the group)."""
    done = subprocess.run(
        ["az", "consumption", "budget", "show", "--budget-name", name, "--resource-group", resource_group],
        capture_output=True,
    )
    return done.returncode == 0


class Cluster:
    """Read-only views of the cluster, as plain dicts."""

    def __init__(self, kubeconfig: Path | None, context: str | None = None) -> None:
        self.api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig) if kubeconfig else None, context=context
        )
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.autoscaling = client.AutoscalingV2Api(self.api)

    def _plain(self, obj: Any) -> Obj:
        result: Obj = self.api.sanitize_for_serialization(obj)
        return result

    def nodes(self) -> list[Obj]:
        return [self._plain(n) for n in self.core.list_node().items]

    def pods(self, namespace: str | None = None) -> list[Obj]:
        items = (
            self.core.list_namespaced_pod(namespace).items
            if namespace
            else self.core.list_pod_for_all_namespaces().items
        )
        return [self._plain(p) for p in items]

    def scaled_objects(self, namespace: str) -> list[Obj]:
        found = cast(
            Obj, self.custom.list_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "scaledobjects")
        )
        return list(found.get("items") or [])

    def secret(self, namespace: str, name: str) -> Obj | None:
        try:
            return self._plain(self.core.read_namespaced_secret(name, namespace))
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    def hpa_replicas(self, namespace: str, name: str) -> tuple[int, int] | None:
        """(current, desired) replicas of an HPA (KEDA's keda-hpa-<model>), None when absent."""
        try:
            hpa = self.autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        status = hpa.status
        if status is None:
            return 0, 0
        return int(status.current_replicas or 0), int(status.desired_replicas or 0)

    def http(
        self, namespace: str, pod: str, port: int, request: bytes, timeout: float = HTTP_TIMEOUT_SECONDS
    ) -> list[tuple[float, bytes]]:
        """Send one HTTP/1.0 request to a pod's port through a port-forward; the response's bytes as
        they arrived, each with the seconds since the request was sent."""
        forward = portforward(
            self.core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port)
        )
        sock = forward.socket(port)
        sock.setblocking(True)
        chunks: list[tuple[float, bytes]] = []
        try:
            start = time.monotonic()
            sock.sendall(request)
            while time.monotonic() - start < timeout:
                readable, _, _ = select.select([sock], [], [], 1.0)
                if not readable:
                    continue
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append((time.monotonic() - start, data))
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return chunks
