"""The deployment's suffix for globally unique Azure names (``facts.naming``), kept in state.

A ``random:RandomString`` (pulumi-random 4.21.4) of ``UNIQUE_SUFFIX_LENGTH`` lowercase letters and
digits, created on the stack's first ``pulumi up``; its state keeps it, so later runs, other machines
and CI get the same names, and a destroyed and re-created stack gets new ones (a destroyed Key Vault's
name stays taken for its soft-delete period). ``naming.suffix`` in config pins it instead (no random
resource): an existing stack keeps the names it has. Under Pulumi's mocks the random string has no
value; ``tools.mocks`` answers with a fixed stand-in, so the offline plan stays deterministic.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from facts.naming import UNIQUE_SUFFIX_LENGTH


def unique_suffix(name: str, pinned: str | None, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """``pinned`` as is, else the result of a random string named ``name`` (created once)."""
    if pinned is not None:
        return pulumi.Output.from_input(pinned)
    suffix = random.RandomString(
        name,
        length=UNIQUE_SUFFIX_LENGTH,
        lower=True,
        upper=False,
        numeric=True,
        special=False,
        opts=opts,
    )
    return suffix.result
