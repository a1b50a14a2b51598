"""The order in which a Kubernetes version change reaches the cluster (pure, no Pulumi).

AKS refuses upgrading the control plane and the node pools together while a spot pool exists ("You
can't upgrade the control plane and node pools at the same time. You must upgrade them separately or
remove the Spot node pool", MicrosoftDocs/azure-aks-docs ``articles/aks/spot-node-pool.md``,
Limitations), and a spot pool gets no surge nodes and no drain ("AKS internally issues a cordon and
an eviction notice, but no drain is applied. There are no surge nodes available for Spot node pool
upgrades", same file, "Upgrade a Spot node pool"). So every stack upgrades the same way, spot pool
or not:

1. the control plane alone (``az aks upgrade --control-plane-only``);
2. the system pool, then each on-demand GPU pool, with the max surge and drain timeout the program
   sets on that pool (``az aks nodepool upgrade --max-surge --drain-timeout``: Azure/azure-cli
   ``src/azure-cli/azure/cli/command_modules/acs/_params.py``, ``argument_context('aks nodepool
   upgrade')``, read at commit 0088c878);
3. each spot pool last, without surge or drain settings: its replicas have moved to the upgraded
   on-demand nodes (the priority expander prefers on-demand) before its nodes are cordoned.

``components.version_update`` runs these commands in order, each only when its target is still below
the wanted version (a rerun after a failure continues where it stopped; nothing is ever downgraded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from config.schema import StackConfig
from facts.platform import SYSTEM_POOL_NAME
from sizing.agent_pools import AgentPoolSpec

CONTROL_PLANE = "control plane"


@dataclass(frozen=True)
class UpgradeStep:
    """One target of a version change: the control plane, or one agent pool."""

    target: Literal["controlPlane", "pool"]
    pool: str | None = None  # the agent pool's name (target "pool")
    capacity: Literal["on-demand", "spot"] | None = None
    max_surge: str | None = None
    drain_timeout_minutes: int | None = None

    @property
    def label(self) -> str:
        return CONTROL_PLANE if self.pool is None else f"pool {self.pool} ({self.capacity})"

    def command(self, resource_group: str, cluster: str, version: str) -> list[str]:
        """The Azure CLI command of this step (argv, never through a shell)."""
        if self.pool is None:
            return [
                "az", "aks", "upgrade", "-g", resource_group, "-n", cluster,
                "--kubernetes-version", version, "--control-plane-only", "--yes",
            ]  # fmt: skip
        argv = [
            "az", "aks", "nodepool", "upgrade", "-g", resource_group, "--cluster-name", cluster,
            "-n", self.pool, "--kubernetes-version", version,
        ]  # fmt: skip
        if self.max_surge is not None:
            argv += ["--max-surge", self.max_surge]
        if self.drain_timeout_minutes is not None:
            argv += ["--drain-timeout", str(self.drain_timeout_minutes)]
        return [*argv, "--yes"]

    def row(self, resource_group: str, cluster: str, version: str) -> dict[str, object]:
        """JSON-ready for the dynamic resource's inputs and the plan."""
        return {
            "target": self.target,
            "pool": self.pool,
            "command": self.command(resource_group, cluster, version),
        }


def upgrade_steps(config: StackConfig, specs: list[AgentPoolSpec]) -> list[UpgradeStep]:
    """Control plane, system pool, on-demand pools, spot pools: the order a version change follows."""
    system = config.cluster.system_pool
    steps = [
        UpgradeStep("controlPlane"),
        UpgradeStep("pool", SYSTEM_POOL_NAME, "on-demand", max_surge=system.max_surge),
    ]
    on_demand = [s for s in specs if s.capacity == "on-demand"]
    spot = [s for s in specs if s.capacity == "spot"]
    steps += [
        UpgradeStep("pool", s.name, "on-demand", s.max_surge, s.drain_timeout_minutes) for s in on_demand
    ]
    # AKS gives spot pools no surge nodes and no drain: no settings to pass.
    steps += [UpgradeStep("pool", s.name, "spot") for s in spot]
    return steps
