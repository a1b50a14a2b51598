"""Entry point Pulumi runs for `pulumi preview --policy-pack policy`: serves every policy of the pack."""

from pulumi_policy import PolicyPack

from aks_llm_policies import ALL_POLICIES, PACK_NAME

PolicyPack(name=PACK_NAME, policies=ALL_POLICIES)
