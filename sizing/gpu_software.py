"""Which NVIDIA software a stack's GPU nodes need (pure, no Pulumi): the GPU drivers its pools and NAP
NodePools ask for, and the nodes KAITO (chart) provisions itself.

Operator pools and NodePools (``driver: operator``) get the NVIDIA GPU Operator; managed-driver ones
(``driver: managed``) and KAITO's own nodes get NVIDIA's device plugin. The Helm values and config text
of that software are rendered by ``renderers/gpu_software.py``.
"""

from __future__ import annotations

from config.schema import StackConfig
from facts.platform import LABEL_DRIVER, LABEL_OPERATOR_OPERANDS
from sizing.nap import nap_pools


def drivers_in_stack(config: StackConfig) -> set[str]:
    """The GPU drivers the stack's GPU pools and NAP NodePools ask for."""
    return {p.driver for p in config.gpu_pools} | {p.driver for p in nap_pools(config)}


def operator_pools_present(config: StackConfig) -> bool:
    return "operator" in drivers_in_stack(config)


def managed_pools_present(config: StackConfig) -> bool:
    return "managed" in drivers_in_stack(config)


def kaito_provisions_nodes(config: StackConfig) -> bool:
    """KAITO via its chart provisions GPU nodes of its own (gpu-provisioner or Karpenter) for a model."""
    kaito = config.addons.kaito
    return (
        kaito.mode == "helm"
        and kaito.node_provisioner in ("gpu-provisioner", "karpenter")
        and any(m.runtime == "kaito" for m in config.models)
    )


def kaito_node_labels(config: StackConfig) -> dict[str, str]:
    """Labels KAITO (chart) puts on the nodes it provisions, beside its selector (it labels its nodes
    with ``resource.labelSelector``): they get the AKS-installed driver, so they are managed-driver
    nodes: the program's device plugin serves them (the KAITO chart's own is off, it would land on
    every node: ``nvidia-device-plugin-ds.yaml`` has no affinity value) and the GPU Operator stays off."""
    if not kaito_provisions_nodes(config):
        return {}
    return {LABEL_DRIVER: "managed", LABEL_OPERATOR_OPERANDS: "false"}
