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
small dynamic provider (pulumi SDK only) that runs ``az aks upgrade`` (the Azure CLI is already needed
by kubelogin's azurecli login). It acts only on a *change* of the configured version and never
downgrades: when the cluster already runs the configured minor or a later one (auto-upgrade), it
does nothing.
"""

from __future__ import annotations

import json
import subprocess
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


class _AzAksUpgrade(ResourceProvider):
    """create: nothing (the cluster was just created on the version); update: ``az aks upgrade``."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['resourceGroupName']}/{props['clusterName']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("kubernetesVersion",) if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        group, name, wanted = news["resourceGroupName"], news["clusterName"], news["kubernetesVersion"]
        show = ["az", "aks", "show", "-g", group, "-n", name, "-o", "json"]
        current = json.loads(subprocess.run(show, check=True, capture_output=True, text=True).stdout)
        if needs_upgrade(str(current.get("currentKubernetesVersion", "0")), wanted):
            # Control plane, then every node pool (as auto-upgrade does); AKS refuses skipping a minor.
            upgrade = [
                "az",
                "aks",
                "upgrade",
                "-g",
                group,
                "-n",
                name,
                "--kubernetes-version",
                wanted,
                "--yes",
            ]
            subprocess.run(upgrade, check=True)
        return UpdateResult(outs=news)


class KubernetesVersionUpdate(pulumi.dynamic.Resource):
    """The cluster's configured Kubernetes version, applied by upgrade when it changes."""

    def __init__(
        self,
        name: str,
        *,
        resource_group_name: pulumi.Input[str],
        cluster_name: pulumi.Input[str],
        kubernetes_version: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "resourceGroupName": resource_group_name,
            "clusterName": cluster_name,
            "kubernetesVersion": kubernetes_version,
        }
        super().__init__(_AzAksUpgrade(), name, props, opts)
