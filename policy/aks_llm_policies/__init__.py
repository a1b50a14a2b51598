"""aks-llm guardrails: the Pulumi policies of GPU inference platforms on AKS.

``ALL_POLICIES`` is what ``policy/__main__.py`` serves; tests call each policy's ``validate`` directly
(constructing ``PolicyPack`` would start the policy server and block).
"""

from __future__ import annotations

from pulumi_policy import Policy

from .capacity_policies import (
    budget_alert_exists,
    dev_gpu_pools_scale_to_zero,
    gpu_pools_tainted,
    serving_not_spot_only,
)
from .workload_policies import (
    containers_have_resource_limits,
    gpu_workloads_target_gpu_pools,
    images_pinned,
    no_plaintext_secrets,
)

PACK_NAME = "aks-llm-guardrails"

ALL_POLICIES: list[Policy] = [
    gpu_pools_tainted,
    gpu_workloads_target_gpu_pools,
    serving_not_spot_only,
    images_pinned,
    dev_gpu_pools_scale_to_zero,
    budget_alert_exists,
    no_plaintext_secrets,
    containers_have_resource_limits,
]

__all__ = [
    "ALL_POLICIES",
    "PACK_NAME",
    "budget_alert_exists",
    "containers_have_resource_limits",
    "dev_gpu_pools_scale_to_zero",
    "gpu_pools_tainted",
    "gpu_workloads_target_gpu_pools",
    "images_pinned",
    "no_plaintext_secrets",
    "serving_not_spot_only",
]
