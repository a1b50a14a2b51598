"""Platform facts about nodes: the labels and taints of the pools, the GPU resource names (one home each).

The program (``sizing.node_selection`` and everything that places pods) reads them here; the policy
pack, which does not import the program, reads the same values from
``policy/aks_llm_policies/platform_facts.json``, generated from ``policy_facts()``
(``python -m tools.policy_facts``; a test fails when it is stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

Capacity = Literal["on-demand", "spot"]

LABEL_ACCELERATOR = "accelerator"
LABEL_POOL = "aks-llm/gpu-pool"  # the logical pool: shared by its on-demand and spot agent pools
LABEL_SKU = "aks-llm/gpu-sku"
LABEL_CAPACITY = "aks-llm/capacity-type"
LABEL_PURPOSE = "aks-llm/purpose"
LABEL_DRIVER = "aks-llm/gpu-driver"
# NVIDIA GPU Operator per-node switches (controllers/state_manager.go of NVIDIA/gpu-operator):
# "false" removes every nvidia.com/gpu.deploy.* label, so no operand (driver, toolkit, device
# plugin, GFD, DCGM, validator, MIG manager) is scheduled on the node.
LABEL_OPERATOR_OPERANDS = "nvidia.com/gpu.deploy.operands"
LABEL_MIG_CONFIG = "nvidia.com/mig.config"  # MIG manager: the mig-parted config to apply
LABEL_DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"  # device plugin: the config to use

GPU_RESOURCE = "nvidia.com/gpu"
# Karpenter's well-known label on every node it provisions (karpenter-provider-azure
# pkg/apis/v1beta1/labels.go): NAP workloads pin the SKU they were sized for with it.
LABEL_NAP_SKU = "karpenter.azure.com/sku-name"


@dataclass(frozen=True)
class Taint:
    """A node taint, in AKS's ``key=value:Effect`` form or as a pod toleration."""

    key: str
    value: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"

    def aks(self) -> str:
        return f"{self.key}={self.value}:{self.effect}"

    def toleration(self) -> dict[str, str]:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


GPU_TAINT = Taint("sku", "gpu")  # the taint KAITO's GPU nodes carry too (kaito.md)
SPOT_TAINT = Taint("kubernetes.azure.com/scalesetpriority", "spot")  # AKS adds it to every spot pool

# AKS's system pool: tainted so that only critical add-ons (and what tolerates it on purpose: the KEDA
# HTTP add-on, the queue worker, the GPU Operator's controller) run there; AKS labels its nodes with
# the pool's mode (kubernetes.azure.com/mode: system).
SYSTEM_POOL_NAME = "system"  # the inline agent pool profile of the ManagedCluster
SYSTEM_POOL_TAINT = Taint("CriticalAddonsOnly", "true")
SYSTEM_POOL_SELECTOR = {"kubernetes.azure.com/mode": "system"}
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"  # the device plugin's mixed strategy: nvidia.com/mig-<profile>


class SystemToleration(TypedDict):
    key: str
    operator: str


def system_pool_toleration() -> SystemToleration:
    """What a pod needs to run on the system pool (``Exists``: any value of the taint)."""
    return {"key": SYSTEM_POOL_TAINT.key, "operator": "Exists"}


def system_pool_selector() -> dict[str, str]:
    """A fresh copy of the system pool's node selector (callers may extend it)."""
    return dict(SYSTEM_POOL_SELECTOR)


def policy_facts() -> dict[str, object]:
    """The facts the policy pack checks against, as it reads them (platform_facts.json)."""
    return {
        "labels": {
            "accelerator": LABEL_ACCELERATOR,
            "pool": LABEL_POOL,
            "capacity": LABEL_CAPACITY,
            "purpose": LABEL_PURPOSE,
            "napSku": LABEL_NAP_SKU,
        },
        "taints": {
            "gpu": GPU_TAINT.aks(),
            "spot": SPOT_TAINT.aks(),
        },
        "gpuResource": GPU_RESOURCE,
        "migResourcePrefix": MIG_RESOURCE_PREFIX,
    }
