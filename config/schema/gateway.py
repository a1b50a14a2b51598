"""The gateway in front of the models (``aks-llm:gateway``; issue 23: reach the models).

A separate block: the internal gateway (AKS Istio add-on, Gateway API), its TLS certificate from Key
Vault and the consumers whose API keys the program generates.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from config.schema.base import DnsLabel, K8sName, Strict

Hostname = Annotated[
    str, Field(pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
]
KeyVaultObjectName = Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{1,127}$")]
IstioRevision = Annotated[str, Field(pattern=r"^asm-1-[0-9]{1,2}$")]


class GatewayConfig(Strict):
    """The gateway in front of the models: one HTTPS base URL, a route per model, API keys."""

    hostname: Hostname
    """The host name applications call (`https://<hostname>/v1`), e.g. `llm.internal.example.com`; the
    certificate must cover it, and your DNS must resolve it to the gateway's load balancer address."""
    certificate_name: KeyVaultObjectName
    """Name of the Key Vault certificate (in the stack's vault) the gateway terminates TLS with; create or
    import it before `pulumi up` (its private key must be exportable)."""
    internal: bool = True
    """An internal load balancer (a private address in `virtualNetwork.subnets.gateway`, else the node
    subnet). `false`: a public address."""
    namespace: K8sName = "llm-gateway"
    """Namespace of the Gateway, its routes and its pods."""
    istio_revision: IstioRevision = "asm-1-30"
    """The AKS Istio add-on revision (it must support `cluster.kubernetesVersion` and be before its end of
    life on the plan date: `facts/istio.py`)."""
    api_keys: bool = True
    """Require an API key on every model call (vLLM's `--api-key`; keys generated per consumer and kept in
    Key Vault). `false`: anonymous calls (only with reasons, e.g. a throwaway dev stack)."""
    consumers: list[DnsLabel] = Field(default_factory=list)
    """The applications that call the models: each gets its own key, stored as Key Vault secret
    `model-key-<consumer>`. The async queue's worker gets one of its own."""
    exclude_models: list[DnsLabel] = Field(default_factory=list)
    """Models kept off the gateway (reached in the cluster only, through their Service)."""
