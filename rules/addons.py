"""Rules for the add-ons, the Key Vault firewall and the inference namespace.

Each rule is ``(StackPlan) -> Iterable[Problem]`` like those in ``rules.check``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from pydantic import BaseModel

from config.errors import Problem
from facts.namespaces import RESERVED_NAMESPACES
from planning.stack_plan import StackPlan
from sizing.autoscaling import wake_up_sources
from sizing.workloads import cold_start, predicted_cold_start_seconds


def _set_keys(model: BaseModel, keys: Iterable[str]) -> list[tuple[str, object]]:
    """(camelCase key, value) of ``keys`` the user wrote explicitly in ``model``."""
    fields = type(model).model_fields
    return [(fields[k].alias or k, getattr(model, k)) for k in keys if k in model.model_fields_set]


def _plain(value: object) -> object:
    return value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value


def addon_keys_that_do_nothing(stack: StackPlan) -> Iterable[Problem]:
    """Settings that only apply in another mode are refused rather than silently ignored."""
    config = stack.config
    addons = config.addons
    kaito = addons.kaito
    if kaito.mode == "managed":
        helm_only = ("chart_version", "feature_gates", "node_provisioner", "gpu_provisioner_chart_version")
        for key, value in _set_keys(kaito, helm_only):
            yield Problem(
                f"addons.kaito.{key}",
                _plain(value),
                "only used with mode: helm; the managed add-on's version and feature gates are set by AKS",
                f"mode: helm, or remove addons.kaito.{key}",
            )
    elif kaito.node_provisioner != "gpu-provisioner":
        for key, value in _set_keys(kaito, ("gpu_provisioner_chart_version",)):
            yield Problem(
                f"addons.kaito.{key}",
                value,
                f"only used with nodeProvisioner: gpu-provisioner (got {kaito.node_provisioner})",
                f"nodeProvisioner: gpu-provisioner, or remove addons.kaito.{key}",
            )
    http = addons.keda.http_addon
    if not http.enabled:
        http_keys = ("chart_version", "cold_start_timeout_seconds", "response_header_timeout_seconds")
        for key, value in _set_keys(http, http_keys):
            yield Problem(
                f"addons.keda.httpAddon.{key}",
                value,
                "the KEDA HTTP add-on is not enabled, so this setting would do nothing",
                f"addons.keda.httpAddon.enabled: true, or remove addons.keda.httpAddon.{key}",
            )
    queue = addons.async_queue
    if not queue.enabled:
        queue_keys = (
            "queue_name",
            "lock_duration_seconds",
            "max_delivery_count",
            "message_ttl_hours",
            "model",
            "reply_queue_name",
            "worker",
        )
        for key, value in _set_keys(queue, queue_keys):
            yield Problem(
                f"addons.asyncQueue.{key}",
                _plain(value),
                "the async queue is not enabled, so this setting would do nothing",
                f"addons.asyncQueue.enabled: true, or remove addons.asyncQueue.{key}",
            )


def key_vault_firewall(stack: StackPlan) -> Iterable[Problem]:
    """Key Vault IP rules: public IPv4 only, and only when the public endpoint is on."""
    config = stack.config
    vault = config.addons.key_vault
    if not vault.public_network_access and vault.allowed_ip_ranges:
        yield Problem(
            "addons.keyVault.allowedIpRanges",
            vault.allowed_ip_ranges,
            "IP rules need the public endpoint, but publicNetworkAccess is false",
            "publicNetworkAccess: true, or no allowedIpRanges (reach the vault by a private endpoint)",
        )
    for i, text in enumerate(vault.allowed_ip_ranges):
        network = ipaddress.ip_network(text)
        if network.prefixlen == 0:
            yield Problem(
                f"addons.keyVault.allowedIpRanges[{i}]",
                text,
                "admits every address: the firewall would no longer protect the vault holding the token",
                "the public egress ranges that need the vault, e.g. 203.0.113.0/24, or none",
            )
        elif network.version != 4:
            yield Problem(
                f"addons.keyVault.allowedIpRanges[{i}]",
                text,
                "Key Vault IP rules take IPv4 only",
                "a public IPv4 address or CIDR, e.g. 203.0.113.0/24",
            )
        elif not network.is_global:
            yield Problem(
                f"addons.keyVault.allowedIpRanges[{i}]",
                text,
                "a private or reserved range never reaches the vault's public endpoint",
                "the public egress range of your office, CI runners or NAT gateway",
            )


def inference_namespace(stack: StackPlan) -> Iterable[Problem]:
    """The model services get a namespace of their own."""
    config = stack.config
    name = config.inference.namespace
    if name in RESERVED_NAMESPACES:
        yield Problem(
            "inference.namespace",
            name,
            f"this namespace belongs to Kubernetes, AKS or a platform add-on ({RESERVED_NAMESPACES[name]}; "
            "facts/namespaces.py): the program would declare it twice or mix the model services into it",
            "a namespace of your own, e.g. inference (not " + ", ".join(sorted(RESERVED_NAMESPACES)) + ")",
        )


def kaito_provisioner_matches_nodes(stack: StackPlan) -> Iterable[Problem]:
    """In NAP mode AKS already runs Karpenter: a self-hosted gpu-provisioner would be a second one."""
    config = stack.config
    kaito = config.addons.kaito
    if (
        config.node_provisioning.mode == "nap"
        and kaito.mode == "helm"
        and kaito.node_provisioner == "gpu-provisioner"
    ):
        yield Problem(
            "addons.kaito.nodeProvisioner",
            kaito.node_provisioner,
            "nodeProvisioning.mode is nap, so AKS already provisions nodes with Karpenter; the self-hosted "
            "gpu-provisioner would be a second node provisioner creating agent pools beside it",
            "runtime: vllm for KAITO's models (NAP NodePools serve them), or nodeProvisioner: none (bring "
            "your own nodes); karpenter does not serve on AKS's NAP either (facts/kaito_nap.py)",
        )


def http_addon_cold_start(stack: StackPlan) -> Iterable[Problem]:
    """The interceptor answers 504 once a request waited ``conditionWait`` for a ready replica
    (kedacore/http-add-on interceptor/middleware/endpoint_resolver.go lines 67-79 @v0.15.0): a cap
    below a fronted model's predicted cold start (``sizing.cold_start``: node, image, weights, server) would
    fail every first request after an idle period."""
    config = stack.config
    http = config.addons.keda.http_addon
    cap = http.cold_start_timeout_seconds
    if not http.enabled or cap is None:
        return
    for plan in stack.model_plans:
        if "http" not in wake_up_sources(plan, http_addon=True, queue=False):
            continue
        need = predicted_cold_start_seconds(plan)
        if cap < need:
            yield Problem(
                "addons.keda.httpAddon.coldStartTimeoutSeconds",
                cap,
                f"model {plan.config.name} may need {need} s from zero on pool {plan.pool.name}: "
                f"{cold_start(plan).text()}; the interceptor would answer 504 before the model is ready",
                f"coldStartTimeoutSeconds >= {need}, or remove it (each model then waits its own prediction)",
            )
