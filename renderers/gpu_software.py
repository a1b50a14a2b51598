"""The NVIDIA software on GPU nodes, as Helm values and config text built from the stack config (pure,
no Pulumi). Which software a stack needs is decided in ``sizing/gpu_software.py``.

- Operator pools (``driver: operator``; AKS ``gpuProfile.driver=None``) get the NVIDIA GPU Operator:
  driver, container toolkit, device plugin, GFD, DCGM exporter and the MIG manager.
- Managed-driver pools (``driver: managed``; AKS installs the driver) get only NVIDIA's device plugin,
  which AKS documents as the user's job; it is what advertises ``nvidia.com/gpu`` (or MIG slices).
- NAP NodePools (``nodeProvisioning.nodePools``) are served the same way: ``driver: operator`` ones
  (AKSNodeClass ``gpu.mode: None``) by the GPU Operator, ``driver: managed`` ones (``gpu.mode:
  Driver``) by the device plugin; their nodes carry the same ``aks-llm/gpu-driver`` and operand labels.

The two never meet on a node: managed pools carry ``nvidia.com/gpu.deploy.operands=false`` (the
operator then schedules none of its operands there) and the standalone device plugin is pinned to
managed pools by node affinity.
"""

from __future__ import annotations

from typing import Any

import yaml

from config import versions
from config.catalog import Catalog
from config.schema import StackConfig
from facts.platform import (
    GPU_RESOURCE,
    GPU_TAINT,
    LABEL_DRIVER,
    SPOT_TAINT,
    system_pool_selector,
    system_pool_toleration,
)
from sizing.gpu_software import kaito_provisions_nodes, managed_pools_present, operator_pools_present
from sizing.node_selection import mig_config_name, mig_profile

# NVIDIA GPU Operator. v26.7.0 is the release tag named by the ClusterPolicy CRD snapshot this
# project validates against (NVIDIA/gpu-operator, nvidia.com_clusterpolicies.yaml; chart
# gpu-operator-v26.7.0.tgz on NGC, chart version and appVersion v26.7.0).
GPU_OPERATOR_CHART = "gpu-operator"
GPU_OPERATOR_VERSION = versions.chart("gpu-operator").version
NVIDIA_HELM_REPO = versions.chart("gpu-operator").repository
MIG_CONFIG_MAP = "aks-llm-mig-parted-config"  # key config.yaml, read by the MIG manager
SHARING_CONFIG_MAP = "aks-llm-device-plugin-config"  # one key per time-sliced pool + "default"
SHARING_DEFAULT_KEY = "default"

# NVIDIA k8s-device-plugin, for managed-driver pools. 0.19.3 is the device plugin the GPU Operator
# v26.7.0 itself deploys (its ClusterPolicy default devicePlugin version v0.19.3).
DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
DEVICE_PLUGIN_VERSION = versions.chart("nvidia-device-plugin").version
DEVICE_PLUGIN_REPO = versions.chart("nvidia-device-plugin").repository

MIG_STRATEGY = "mixed"  # pods request nvidia.com/mig-<profile>; whole GPUs stay nvidia.com/gpu
SYSTEM_NODE_SELECTOR = system_pool_selector()
# The system pool is tainted CriticalAddonsOnly=true:NoSchedule and is the only CPU pool: the
# operator's controller and NFD's master/GC run there (GPU pools may be scaled to zero).
SYSTEM_TOLERATIONS = [system_pool_toleration()]
# Chart default for GPU operands, kept when the list is replaced (Helm replaces lists).
NVIDIA_GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}


def gpu_node_tolerations() -> list[dict[str, str]]:
    """Tolerations of every NVIDIA daemonset that must run on GPU nodes (on-demand and spot)."""
    return [NVIDIA_GPU_TOLERATION, GPU_TAINT.toleration(), SPOT_TAINT.toleration()]


def mig_parted_config(config: StackConfig, catalog: Catalog) -> str | None:
    """The MIG manager's config (mig-parted ``config.yaml``) for the operator pools' MIG profiles."""
    configs: dict[str, Any] = {"all-disabled": [{"devices": "all", "mig-enabled": False}]}
    for pool in config.gpu_pools:
        sku = catalog.skus.get(pool.vm_size)
        profile = mig_profile(pool, sku) if sku and pool.driver == "operator" else None
        if profile is not None:
            configs[mig_config_name(profile)] = [
                {
                    "devices": "all",
                    "mig-enabled": True,
                    "mig-devices": {profile.name: profile.instances_per_gpu},
                }
            ]
    if len(configs) == 1:
        return None
    return yaml.safe_dump({"version": "v1", "mig-configs": configs}, sort_keys=False)


def sharing_config(config: StackConfig) -> dict[str, str] | None:
    """Device plugin configs (ConfigMap data): one per time-sliced operator pool, plus a default.

    Nodes pick theirs with the ``nvidia.com/device-plugin.config=<pool>`` label their pool carries.
    """
    data = {SHARING_DEFAULT_KEY: yaml.safe_dump({"version": "v1"})}
    for pool in config.gpu_pools:
        if pool.driver == "operator" and pool.time_slicing is not None:
            sharing = {
                "timeSlicing": {"resources": [{"name": GPU_RESOURCE, "replicas": pool.time_slicing.replicas}]}
            }
            data[pool.name] = yaml.safe_dump({"version": "v1", "sharing": sharing}, sort_keys=False)
    return data if len(data) > 1 else None


def operator_values(config: StackConfig, catalog: Catalog) -> dict[str, Any] | None:
    """Helm values of the GPU Operator release; None when no pool asks for the operator's driver.

    Top-level keys other than ``operator``, ``nfd`` and ``node-feature-discovery`` are rendered by
    the chart into the ``ClusterPolicy`` spec (see ``cluster_policy_sections``).
    """
    if not operator_pools_present(config):
        return None
    values: dict[str, Any] = {
        # The chart defaults the operator and validator image tags to .Chart.AppVersion
        # (deployments/gpu-operator/templates/_helpers.tpl lines 72 and 86, clusterpolicy.yaml line 64
        # @v26.7.0; the git tree says appVersion "main-latest"): pinned here.
        "operator": {
            "nodeSelector": SYSTEM_NODE_SELECTOR,
            "tolerations": SYSTEM_TOLERATIONS,
            "version": GPU_OPERATOR_VERSION,
        },
        "validator": {"version": GPU_OPERATOR_VERSION},
        "nfd": {"enabled": True},
        "node-feature-discovery": {
            "master": {"nodeSelector": SYSTEM_NODE_SELECTOR, "tolerations": SYSTEM_TOLERATIONS},
            "gc": {"nodeSelector": SYSTEM_NODE_SELECTOR, "tolerations": SYSTEM_TOLERATIONS},
            "worker": {"tolerations": gpu_node_tolerations()},
        },
        "daemonsets": {"tolerations": gpu_node_tolerations(), "priorityClassName": "system-node-critical"},
        "driver": {"enabled": True},
        "toolkit": {"enabled": True},
        "mig": {"strategy": MIG_STRATEGY},
        "migManager": {"enabled": True},
        "dcgmExporter": {"enabled": True},
        "devicePlugin": {"enabled": True},
    }
    if mig_parted_config(config, catalog) is not None:
        values["migManager"]["config"] = {"name": MIG_CONFIG_MAP, "default": "all-disabled"}
    if sharing_config(config) is not None:
        values["devicePlugin"]["config"] = {"name": SHARING_CONFIG_MAP, "default": SHARING_DEFAULT_KEY}
    return values


CHART_ONLY_KEYS = frozenset({"operator", "nfd", "node-feature-discovery"})


def cluster_policy_sections(values: dict[str, Any]) -> dict[str, Any]:
    """The part of the operator's values the chart copies into ``ClusterPolicy.spec``, by section."""
    return {k: v for k, v in values.items() if k not in CHART_ONLY_KEYS}


# KAITO's NodeClaims under nodeProvisioner: karpenter carry this taint (the KAITO chart's own device
# plugin tolerates it: charts/kaito/workspace templates/nvidia-device-plugin-ds.yaml lines 54-58 @v0.12.0).
KAITO_KARPENTER_TAINT_KEY = "karpenter.kaito.sh/workspace"


def kaito_gfd_values(config: StackConfig) -> dict[str, Any]:
    """Values of the gpu-feature-discovery 0.17.4 subchart of the KAITO chart 0.12.0.

    It is installed whenever ``disableNodeAutoProvisioning`` is on (the subchart's condition is that
    feature gate, ``Chart.yaml`` of charts/kaito/workspace), so no value removes it. It runs only on
    managed-driver nodes, where no other GFD runs (the device plugin release has ``gfd.enabled:
    false``; the GPU Operator runs its own GFD on operator nodes); its NFD is off when the GPU
    Operator's NFD runs (the subchart's ``nfd`` condition is ``nfd.enabled,gfd.enabled``; its
    values.yaml: "Set to false if Node Feature Discovery is already installed ... via the NVIDIA GPU
    Operator"), and otherwise is the cluster's only NFD, its master and GC on the system pool."""
    only_managed = {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": LABEL_DRIVER, "operator": "In", "values": ["managed"]}]}
        ]
    }
    nfd: dict[str, Any] = {"enabled": not operator_pools_present(config)}
    if nfd["enabled"]:
        system = {"nodeSelector": SYSTEM_NODE_SELECTOR, "tolerations": SYSTEM_TOLERATIONS}
        nfd.update({"master": system, "gc": system, "worker": {"tolerations": gpu_node_tolerations()}})
    return {
        # Replaces the chart's NFD-label node affinity (a list: Helm replaces it whole).
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": only_managed}},
        "tolerations": gpu_node_tolerations(),
        "nfd": nfd,
    }


def device_plugin_values(config: StackConfig) -> dict[str, Any] | None:
    """Helm values of NVIDIA's device plugin for managed-driver pools and the nodes KAITO (chart)
    provisions; None without either."""
    kaito_nodes = kaito_provisions_nodes(config)
    if not managed_pools_present(config) and not kaito_nodes:
        return None
    tolerations = gpu_node_tolerations()
    if kaito_nodes and config.addons.kaito.node_provisioner == "karpenter":
        tolerations.append({"key": KAITO_KARPENTER_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"})
    only_managed = {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": LABEL_DRIVER, "operator": "In", "values": ["managed"]}]}
        ]
    }
    return {
        "migStrategy": MIG_STRATEGY,
        # Replaces the chart's NFD-label affinity (AKS has no NFD): managed-driver nodes only.
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": only_managed}},
        "nodeSelector": {LABEL_DRIVER: "managed"},
        "tolerations": tolerations,
        "priorityClassName": "system-node-critical",
        "gfd": {"enabled": False},
    }
