"""Node Auto Provisioning capacity: the Karpenter AKSNodeClasses and NodePools of a NAP stack.

AKS runs Karpenter itself (``nodeProvisioningProfile.mode = Auto`` on the cluster, see
``components.cluster``); this component only declares what it may provision. The NVIDIA software on
those nodes (GPU Operator or device plugin) comes from ``components.gpu_pools``, selected by the
same node labels as on agent pools.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from components.child_names import Component
from renderers.nap import nodeclass_manifest, nodepool_manifest
from sizing.nap import NodeClassSpec, NodePoolSpec


@dataclass(frozen=True)
class NodeProvisioningArgs:
    """The NodePool and AKSNodeClass specs, derived from the validated config."""

    node_classes: Sequence[NodeClassSpec]
    node_pools: Sequence[NodePoolSpec]
    tags: Mapping[str, str]


def _custom_resource(name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> CustomResource:
    meta = manifest["metadata"]
    return CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=ObjectMetaArgs(name=meta["name"], labels=dict(meta["labels"])),
        spec=manifest["spec"],
        opts=opts,
    )


class NodeProvisioning(Component):
    """Karpenter AKSNodeClasses and NodePools (cluster-scoped custom resources) for GPU capacity."""

    def __init__(
        self, name: str, args: NodeProvisioningArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aksllm:platform:NodeProvisioning", name, opts)
        self.node_classes = {
            spec.name: _custom_resource(
                self.child_name(f"nodeclass-{spec.name}"),
                nodeclass_manifest(spec, dict(args.tags)),
                self.child_opts(was=f"nodeclass-{spec.name}"),
            )
            for spec in args.node_classes
        }
        self.node_pools = {
            spec.name: _custom_resource(
                self.child_name(f"nodepool-{spec.name}"),
                nodepool_manifest(spec),
                self.child_opts(was=f"nodepool-{spec.name}", depends_on=[self.node_classes[spec.pool.name]]),
            )
            for spec in args.node_pools
        }
        self.register_outputs(
            {"nodePools": sorted(self.node_pools), "nodeClasses": sorted(self.node_classes)}
        )
