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

from config.agent_pools import AgentPoolSpec
from config.gpu_software import (
    DEVICE_PLUGIN_CHART,
    DEVICE_PLUGIN_REPO,
    DEVICE_PLUGIN_VERSION,
    GPU_OPERATOR_CHART,
    GPU_OPERATOR_VERSION,
    MIG_CONFIG_MAP,
    NVIDIA_HELM_REPO,
    SHARING_CONFIG_MAP,
)
from config.namespaces import DEVICE_PLUGIN_NAMESPACE, GPU_OPERATOR_NAMESPACE
from config.tags import k8s_labels

# Changing any of these on a live pool would leave its nodes as they were (AKS applies the GPU driver
# and MIG profile at node creation; priority and size are immutable): replace the pool instead, so a
# pool switched from the managed driver to the operator never keeps AKS-driver nodes under the
# operator's driver. The name stays, so the old pool is deleted first.
REPLACE_ON_CHANGES = ["gpuProfile", "gpuInstanceProfile", "scaleSetPriority", "vmSize"]


@dataclass(frozen=True)
class GpuPoolsArgs:
    """The agent pool specs and what to install on them, all derived from the validated config."""

    specs: Sequence[AgentPoolSpec]
    resource_group_name: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    tags: Mapping[str, str]
    kube_provider: pulumi.ProviderResource
    operator_values: Mapping[str, Any] | None = None
    mig_parted_config: str | None = None
    sharing_config: Mapping[str, str] | None = None
    device_plugin_values: Mapping[str, Any] | None = None


def _labels(name: str) -> dict[str, str]:
    return k8s_labels(name, "gpu-software")


class GpuPools(pulumi.ComponentResource):
    """GPU agent pools (tainted, labelled, autoscaled, optionally spot or MIG) and their NVIDIA software."""

    def __init__(self, name: str, args: GpuPoolsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:GpuPools", name, None, opts)
        self.agent_pools = {spec.name: self._agent_pool(spec, args) for spec in args.specs}
        self.releases: dict[str, Release] = {}
        if args.operator_values is not None:
            self.releases["gpu-operator"] = self._gpu_operator(args, dict(args.operator_values))
        if args.device_plugin_values is not None:
            self.releases["nvidia-device-plugin"] = self._device_plugin(args, dict(args.device_plugin_values))
        self.register_outputs({"agentPools": sorted(self.agent_pools)})

    def _agent_pool(self, spec: AgentPoolSpec, args: GpuPoolsArgs) -> cs.AgentPool:
        spot = spec.capacity == "spot"
        return cs.AgentPool(
            spec.name,
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
            upgrade_settings=cs.AgentPoolUpgradeSettingsArgs(max_surge=spec.max_surge)
            if spec.max_surge
            else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["count"],
                replace_on_changes=REPLACE_ON_CHANGES,
                delete_before_replace=True,
            ),
        )

    def _namespace(self, name: str, k8s: pulumi.ResourceOptions) -> Namespace:
        # Both install privileged host agents (driver, toolkit, device plugin): Pod Security "privileged".
        labels = {**_labels(name), "pod-security.kubernetes.io/enforce": "privileged"}
        return Namespace(name, metadata=ObjectMetaArgs(name=name, labels=labels), opts=k8s)

    def _gpu_operator(self, args: GpuPoolsArgs, values: dict[str, Any]) -> Release:
        k8s = pulumi.ResourceOptions(parent=self, provider=args.kube_provider)
        namespace = self._namespace(GPU_OPERATOR_NAMESPACE, k8s)
        config_maps: list[pulumi.Resource] = []
        if args.mig_parted_config is not None:
            config_maps.append(
                ConfigMap(
                    "mig-parted-config",
                    metadata=ObjectMetaArgs(
                        name=MIG_CONFIG_MAP, namespace=namespace.metadata.name, labels=_labels("mig-manager")
                    ),
                    data={"config.yaml": args.mig_parted_config},
                    opts=k8s,
                )
            )
        if args.sharing_config is not None:
            config_maps.append(
                ConfigMap(
                    "device-plugin-config",
                    metadata=ObjectMetaArgs(
                        name=SHARING_CONFIG_MAP,
                        namespace=namespace.metadata.name,
                        labels=_labels("device-plugin"),
                    ),
                    data=dict(args.sharing_config),
                    opts=k8s,
                )
            )
        return Release(
            "gpu-operator",
            ReleaseArgs(
                name="gpu-operator",
                chart=GPU_OPERATOR_CHART,
                version=GPU_OPERATOR_VERSION,
                repository_opts=RepositoryOptsArgs(repo=NVIDIA_HELM_REPO),
                namespace=namespace.metadata.name,
                values=values,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.kube_provider, depends_on=[namespace, *config_maps]
            ),
        )

    def _device_plugin(self, args: GpuPoolsArgs, values: dict[str, Any]) -> Release:
        k8s = pulumi.ResourceOptions(parent=self, provider=args.kube_provider)
        namespace = self._namespace(DEVICE_PLUGIN_NAMESPACE, k8s)
        return Release(
            "nvidia-device-plugin",
            ReleaseArgs(
                name="nvidia-device-plugin",
                chart=DEVICE_PLUGIN_CHART,
                version=DEVICE_PLUGIN_VERSION,
                repository_opts=RepositoryOptsArgs(repo=DEVICE_PLUGIN_REPO),
                namespace=namespace.metadata.name,
                values=values,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.kube_provider, depends_on=[namespace]),
        )
