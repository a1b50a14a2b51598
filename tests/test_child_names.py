"""Child names follow one convention, and every existing stack keeps its resources through aliases.

``components.child_names``: a child of component ``name`` is ``f"{name}-<suffix>"``; each child carries an
alias to the name it had before. ``tests/data/urns-before-child-names/<stack>.txt`` lists the URNs the
committed stacks had before the convention (the last release's plans, made with the plan date pinned):
each must still be a URN of the plan or the alias of exactly one of its resources, or ``pulumi up`` would
delete it and create it again under the new name. A committed stack changed on purpose (a model removed)
removes its URNs from the list in the same change; once every deployed stack has run ``pulumi up`` with the
aliases, the aliases, this list and the second test can go together.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import planned

BEFORE = Path(__file__).parent / "data" / "urns-before-child-names"
# The one child outside the convention, on purpose (components/cluster.py): the Kubernetes provider, whose
# identity every Kubernetes object's state records.
KEPT = {("pulumi:providers:kubernetes", "k8s")}


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_every_child_is_named_after_its_parent(stack: str) -> None:
    run = planned(stack)[1]
    by_urn = {r.urn: r for r in run.resources}
    off = [
        (r.type, r.name, by_urn[r.parent].name)
        for r in run.resources
        if r.parent in by_urn and not r.name.startswith(by_urn[r.parent].name + "-")
    ]
    assert {(t, n) for t, n, _ in off} == KEPT, off


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_every_urn_of_the_last_release_is_kept_or_aliased_once(stack: str) -> None:
    run = planned(stack)[1]
    before = set((BEFORE / f"{stack}.txt").read_text().split())
    urns = {r.urn for r in run.resources}
    aliases = Counter(a for r in run.resources for a in r.options.get("aliases", []) if a.startswith("urn:"))
    lost = sorted(u for u in before if u not in urns and aliases[u] != 1)
    assert not lost, f"these resources of a deployed {stack} stack would be replaced: {lost}"
    # an alias never names a resource the plan still declares (the engine would see two claims)
    assert not (set(aliases) & urns)


def test_an_alias_is_the_old_urn_under_the_same_parent_type_chain() -> None:
    run = planned("prod")[1]
    (rg,) = [r for r in run.resources if r.type == "azure-native:resources:ResourceGroup"]
    assert rg.name == "platform-cluster-rg"
    # only the name differs: the type chain (parent types, not names) is the one it had
    assert rg.options["aliases"] == [rg.urn.removesuffix("::platform-cluster-rg") + "::rg"]
    # a workload identity's children were named after the identity's old name
    (uami,) = [r for r in run.resources if r.name == "platform-addons-keda-identity-uami"]
    assert uami.options["aliases"][0].endswith("UserAssignedIdentity::keda-identity-uami")
