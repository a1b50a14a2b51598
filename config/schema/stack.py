"""The whole stack: ``StackConfig`` assembles every concern's block under the project's config namespace."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr

from config.catalog import closest_names
from config.regions import AZURE_REGIONS
from config.schema.addons import AddonsConfig
from config.schema.alerts import AlertsConfig
from config.schema.base import Strict, Tags
from config.schema.budget import BudgetConfig
from config.schema.cluster import ClusterConfig
from config.schema.cost import CostComparisonConfig, PricesConfig
from config.schema.gateway import GatewayConfig
from config.schema.gpu_pools import GpuPoolConfig, QuotaConfig
from config.schema.models import InferenceConfig, ModelConfig
from config.schema.network import VirtualNetworkConfig
from config.schema.node_provisioning import NodeProvisioningConfig
from config.schema.simulation import SimulationConfig
from config.schema.weights import ModelWeightsConfig


def _non_empty_secret(value: SecretStr) -> SecretStr:
    """Accepted: a secret that holds something (an empty or blank token is no token)."""
    if not value.get_secret_value().strip():
        raise ValueError("the secret is empty: no Hugging Face token is set")
    return value


def _region(value: str) -> str:
    """Accepted: an Azure region name of `config/regions.py`."""
    if value not in AZURE_REGIONS:
        near = closest_names(value, sorted(AZURE_REGIONS))
        hint = f"; did you mean {near[0]}?" if near else ""
        raise ValueError(f"{value!r} is not an Azure region name (config/regions.py){hint}")
    return value


class NamingConfig(Strict):
    """How the globally unique names (Key Vault, container registry, Service Bus) end."""

    suffix: Annotated[str, Field(pattern=r"^[a-z0-9]{4,8}$")] | None = None
    """Pins their suffix (4-8 lowercase letters/digits). Unset: a random 6-character suffix created on
    the stack's first `pulumi up` and kept in its state. A stack created before the random suffix keeps
    its names by setting this to the 4 characters its Key Vault name ends in (see docs/day-two.md)."""


class StackConfig(Strict):
    """The project's config namespace of one stack."""

    location: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{2,30}$"), AfterValidator(_region)]
    """Azure region name, e.g. `swedencentral` (one of `config/regions.py`). Required."""
    prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")] = "llm"
    """Naming prefix (2-10 lowercase letters/digits); Azure names are `<kind>-<prefix>-<stack>`."""
    tags: Tags = Field(default_factory=dict)
    """Extra tags on every Azure resource (at most 47; Azure tag rules); the program adds `project`,
    `stack` and `managed-by`."""
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    """The AKS managed cluster."""
    gpu_pools: list[GpuPoolConfig] = Field(default_factory=list)
    """Autoscaled GPU agent pools (`nodeProvisioning.mode: pools`)."""
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    """Declared regional vCPU quota, checked by the plan."""
    models: list[ModelConfig] = Field(default_factory=list)
    """The inference services."""
    prices: PricesConfig = Field(default_factory=PricesConfig)
    """Overrides of the catalog's dated price table (e.g. negotiated rates)."""
    hf_token: Annotated[SecretStr, AfterValidator(_non_empty_secret)] | None = None
    """Hugging Face token for gated models, only as a secret: `pulumi config set --secret aks-llm:hfToken
    hf_...`; a plain value is refused and the value is never shown."""
    cost_comparison: CostComparisonConfig | None = None
    """A per-token API to compare self-hosting with (unset: no break-even)."""
    budget: BudgetConfig | None = None
    """Monthly Consumption budget with e-mail alerts (unset: none)."""
    naming: NamingConfig = Field(default_factory=NamingConfig)
    """The suffix of the globally unique names (unset: random, kept in state)."""
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    """Cluster add-ons and the services around them."""
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    """Namespace and ServiceAccount of the model services."""
    node_provisioning: NodeProvisioningConfig = Field(default_factory=NodeProvisioningConfig)
    """Where GPU nodes come from: autoscaled pools or Node Auto Provisioning."""
    virtual_network: VirtualNetworkConfig | None = None
    """The cluster's own VNet (created or adopted by id). Unset: AKS's managed VNet, with no private
    endpoints and no internal gateway subnet."""
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    """Alert rules and the action group they notify."""
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    """The traffic-day simulation (`python -m tools.simulate`): demand shape, accepted findings."""
    model_weights: ModelWeightsConfig | None = None
    """Model weights in Blob, streamed at start (unset: each vLLM model reads its Azure Files share)."""
    gateway: GatewayConfig | None = None
    """The gateway in front of the models (issue 23; unset: models reached in the cluster only)."""
