"""Apply a configured Kubernetes version change to an existing cluster as a separate update.

The ManagedCluster ignores ``kubernetesVersion`` (and the inline system pool's
``orchestratorVersion``) after creation: with an auto-upgrade channel on, AKS moves the cluster past
the configured version, and resending the old version would be a downgrade AKS refuses. This is the
Pulumi equivalent of the AVM AKS module's ``azapi_update_resource "kubernetes_version"``
(Azure/terraform-azurerm-avm-res-containerservice-managedcluster ``main.tf`` lines 59-82 @ 895e0c63:
``ignore_changes = [body.properties.agentPoolProfiles, body.properties.kubernetesVersion]`` on the
cluster, and a separate update that sends only ``kubernetesVersion``).

pulumi-azure-native has no partial-update resource (a second ``ManagedCluster`` on the same name would
be a second owner of one object, and ``resources:Resource`` PUTs a whole body), so the update is a
small dynamic provider (pulumi SDK only) that runs the Azure CLI (already needed by kubelogin's
azurecli login). It acts only on a *change* of the configured version. The commands and their order
come from the plan (``sizing.upgrade_path``: control plane alone, then the system pool, the on-demand
pools, the spot pools) and are this resource's inputs, so the offline plan shows them; each runs only
while its target is still below the wanted version (``az aks show`` / ``az aks nodepool show``), so
nothing is ever downgraded and a rerun after a failure continues where it stopped.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

TYPE_TOKEN = "pulumi-python:dynamic:Resource"  # what the engine (and the offline plan) sees


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def needs_upgrade(current: str, wanted: str) -> bool:
    """Whether ``current`` (e.g. ``1.36.3``) is below ``wanted`` (``1.37`` or ``1.37.1``); comparing
    only as many parts as ``wanted`` gives, so ``1.37.2`` satisfies ``1.37``."""
    w = _key(wanted)
    return _key(current)[: len(w)] < w


def _current_version(group: str, cluster: str, pool: str | None) -> str | None:
    """The control plane's (``pool`` None) or one agent pool's running version; None for a pool that
    does not exist (yet: it is created after this update, on the new version)."""
    if pool is None:
        show = ["az", "aks", "show", "-g", group, "-n", cluster, "-o", "json"]
        field = "currentKubernetesVersion"
    else:
        show = ["az", "aks", "nodepool", "show", "-g", group, "--cluster-name", cluster, "-n", pool]
        show += ["-o", "json"]
        field = "currentOrchestratorVersion"
    done = subprocess.run(show, check=pool is None, capture_output=True, text=True)
    if pool is not None and done.returncode != 0:
        return None
    return str(json.loads(done.stdout).get(field) or "0")


class _AzAksUpgrade(ResourceProvider):
    """create: nothing (the cluster was just created on the version); update: the planned steps."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['resourceGroupName']}/{props['clusterName']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("kubernetesVersion",) if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        group, name, wanted = news["resourceGroupName"], news["clusterName"], news["kubernetesVersion"]
        for step in news["steps"]:
            current = _current_version(group, name, step.get("pool"))
            if current is not None and needs_upgrade(current, wanted):
                subprocess.run([str(a) for a in step["command"]], check=True)
        return UpdateResult(outs=news)


class KubernetesVersionUpdate(pulumi.dynamic.Resource):
    """The cluster's configured Kubernetes version, applied step by step when it changes."""

    def __init__(
        self,
        name: str,
        *,
        resource_group_name: pulumi.Input[str],
        cluster_name: pulumi.Input[str],
        kubernetes_version: str,
        steps: Sequence[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "resourceGroupName": resource_group_name,
            "clusterName": cluster_name,
            "kubernetesVersion": kubernetes_version,
            "steps": [dict(s) for s in steps],
        }
        super().__init__(_AzAksUpgrade(), name, props, opts)
