"""One convention for the names of a component's children: ``f"{name}-<suffix>"``.

A URN holds the parent's type but not its name (``urn:pulumi:<stack>::<project>::<parent type>$<type>::
<name>``), so two components of one type whose children had fixed names ("rg", "namespace") would collide;
a child named after its parent cannot. Every child also carries an alias to the name it had before the
convention (``was``), so a stack deployed before keeps every resource: the engine finds the old URN
through the alias and updates nothing (pulumi 3.272.0 sdk/python/lib/pulumi/runtime/resource.py,
``create_alias_spec`` l. 320-384: an alias with only a name keeps the current parent, l. 347-350, and the
URN's type chain is unchanged, so the alias is exactly the old URN). Renaming a component and its children
at once this way is Pulumi's own tested scenario (pulumi/pulumi tests/integration/aliases/python/
rename_component_and_child/step2/__main__.py: the component aliased by name, each child by name under the
renamed parent). The aliases can go once every stack has run ``pulumi up`` with them
(tests/test_child_names.py lists the URNs they keep).
"""

from __future__ import annotations

from typing import Any

import pulumi


def _previous_name(name: str, opts: pulumi.ResourceOptions | None) -> str:
    """The name an alias in ``opts`` gives (what this component was called before), else ``name``."""
    for alias in (opts.aliases or []) if opts is not None else []:
        if isinstance(alias, pulumi.Alias) and isinstance(alias.name, str):
            return alias.name
    return name


class Component(pulumi.ComponentResource):
    """A ComponentResource whose children are named ``f"{name}-<suffix>"`` (``child_name``) and carry an
    alias to their previous name (``child_opts``); ``was`` is this component's own previous name."""

    def __init__(
        self,
        type_: str,
        name: str,
        opts: pulumi.ResourceOptions | None = None,
        props: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(type_, name, props, opts)
        self.child_prefix = name
        self.was = _previous_name(name, opts)

    def child_name(self, suffix: str) -> str:
        """``f"{name}-{suffix}"``: the name of one child of this component."""
        return f"{self.child_prefix}-{suffix}"

    def child_opts(
        self, was: str, base: pulumi.ResourceOptions | None = None, **options: Any
    ) -> pulumi.ResourceOptions:
        """Options of a child: ``base`` (e.g. what every Kubernetes object of a model shares) and
        ``options`` (further ResourceOptions fields, e.g. ``depends_on``), parented to this component, with
        an alias to ``was``, the child's previous name."""
        own = pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=was)], **options)
        return pulumi.ResourceOptions.merge(base, own)
