"""Rules of the gateway (issue 23): an Istio add-on revision AKS supports for the cluster on the plan's
date, the Gateway API bundle AKS would adopt, API keys with consumers, and no model the gateway could
not protect (pure, no Pulumi)."""

from __future__ import annotations

from collections.abc import Iterable

from config.errors import Problem
from facts.gateway_api import BUNDLE_FOR_MINOR, BUNDLE_VERSION
from facts.istio import REVISIONS, SOURCE
from facts.namespaces import RESERVED_NAMESPACES
from planning.stack_plan import StackPlan
from rules.rule import Rule


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def istio_revision_supported(stack: StackPlan) -> Iterable[Problem]:
    """The revision is one AKS lists, compatible with the cluster's Kubernetes minor and not past its
    end of life on the plan's date (``facts/istio.py``).

    Keys: gateway.istioRevision
    """
    config = stack.config
    on = stack.plan_date
    gw = config.gateway
    if gw is None:
        return
    minor = _minor(config.cluster.kubernetes_version)
    fits = sorted(r.name for r in REVISIONS.values() if minor in r.kubernetes and r.ends() >= on)
    accepted = (
        f"one of {', '.join(fits)} (for Kubernetes {minor} on {on}; {SOURCE})"
        if fits
        else (f"none: no listed revision supports Kubernetes {minor} on {on} ({SOURCE})")
    )
    rev = REVISIONS.get(gw.istio_revision)
    if rev is None:
        yield Problem(
            "gateway.istioRevision", gw.istio_revision, "is not an AKS Istio add-on revision", accepted
        )
    elif minor not in rev.kubernetes:
        yield Problem(
            "gateway.istioRevision",
            gw.istio_revision,
            f"does not support cluster.kubernetesVersion {config.cluster.kubernetes_version}",
            accepted,
        )
    elif rev.ends() < on:
        yield Problem(
            "gateway.istioRevision",
            gw.istio_revision,
            f"reached its end of life in {rev.ends():%B %Y}, before the plan date {on}",
            accepted,
        )


def gateway_api_bundle_matches(stack: StackPlan) -> Iterable[Problem]:
    """The program installs the Gateway API CRDs AKS's managed installation would put on this minor, so
    AKS can adopt them later (``managed-gateway-api.md`` lines 24-27, 39-44).

    Keys: cluster.kubernetesVersion
    """
    config = stack.config
    if config.gateway is None:
        return
    version = config.cluster.kubernetes_version
    bundle = BUNDLE_FOR_MINOR.get(_minor(version))
    if bundle != BUNDLE_VERSION:
        yield Problem(
            "cluster.kubernetesVersion",
            version,
            f"the gateway installs the Gateway API CRDs {BUNDLE_VERSION}, which AKS pairs with Kubernetes "
            f"1.36 only (this version pairs with {bundle or 'no listed bundle'}: AKS managed-gateway-api.md)",
            "1.36 with a gateway, or no gateway",
        )


def api_keys_have_consumers(stack: StackPlan) -> Iterable[Problem]:
    """Keys on with nobody to hold one would lock every application out; each consumer once.

    Keys: gateway.consumers, gateway.consumers[]
    """
    config = stack.config
    gw = config.gateway
    if gw is None or not gw.api_keys:
        return
    worker = config.addons.async_queue.enabled
    if not gw.consumers and not worker:
        yield Problem(
            "gateway.consumers",
            [],
            "API keys are required (gateway.apiKeys) but no consumer is listed, so no application could call",
            "one or more consumer names, e.g. [chat-app, batch-jobs]; or apiKeys: false",
        )
    for i, name in enumerate(gw.consumers):
        if name in gw.consumers[:i]:
            yield Problem(f"gateway.consumers[{i}]", name, "is listed twice", "each consumer once")


def excluded_models_exist(stack: StackPlan) -> Iterable[Problem]:
    """Each model kept off the gateway is a model of this stack.

    Keys: gateway.excludeModels[]
    """
    config = stack.config
    gw = config.gateway
    if gw is None:
        return
    names = [m.name for m in config.models]
    for i, name in enumerate(gw.exclude_models):
        if name not in names:
            yield Problem(
                f"gateway.excludeModels[{i}]",
                name,
                "is not a model of this stack",
                f"one of {', '.join(names)}",
            )


def kaito_models_cannot_take_keys(stack: StackPlan) -> Iterable[Problem]:
    """KAITO v0.12.0 passes extra vLLM arguments only from the Workspace's ``inference_config.yaml``
    ConfigMap (kaito-project/kaito@v0.12.0 presets/workspace/inference/vllm/inference_api.py lines
    134-144: each ``vllm:`` key becomes ``--key value``), so an ``api-key`` there would sit in a plain
    ConfigMap, and a preset Workspace takes no environment from a Secret: refused, not half-protected.

    Keys: models[].runtime
    """
    config = stack.config
    gw = config.gateway
    if gw is None or not gw.api_keys:
        return
    for i, model in enumerate(config.models):
        if model.runtime == "kaito" and model.name not in gw.exclude_models:
            yield Problem(
                f"models[{i}].runtime",
                "kaito",
                f"model {model.name} would be behind the gateway with API keys, which KAITO's vLLM can only "
                "take from a plain ConfigMap (KAITO v0.12.0 inference_api.py): its key would not be secret",
                f"runtime: vllm; or {model.name} in gateway.excludeModels (reached in the cluster only)",
            )


def gateway_namespace(stack: StackPlan) -> Iterable[Problem]:
    """The gateway's namespace is its own: not the models', not one Kubernetes, AKS or an add-on owns.

    Keys: gateway.namespace
    """
    config = stack.config
    gw = config.gateway
    if gw is None:
        return
    taken = {**RESERVED_NAMESPACES, config.inference.namespace: "the model services (inference.namespace)"}
    if gw.namespace in taken:
        yield Problem(
            "gateway.namespace",
            gw.namespace,
            f"this namespace belongs to {taken[gw.namespace]} (facts/namespaces.py)",
            "a namespace of the gateway's own, e.g. llm-gateway",
        )


GATEWAY_RULES: list[Rule] = [
    gateway_namespace,
    istio_revision_supported,
    gateway_api_bundle_matches,
    api_keys_have_consumers,
    excluded_models_exist,
    kaito_models_cannot_take_keys,
]
