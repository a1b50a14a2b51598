"""The stack's Key Vault: RBAC authorization, purge protection, a firewall that denies by default,
the Hugging Face token as a secret (only when one is configured), and each API-key consumer's key
(generated here, kept only in the vault and in Pulumi's encrypted state)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.containerservice as cs
import pulumi_azure_native.keyvault as keyvault
import pulumi_random as random

from components.azure_place import AzurePlace
from components.child_names import Component
from config.schema import KeyVaultConfig
from facts.naming import Names
from renderers.api_keys import VLLM_KEYS_SECRET, vault_secret_name, vllm_keys_yaml

HF_TOKEN_SECRET = "hf-token"  # Key Vault secret name (letters, digits, hyphens)


def ip_rules(ranges: Sequence[str]) -> list[str]:
    """Key Vault IP rule values: it refuses /31 and /32 prefixes, so those become single addresses."""
    values: list[str] = []
    for text in ranges:
        network = ipaddress.ip_network(text, strict=False)
        if network.prefixlen >= 31:
            values.extend(str(address) for address in (network if network.prefixlen == 31 else [network[0]]))
        else:
            values.append(str(network))
    return sorted(set(values), key=values.index)


def _public_ip_address(resource_id: str) -> pulumi.Output[str]:
    parts = resource_id.split("/")
    # /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Network/publicIPAddresses/<name>
    lower = [p.lower() for p in parts]
    group = parts[lower.index("resourcegroups") + 1]
    # The typed getter (pulumi_azure_native.network.get_public_ip_address_output) imports the whole
    # network module, about 0.9 s of the plan's time; the invoke token and arguments are the same.
    result = pulumi.runtime.invoke_output(
        "azure-native:network:getPublicIPAddress",
        {"resourceGroupName": group, "publicIpAddressName": parts[-1]},
        opts=pulumi.InvokeOutputOptions(version=_provider_version()),
    )
    return result.apply(lambda r: str((r or {}).get("ipAddress") or ""))


def _provider_version() -> str:
    """The azure-native plugin version of the installed SDK (what its typed getters pin too)."""
    from pulumi_azure_native import _utilities

    return str(_utilities.get_version())  # type: ignore[no-untyped-call]


def cluster_egress_ips(cluster: cs.ManagedCluster) -> pulumi.Output[list[str]]:
    """The public IPs the cluster's nodes leave through (the load balancer's outbound IPs)."""

    def ids(profile: cs.outputs.ContainerServiceNetworkProfileResponse | None) -> list[str]:
        lb = profile.load_balancer_profile if profile else None
        return [ref.id for ref in (lb.effective_outbound_ips or []) if ref.id] if lb else []

    def addresses(resource_ids: list[str]) -> pulumi.Output[list[str]]:
        found = pulumi.Output.all(*[_public_ip_address(i) for i in resource_ids])
        return found.apply(lambda ips: [ip for ip in ips if ip])

    return cluster.network_profile.apply(ids).apply(addresses)


@dataclass(frozen=True)
class KeyVaultArgs:
    names: Names
    unique: pulumi.Input[str]  # the deployment's suffix of globally unique names (components.name_suffix)
    place: AzurePlace
    tenant_id: pulumi.Input[str]
    settings: KeyVaultConfig
    cluster_egress_ips: pulumi.Input[Sequence[str]] = ()
    # The Hugging Face token, already an Output marked secret; None: no secret is created.
    hf_token: pulumi.Output[str] | None = None
    api_key_consumers: tuple[str, ...] = ()  # one generated key each (renderers.api_keys)


class KeyVault(Component):
    """Key Vault with RBAC, purge protection and default-deny firewall; the HF token secret."""

    vault_name: pulumi.Output[str]
    vault_id: pulumi.Output[str]
    hf_token_secret_name: str | None

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aksllm:platform:KeyVault", name, opts)
        settings, tags = args.settings, dict(args.place.tags)
        # With public access off (a private endpoint, issue 23) IP rules admit nothing: none are sent.
        open_ = settings.allow_cluster_egress and settings.public_network_access
        egress: pulumi.Input[Sequence[str]] = args.cluster_egress_ips if open_ else []
        rules = pulumi.Output.all(ip_rules(settings.allowed_ip_ranges), egress).apply(
            lambda pair: [keyvault.IPRuleArgs(value=v) for v in ip_rules([*pair[0], *pair[1]])]
        )
        self.vault = keyvault.Vault(
            self.child_name("vault"),
            vault_name=pulumi.Output.from_input(args.unique).apply(args.names.key_vault),
            resource_group_name=args.place.resource_group_name,
            location=args.place.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=settings.soft_delete_retention_days,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Enabled" if settings.public_network_access else "Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=keyvault.NetworkRuleAction.DENY,
                    bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                    ip_rules=rules,
                ),
            ),
            tags=tags,
            opts=self.child_opts(was="vault"),
        )
        self.vault_name = self.vault.name
        self.vault_id = self.vault.id
        self.hf_token_secret_name = None
        if args.hf_token is not None:
            keyvault.Secret(
                self.child_name("hf-token"),
                secret_name=HF_TOKEN_SECRET,
                vault_name=self.vault.name,
                resource_group_name=args.place.resource_group_name,
                properties=keyvault.SecretPropertiesArgs(
                    value=pulumi.Output.secret(args.hf_token), content_type="text/plain"
                ),
                tags=tags,
                opts=self.child_opts(was="hf-token"),
            )
            self.hf_token_secret_name = HF_TOKEN_SECRET
        keys = [self._api_key(args, consumer, tags) for consumer in args.api_key_consumers]
        self.api_key_secrets = [secret for secret, _ in keys]
        if keys:
            # vLLM's keys file: every consumer's key, one vault secret the CSI driver mounts as a file.
            self.api_key_secrets.append(
                self._secret(
                    VLLM_KEYS_SECRET,
                    pulumi.Output.all(*(value for _, value in keys)).apply(vllm_keys_yaml),
                    args,
                    tags,
                    "application/x-yaml",
                )
            )
        self.register_outputs({"vaultName": self.vault_name, "vaultId": self.vault_id})

    def _api_key(
        self, args: KeyVaultArgs, consumer: str, tags: dict[str, str]
    ) -> tuple[keyvault.Secret, pulumi.Output[str]]:
        """A 48-character key (about 285 bits) as a vault secret; its value is never an output."""
        name = vault_secret_name(consumer)
        key = random.RandomPassword(
            self.child_name(f"{name}-value"),
            length=48,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),  # new: no previous name
        )
        return self._secret(name, key.result, args, tags, "text/plain"), key.result

    def _secret(
        self, name: str, value: pulumi.Input[str], args: KeyVaultArgs, tags: dict[str, str], content_type: str
    ) -> keyvault.Secret:
        return keyvault.Secret(
            self.child_name(name),
            secret_name=name,
            vault_name=self.vault.name,
            resource_group_name=args.place.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(value), content_type=content_type
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),  # new: no previous name
        )
