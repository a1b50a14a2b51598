"""The AKS Istio add-on's revisions as data: which Kubernetes minors each supports and when it ends.

Read at MicrosoftDocs/azure-aks-docs @ fb060abe (2026-08-21) ``articles/aks/istio-support-policy.md``
lines 25-39 (the "Istio add-on revisions" table: revision, end of life, compatible AKS versions). End of
life is given to the month ("~Sept 2026 (expected)"); a revision counts as supported through the last
day of that month. The Gateway API ingress needs ``asm-1-26`` or later (``istio-gateway-api.md`` line
28). The table is a snapshot: a revision released after it is unknown here and refused with the list.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class IstioRevision:
    name: str
    end_of_life: tuple[int, int]  # (year, month), inclusive
    kubernetes: tuple[str, ...]  # compatible AKS minors (non-LTS column)

    def ends(self) -> date:
        year, month = self.end_of_life
        return date(year, month, calendar.monthrange(year, month)[1])


_ALL_FROM_1_29 = ("1.31", "1.32", "1.33", "1.34", "1.35", "1.36")
REVISIONS: dict[str, IstioRevision] = {
    r.name: r
    for r in (
        IstioRevision("asm-1-26", (2026, 4), ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34")),
        IstioRevision("asm-1-27", (2026, 5), ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35")),
        IstioRevision("asm-1-28", (2026, 8), ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35")),
        IstioRevision("asm-1-29", (2026, 9), _ALL_FROM_1_29),
        IstioRevision("asm-1-30", (2026, 12), ("1.32", "1.33", "1.34", "1.35", "1.36")),
    )
}
SOURCE = "AKS istio-support-policy.md (MicrosoftDocs/azure-aks-docs @ fb060abe, lines 25-39)"
# The upstream Istio release each revision runs, for the docs and the report: AKS's add-on revision
# asm-1-N runs Istio 1.N (istio-about.md); the gateway pods' labels were read at istio/istio 1.30.3.
