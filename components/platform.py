"""The whole platform of one stack, composed from the per-concern components."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.addons import PlatformAddons, PlatformAddonsArgs, addon_features
from components.cluster import AksCluster, AksClusterArgs, ClusterFeatures
from config.catalog import load_catalog
from config.naming import Names
from config.schema import StackConfig
from config.tags import stack_tags
from sizing.deployments import plan_models


@dataclass(frozen=True)
class PlatformArgs:
    """A validated stack config and where it runs."""

    project: str
    stack: str
    config: StackConfig


class Platform(pulumi.ComponentResource):
    """Cluster, GPU capacity, add-ons, identities and model services of one stack."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aksllm:platform:Platform", name, None, opts)
        cfg = args.config
        names = Names(prefix=cfg.prefix, stack=args.stack, location=cfg.location)
        tags = stack_tags(args.project, args.stack, cfg.tags)
        self.cluster = AksCluster(
            "cluster",
            AksClusterArgs(
                names=names,
                location=cfg.location,
                tags=tags,
                settings=cfg.cluster,
                features=ClusterFeatures(**addon_features(cfg)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.addons = PlatformAddons(
            "addons",
            PlatformAddonsArgs(names=names, tags=tags, config=cfg, cluster=self.cluster),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.inference = self.addons.inference
        self.model_plans = plan_models(cfg, load_catalog())
        self.outputs: dict[str, Any] = {
            "sizing": [plan.row() for plan in self.model_plans],
            "resourceGroupName": self.cluster.resource_group_name,
            "clusterName": self.cluster.cluster_name,
            "oidcIssuerUrl": self.cluster.oidc_issuer_url,
            **self.addons.outputs,
        }
        self.register_outputs(self.outputs)
