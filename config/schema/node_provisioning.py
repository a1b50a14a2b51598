"""Node Auto Provisioning, Karpenter on AKS (``aks-llm:nodeProvisioning``): NodePools, their limits and
disruption."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.cron import ACCEPTED as CRON_ACCEPTED
from config.cron import CronError, check_schedule
from config.errors import KeyValueError
from config.schema.base import PoolName, Purpose, Strict

# Patterns and enums of the Karpenter CRDs (karpenter.sh/v1 NodePool, karpenter.azure.com/v1beta1
# AKSNodeClass), so a bad value is a config error here rather than an apply-time refusal.
KarpenterDuration = Annotated[str, Field(pattern=r"^(([0-9]+(s|m|h))+|Never)$")]
BudgetNodes = Annotated[str, Field(pattern=r"^((100|[0-9]{1,2})%|[0-9]+)$")]
BudgetDuration = Annotated[str, Field(pattern=r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")]


def _budget_schedule(value: str) -> str:
    """Accepted: a cron schedule as Karpenter parses it (`config.cron`): 5 fields in UTC, or a macro."""
    try:
        check_schedule(value)
    except CronError as exc:
        raise ValueError(f"{exc}; Karpenter could not use this budget. Accepted: {CRON_ACCEPTED}") from None
    return value


BudgetSchedule = Annotated[str, AfterValidator(_budget_schedule)]
ImageFamily = Literal["Ubuntu", "Ubuntu2204", "Ubuntu2404", "AzureLinux"]
RESERVED_NODEPOOL_NAMES = {
    "default": "AKS's own AKSNodeClass and NodePool are named default",
    "kaito": "KAITO labels its NodeClaims karpenter.sh/nodepool=kaito",
}


class DisruptionBudgetConfig(Strict):
    """How many of a NodePool's nodes Karpenter may disrupt at once (optionally in a cron window)."""

    nodes: BudgetNodes
    """How many nodes Karpenter may disrupt at once: a count (`1`) or a percentage (`10%`)."""
    reasons: list[Literal["Underutilized", "Empty", "Drifted"]] | None = None
    """Disruption reasons the budget applies to (unset: all)."""
    schedule: BudgetSchedule | None = None
    """Cron schedule (or `@daily` etc.) when the budget window opens; needs `duration`."""
    duration: BudgetDuration | None = None
    """How long the window stays open (e.g. `12h`, `1h30m`); needs `schedule`."""

    @model_validator(mode="after")
    def _window(self) -> DisruptionBudgetConfig:
        if (self.schedule is None) != (self.duration is None):
            missing = "duration" if self.duration is None else "schedule"
            raise KeyValueError(
                missing, f"schedule and duration go together: a budget window needs {missing} too"
            )
        return self


class NapDisruptionConfig(Strict):
    """When Karpenter removes or replaces a NodePool's nodes.

    ``consolidationPolicy`` defaults by purpose: serving NodePools only remove empty nodes (moving a
    model server costs a cold start), batch NodePools also consolidate underutilized ones.
    """

    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] | None = None
    """Which nodes Karpenter consolidates. Unset: by purpose, `WhenEmpty` for serving (moving a model
    server costs a cold start), `WhenEmptyOrUnderutilized` for batch."""
    consolidate_after: KarpenterDuration = "10m"
    """How long a node stays empty or underutilized before consolidation (e.g. `10m`, or `Never`)."""
    budgets: Annotated[list[DisruptionBudgetConfig], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: [DisruptionBudgetConfig.model_validate({"nodes": "1"})]
    )
    """Disruption budgets (1 to 50)."""
    expire_after: KarpenterDuration = "720h"
    """Node lifetime before Karpenter replaces it (e.g. `720h`, or `Never`)."""


class NapLimitsConfig(Strict):
    """A NodePool's ceiling (Karpenter ``spec.limits``): the cost guard, checked against quota."""

    gpus: Annotated[int, Field(ge=1, le=10_000)]
    """Most GPUs the NodePool may hold (the cost guard); must hold at least one node of the sizing SKU."""
    cpu: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    """Most vCPUs the NodePool may hold (unset: no vCPU limit); checked against quota."""
    memory_gib: Annotated[int, Field(ge=1, le=100_000_000)] | None = None
    """Most memory the NodePool may hold, in GiB (unset: no memory limit)."""


class NapCapacityConfig(Strict):
    """One capacity type of a NodePool; it becomes its own Karpenter NodePool."""

    limits: NapLimitsConfig
    """The NodePool's ceiling (Karpenter `spec.limits`)."""


class NodePoolConfig(Strict):
    """GPU capacity that Karpenter provisions on demand: one NodePool per capacity type.

    ``skus`` names catalog GPU SKUs, ``skuFamilies`` catalog series such as ``NCads_A100_v4``
    (every catalog SKU of the series); the NodePool allows their union.
    """

    name: PoolName
    """NodePool name (up to 10 lowercase letters/digits); `default` and `kaito` are reserved. Unique among
    NodePools and GPU pools."""
    purpose: Purpose = "serving"
    """`serving` or `batch`; a serving NodePool uses spot only next to on-demand capacity. Sets the default
    consolidation policy."""
    skus: list[str] = Field(default_factory=list)
    """Catalog GPU SKUs the NodePool may provision (not retired)."""
    sku_families: list[str] = Field(default_factory=list)
    """Catalog GPU series (e.g. `NCads_A100_v4`): every catalog SKU of the series."""
    driver: Literal["managed", "operator"] = "managed"
    """GPU driver: `managed` (AKS installs it) or `operator` (the NVIDIA GPU Operator)."""
    image_family: ImageFamily = "Ubuntu2204"
    """Node OS image of the AKSNodeClass; NodePools with driver `operator` share one image family (the GPU
    Operator supports one OS version per cluster)."""
    os_disk_size_gb: Annotated[int, Field(ge=64, le=2048)] = 256
    """OS disk size of each node, in GB."""
    on_demand: NapCapacityConfig | None = None
    """On-demand capacity (its own Karpenter NodePool). A NodePool needs `onDemand` and/or `spot`."""
    spot: NapCapacityConfig | None = None
    """Spot capacity (its own Karpenter NodePool)."""
    disruption: NapDisruptionConfig = Field(default_factory=NapDisruptionConfig)
    """When Karpenter removes or replaces the NodePool's nodes."""
    termination_grace_period: Annotated[str, Field(pattern=r"^([0-9]+(s|m|h))+$")] | None = None
    """How long a draining node may take before its pods are deleted (Karpenter `terminationGracePeriod`,
    e.g. `15m`). Unset: 10m, raised to the longest grace period of the vLLM replicas on it."""

    @model_validator(mode="after")
    def _complete(self) -> NodePoolConfig:
        if not self.skus and not self.sku_families:
            raise ValueError("a NodePool needs skus and/or skuFamilies (catalog GPU SKUs)")
        if self.on_demand is None and self.spot is None:
            raise ValueError("a NodePool needs onDemand and/or spot capacity, each with its limits")
        if self.name in RESERVED_NODEPOOL_NAMES:
            raise KeyValueError(
                "name", f"NodePool name {self.name!r} is reserved: {RESERVED_NODEPOOL_NAMES[self.name]}"
            )
        return self


class NodeProvisioningConfig(Strict):
    """How GPU nodes come: autoscaled agent pools (``gpuPools``) or Node Auto Provisioning (NAP).

    In ``nap`` mode the cluster runs with ``nodeProvisioningProfile.mode = Auto`` and the GPU
    capacity is the ``nodePools`` below; AKS refuses autoscaled agent pools in that mode.
    ``keepDefaultNodePools`` keeps AKS's own default NodePools (general-purpose CPU nodes without
    limits); off by default, the system pool hosts the add-ons.
    """

    mode: Literal["pools", "nap"] = "pools"
    """`pools`: GPU capacity from `gpuPools` (cluster autoscaler); `nap`: from `nodePools` (Karpenter).
    Never both."""
    keep_default_node_pools: bool = False
    """Keep AKS's own default NodePools (general-purpose CPU nodes without limits) in NAP mode."""
    node_pools: list[NodePoolConfig] = Field(default_factory=list)
    """GPU NodePools (NAP mode); names unique."""

    @model_validator(mode="after")
    def _unique(self) -> NodeProvisioningConfig:
        names = [p.name for p in self.node_pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise KeyValueError("nodePools", f"nodePools: names must be unique, repeated: {', '.join(dupes)}")
        return self
