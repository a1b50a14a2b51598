"""GPU capacity: one AKS agent pool per GPU pool and capacity type, and the NVIDIA software on them
(the GPU Operator for operator pools, NVIDIA's device plugin for managed-driver pools)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.containerservice as cs
from pulumi_kubernetes.core.v1 import ConfigMap, Namespace
from pulumi_kubernetes.helm.v3 import Release, ReleaseArgs, RepositoryOptsArgs
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from components.child_names import Component
from facts.namespaces import DEVICE_PLUGIN_NAMESPACE, GPU_OPERATOR_NAMESPACE
from facts.tags import k8s_labels
from renderers.gpu_software import (
    DEVICE_PLUGIN_CHART,
    DEVICE_PLUGIN_REPO,
    DEVICE_PLUGIN_VERSION,
    GPU_OPERATOR_CHART,
    GPU_OPERATOR_VERSION,
    MIG_CONFIG_MAP,
    NVIDIA_HELM_REPO,
    SHARING_CONFIG_MAP,
)
from sizing.agent_pools import PRIORITY_EXPANDER_CONFIG_MAP, AgentPoolSpec

# Fields AKS fixes when a node pool is created: a change replaces the pool instead of sending an update
# AKS refuses (or accepts without touching the existing nodes). Each with its source, or "assumption".
CREATE_ONLY_FIELDS: dict[str, str] = {
    "scaleSetPriority": "AKS docs spot-node-pool.md line 39: can't change ScaleSetPriority after creation",
    "spotMaxPrice": "AKS docs spot-node-pool.md line 39: can't change SpotMaxPrice after creation",
    "scaleSetEvictionPolicy": "AKS docs spot-node-pool.md line 68 (eviction policy set at creation)",
    "osDiskSizeGB": "AKS docs concepts-storage.md (OS disk size is set when the pool is created)",
    "vmSize": "AVM agentpool module modules/agentpool/locals.tf lines 2-4: replace_triggers_refs "
    "properties.vmSize (Azure/terraform-azurerm-avm-res-containerservice-managedcluster @ 895e0c63)",
    "gpuInstanceProfile": "facts gpu-skus.md (AKS MIG docs): the profile cannot be changed after creation",
    "availabilityZones": "assumption: the zones of a VM scale set are chosen at creation",
    "osDiskType": "assumption: managed vs ephemeral OS disk is a property of the VMSS model at creation",
    "vnetSubnetID": "assumption: a VM scale set's NICs join their subnet at creation (az aks nodepool "
    "update has no subnet option); Karpenter likewise refuses a changed vnetSubnetID "
    "(node-auto-provisioning-networking.md line 46)",
    "gpuProfile": "assumption: AKS installs (or skips) the GPU driver when a node is provisioned; "
    "an update would leave existing nodes on the old driver",
}
REPLACE_ON_CHANGES = sorted(CREATE_ONLY_FIELDS)
# The autoscaler owns the node count; the version update (components.version_update) owns the pool's
# Kubernetes version: after `pulumi up --refresh` the stored orchestratorVersion is the live one, and
# ignoring it keeps the program (which never sets it) from sending the pool without it.
AGENT_POOL_IGNORE_CHANGES = ["count", "orchestratorVersion"]
# Replacement strategy: delete before replace, keeping the agent pool's name. A name derived from the
# create-only fields (so the new pool comes up before the old one goes) does not fit: AKS allows 12
# characters and pool names take up to 10 + "sp"; it would rename (replace) every existing pool once,
# and both pools would need GPU quota at the same time, which the quota check sizes for one. The gap
# this leaves on a serving pool is made visible instead: `--diff` reports **replace** with the fields,
# and docs/gpu-pools.md describes the gap-free migration (a second pool under a new name, then move models).
DELETE_BEFORE_REPLACE = True


@dataclass(frozen=True)
class GpuPoolsArgs:
    """The agent pool specs and what to install on them, all derived from the validated config."""

    specs: Sequence[AgentPoolSpec]
    resource_group_name: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    tags: Mapping[str, str]
    operator_values: Mapping[str, Any] | None = None
    mig_parted_config: str | None = None
    sharing_config: Mapping[str, str] | None = None
    device_plugin_values: Mapping[str, Any] | None = None
    # The cluster's last write: the pools follow it one after another (AKS refuses overlapping writes).
    after: pulumi.Resource | None = None
    priority_expander: str | None = None  # the priorities of the cluster-autoscaler priority expander
    node_subnet_id: pulumi.Input[str] | None = None  # the stack's own node subnet (issue 23)


class GpuPools(Component):
    """GPU agent pools (tainted, labelled, autoscaled, optionally spot or MIG) and their NVIDIA software."""

    def __init__(self, name: str, args: GpuPoolsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:GpuPools", name, opts)
        self.agent_pools: dict[str, cs.AgentPool] = {}
        previous = args.after
        for spec in args.specs:
            previous = self.agent_pools[spec.name] = self._agent_pool(spec, args, previous)
        if args.priority_expander is not None:
            self.priority_expander = self._priority_expander(args, args.priority_expander)
        self.releases: dict[str, Release] = {}
        if args.operator_values is not None:
            self.releases["gpu-operator"] = self._gpu_operator(args, dict(args.operator_values))
        if args.device_plugin_values is not None:
            self.releases["nvidia-device-plugin"] = self._device_plugin(args, dict(args.device_plugin_values))
        self.register_outputs({"agentPools": sorted(self.agent_pools)})

    def _priority_expander(self, args: GpuPoolsArgs, priorities: str) -> ConfigMap:
        """The ConfigMap the AKS cluster autoscaler reads with ``expander: priority``: name and namespace
        fixed by the autoscaler (kubernetes/autoscaler cluster-autoscaler/expander/priority/readme.md)."""
        return ConfigMap(
            self.child_name("cluster-autoscaler-priority-expander"),
            metadata=ObjectMetaArgs(
                name=PRIORITY_EXPANDER_CONFIG_MAP,
                namespace="kube-system",
                labels=k8s_labels("cluster-autoscaler-priority-expander", "autoscaling"),
            ),
            data={"priorities": priorities},
            opts=self.child_opts(was="cluster-autoscaler-priority-expander"),
        )

    def _agent_pool(
        self, spec: AgentPoolSpec, args: GpuPoolsArgs, after: pulumi.Resource | None
    ) -> cs.AgentPool:
        spot = spec.capacity == "spot"
        return cs.AgentPool(
            self.child_name(spec.name),
            agent_pool_name=spec.name,
            resource_group_name=args.resource_group_name,
            resource_name_=args.cluster_name,
            mode=cs.AgentPoolMode.USER,
            type=cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
            os_type=cs.OSType.LINUX,
            # Ubuntu: the OS the GPU Operator's driver containers support on AKS (and AKS's GPU default).
            os_sku=cs.OSSKU.UBUNTU,
            vm_size=spec.sku.name,
            os_disk_size_gb=spec.pool.os_disk_size_gb,
            # Deallocated nodes keep their disk; ephemeral OS disks cannot be deallocated.
            os_disk_type=cs.OSDiskType.MANAGED if spec.scale_down_mode == "Deallocate" else None,
            availability_zones=[str(z) for z in spec.pool.zones] or None,
            enable_auto_scaling=True,
            count=spec.min_count,  # initial size; the autoscaler owns it afterwards (ignore_changes)
            min_count=spec.min_count,
            max_count=spec.max_count,
            scale_down_mode=cs.ScaleDownMode(spec.scale_down_mode),
            scale_set_priority=cs.ScaleSetPriority.SPOT if spot else cs.ScaleSetPriority.REGULAR,
            scale_set_eviction_policy=cs.ScaleSetEvictionPolicy.DELETE if spot else None,
            spot_max_price=spec.spot_max_price,
            gpu_profile=cs.GPUProfileArgs(driver=cs.GPUDriver(spec.gpu_driver)),
            gpu_instance_profile=cs.GPUInstanceProfile(spec.gpu_instance_profile)
            if spec.gpu_instance_profile
            else None,
            node_labels=dict(spec.labels),
            node_taints=list(spec.taints),
            upgrade_settings=cs.AgentPoolUpgradeSettingsArgs(
                max_surge=spec.max_surge, drain_timeout_in_minutes=spec.drain_timeout_minutes
            )
            if spec.max_surge
            else None,
            vnet_subnet_id=args.node_subnet_id,
            tags=dict(args.tags),
            opts=self.child_opts(
                was=spec.name,
                ignore_changes=AGENT_POOL_IGNORE_CHANGES,
                replace_on_changes=REPLACE_ON_CHANGES,
                delete_before_replace=DELETE_BEFORE_REPLACE,
                depends_on=[after] if after is not None else None,
            ),
        )

    def _namespace(self, name: str) -> Namespace:
        # Both install privileged host agents (driver, toolkit, device plugin): Pod Security "privileged".
        labels = {**k8s_labels(name, "gpu-software"), "pod-security.kubernetes.io/enforce": "privileged"}
        return Namespace(
            self.child_name(name),
            metadata=ObjectMetaArgs(name=name, labels=labels),
            opts=self.child_opts(was=name),
        )

    def _gpu_operator(self, args: GpuPoolsArgs, values: dict[str, Any]) -> Release:
        namespace = self._namespace(GPU_OPERATOR_NAMESPACE)
        config_maps: list[pulumi.Resource] = []
        if args.mig_parted_config is not None:
            config_maps.append(
                ConfigMap(
                    self.child_name("mig-parted-config"),
                    metadata=ObjectMetaArgs(
                        name=MIG_CONFIG_MAP,
                        namespace=namespace.metadata.name,
                        labels=k8s_labels("mig-manager", "gpu-software"),
                    ),
                    data={"config.yaml": args.mig_parted_config},
                    opts=self.child_opts(was="mig-parted-config"),
                )
            )
        if args.sharing_config is not None:
            config_maps.append(
                ConfigMap(
                    self.child_name("device-plugin-config"),
                    metadata=ObjectMetaArgs(
                        name=SHARING_CONFIG_MAP,
                        namespace=namespace.metadata.name,
                        labels=k8s_labels("device-plugin", "gpu-software"),
                    ),
                    data=dict(args.sharing_config),
                    opts=self.child_opts(was="device-plugin-config"),
                )
            )
        return Release(
            self.child_name("gpu-operator"),
            ReleaseArgs(
                name="gpu-operator",
                chart=GPU_OPERATOR_CHART,
                version=GPU_OPERATOR_VERSION,
                repository_opts=RepositoryOptsArgs(repo=NVIDIA_HELM_REPO),
                namespace=namespace.metadata.name,
                values=values,
            ),
            opts=self.child_opts(was="gpu-operator", depends_on=[namespace, *config_maps]),
        )

    def _device_plugin(self, args: GpuPoolsArgs, values: dict[str, Any]) -> Release:
        namespace = self._namespace(DEVICE_PLUGIN_NAMESPACE)
        return Release(
            self.child_name("nvidia-device-plugin"),
            ReleaseArgs(
                name="nvidia-device-plugin",
                chart=DEVICE_PLUGIN_CHART,
                version=DEVICE_PLUGIN_VERSION,
                repository_opts=RepositoryOptsArgs(repo=DEVICE_PLUGIN_REPO),
                namespace=namespace.metadata.name,
                values=values,
            ),
            opts=self.child_opts(was="nvidia-device-plugin", depends_on=[namespace]),
        )
