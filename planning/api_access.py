"""The API server's reachability at deployment: an authorised-IP list made only of RFC 5737
documentation ranges. The plan and a preview warn (``documentation_ranges_warning``); ``pulumi up``
refuses (``documentation_ranges_at_deploy``, called by ``stack.loader.deployment_problems``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from config.errors import Problem
from config.schema import StackConfig

# --- API server reachability at deployment (a separate rule from the plan-time ones above) -------------
# RFC 5737 reserves these three IPv4 ranges for documentation: no host ever sends from them, so an
# authorised-IP list made only of them lets nobody reach the API server, the runner deploying included
# (the Kubernetes objects of `pulumi up` then fail after the cluster exists). The committed stacks carry
# them as placeholders: planning and `pulumi preview` warn, `pulumi up` refuses. Python's ipaddress calls
# them non-global like private ranges (is_global False), so they are matched exactly here, not by that.
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
API_ACCESS_DOC = "docs/api-access.md"


def documentation_cidrs(cidrs: Iterable[str]) -> list[tuple[int, str]]:
    """(index, CIDR) of each CIDR that lies inside an RFC 5737 documentation range (a wider range that
    also holds real addresses is not one)."""
    found = []
    for i, text in enumerate(cidrs):
        network = ipaddress.ip_network(text, strict=False)
        if isinstance(network, ipaddress.IPv4Network) and any(
            network.subnet_of(doc) for doc in DOCUMENTATION_NETWORKS
        ):
            found.append((i, text))
    return found


def documentation_ranges(config: StackConfig) -> list[tuple[int, str]]:
    """The documentation ranges among ``cluster.apiServer.authorizedIpRanges``."""
    return documentation_cidrs(config.cluster.api_server.authorized_ip_ranges)


def documentation_ranges_at_deploy(config: StackConfig) -> list[Problem]:
    """The refusal of ``pulumi up`` (not a preview): one problem per documentation range."""
    return [
        Problem(
            f"cluster.apiServer.authorizedIpRanges[{i}]",
            text,
            "an RFC 5737 documentation range (a placeholder): no real address is in it, so nobody could "
            "reach the API server, the machine running this `pulumi up` included, and every Kubernetes "
            "object would fail after the cluster is created",
            "the public egress CIDRs of the deploying runner (a self-hosted runner with a fixed egress) and "
            f"of your operators, or privateCluster: true with a runner inside the network ({API_ACCESS_DOC})",
        )
        for i, text in documentation_ranges(config)
    ]


def documentation_ranges_warning(config: StackConfig) -> str | None:
    """The warning of a preview and of the offline plan, or None."""
    found = documentation_ranges(config)
    if not found:
        return None
    listed = ", ".join(text for _, text in found)
    return (
        f"cluster.apiServer.authorizedIpRanges holds RFC 5737 documentation ranges ({listed}): placeholders "
        "nobody sends from. `pulumi up` refuses them: the API server would be unreachable, the deploying "
        "runner included. Set your runner's and operators' egress CIDRs, or privateCluster: true "
        f"({API_ACCESS_DOC})."
    )
