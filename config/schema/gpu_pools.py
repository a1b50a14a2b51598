"""GPU capacity from autoscaled agent pools (``aks-llm:gpuPools``) and the declared vCPU quota
(``aks-llm:quota``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.errors import KeyValueError
from config.schema.base import MAX_USD_PER_HOUR, PoolName, Purpose, Strict, Surge, Zones


class OnDemandCapacity(Strict):
    """Autoscaled on-demand nodes of a pool (min 0 = scale to zero)."""

    min: Annotated[int, Field(ge=0, le=1000)] = 0
    """Fewest nodes the autoscaler keeps (0: scale to zero)."""
    max: Annotated[int, Field(ge=1, le=1000)]
    """Most nodes the autoscaler adds (at least 1: AKS autoscaling needs it; drop the section instead). Not
    below `min`."""

    @model_validator(mode="after")
    def _order(self) -> OnDemandCapacity:
        if self.min > self.max:
            raise KeyValueError("min", f"min ({self.min}) is larger than max ({self.max})")
        return self


class SpotCapacity(OnDemandCapacity):
    """Spot nodes of a pool; maxPrice -1 pays up to the on-demand price."""

    max_price: Annotated[float, Field(ge=-1.0, le=MAX_USD_PER_HOUR)] = -1.0
    """Highest price paid per spot node, in USD per hour; `-1` pays up to the on-demand price. Otherwise a
    positive price."""

    @model_validator(mode="after")
    def _price(self) -> SpotCapacity:
        if self.max_price != -1.0 and self.max_price <= 0:
            raise KeyValueError(
                "maxPrice", f"maxPrice must be -1 (up to on-demand) or a positive USD/h, got {self.max_price}"
            )
        return self


class TimeSlicingConfig(Strict):
    """GPU time-slicing (GPU Operator only; never with MIG; on serving pools only when accepted)."""

    replicas: Annotated[int, Field(ge=2, le=16)]
    """How many pods share each GPU (GPU Operator time-slicing)."""
    accept_noisy_neighbours: bool = False
    """Allow time-slicing on a serving pool, where requests on a shared GPU slow each other down."""


class GpuPoolConfig(Strict):
    """One GPU pool; becomes an on-demand and/or a spot agent pool."""

    name: PoolName
    """Pool name (up to 10 lowercase letters/digits; the spot pool adds `sp`, AKS allows 12). Unique among
    GPU pools and NodePools."""
    vm_size: str
    """GPU VM size: a GPU SKU of the catalog that Azure still sells."""
    purpose: Purpose = "serving"
    """`serving` (interactive traffic) or `batch`. A serving pool adds spot only as burst above an
    on-demand floor (`onDemand.min` of at least 1)."""
    driver: Literal["managed", "operator"] = "managed"
    """GPU driver: `managed` (AKS installs it) or `operator` (the NVIDIA GPU Operator, needed for
    time-slicing); never both on one node."""
    on_demand: OnDemandCapacity | None = None
    """Autoscaled on-demand nodes of the pool. A pool needs `onDemand` and/or `spot`."""
    spot: SpotCapacity | None = None
    """Autoscaled spot nodes of the pool (evicted with 30 s notice)."""
    mig: str | None = None
    """MIG profile the pool's GPUs are cut into (e.g. `3g.40gb`): only on GPUs that have MIG, a profile of
    that GPU (with `driver: managed`, one AKS can create). A MIG pool keeps `min` of at least 1 per
    capacity type: the autoscaler cannot scale MIG nodes up from zero."""
    time_slicing: TimeSlicingConfig | None = None
    """GPU time-slicing: driver `operator` only, never with `mig`, on serving pools only with
    `acceptNoisyNeighbours`; vLLM models cannot run on a time-sliced pool."""
    zones: Zones = Field(default_factory=list)
    """Availability zones of the pool's nodes, each listed once (empty: no zone pinning)."""
    os_disk_size_gb: Annotated[int, Field(ge=64, le=2048)] = 256
    """OS disk size of each node, in GB."""
    scale_down_mode: Literal["Delete", "Deallocate"] = "Delete"
    """What scale-down does to the pool's nodes: `Delete` or `Deallocate` (stopped, faster to restart:
    the OS disk and its cached images are kept and billed; the temporary NVMe is wiped). Spot pools
    accept it too (AKS since Scale-down Mode's GA); evicted spot VMs are still deleted."""
    max_surge: Surge = "10%"
    """Extra on-demand nodes during an upgrade: a percentage (`10%`) or a node count (`1`). Refused when
    set on a spot-only pool: AKS refuses max surge on spot pools."""

    @model_validator(mode="after")
    def _capacity(self) -> GpuPoolConfig:
        if self.on_demand is None and self.spot is None:
            raise ValueError("a GPU pool needs onDemand and/or spot capacity")
        if self.on_demand is None and "max_surge" in self.model_fields_set:
            raise KeyValueError(
                "maxSurge",
                f"maxSurge {self.max_surge!r} on a spot-only pool: AKS refuses max surge on spot pools "
                "(the setting applies to the on-demand pool only); remove maxSurge or add onDemand",
            )
        return self


class QuotaConfig(Strict):
    """Declared regional vCPU quota per VM family (and the low-priority/spot quota)."""

    families: dict[str, Annotated[int, Field(ge=0, le=10_000_000)]] = Field(default_factory=dict)
    """Regional vCPU quota per Azure VM family (e.g. `standardNCADSA100v4Family: 96`), checked against the
    pools' maximum plus upgrade surge, NodePool limits and KAITO's own nodes. Names must be families of
    catalog SKUs; an undeclared family is not checked."""
    spot_vcpus: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    """Regional low-priority (spot) vCPU quota, checked against the spot capacity's maximum; unset: not
    checked."""
