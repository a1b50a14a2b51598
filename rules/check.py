"""Rules that need the catalog: checked after the schema, before any resource is declared, in two phases.

Repeated names first (alone), then the reference rules ``CONFIG_RULES`` (``(StackConfig, Catalog) ->
Iterable[Problem]``: a pool names a catalog SKU, a model a catalog model and a declared pool), which
planning needs to hold; when they pass, ``planning.stack_plan.plan_stack`` plans the stack once and every
rule of ``RULES`` (``(StackPlan) -> Iterable[Problem]``) judges that plan. Each list is in the order its
messages are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from config.catalog import Catalog, closest_names, did_you_mean, load_catalog
from config.errors import Problem
from config.plan_date import plan_date
from config.schema import StackConfig
from planning.stack_plan import StackPlan, plan_stack
from rules.addons import (
    addon_keys_that_do_nothing,
    http_addon_cold_start,
    inference_namespace,
    kaito_provisioner_matches_nodes,
    key_vault_firewall,
)
from rules.azure import AZURE_RULES
from rules.cost import cost_comparison_models, price_override_skus
from rules.fit import fit_advice, skus_with_prices
from rules.gateway import GATEWAY_RULES
from rules.gpu import GPU_RULES
from rules.inference_pool import INFERENCE_POOL_RULES
from rules.kaito import KAITO_RULES
from rules.models import MODEL_RULES
from rules.nap import NAP_RULES
from rules.network import NETWORK_RULES
from rules.queue import QUEUE_RULES
from rules.rule import ConfigRule, Rule
from rules.runtime import RUNTIME_RULES
from sizing.nap import nap_pools


def _sku_choices(catalog: Catalog) -> str:
    return ", ".join(sorted(name for name, sku in catalog.skus.items() if not sku.retired))


def gpu_pool_skus(config: StackConfig, catalog: Catalog) -> Iterable[Problem]:
    """Every GPU pool names a catalog GPU SKU (a reference: planning looks it up)."""
    for i, pool in enumerate(config.gpu_pools):
        if pool.vm_size not in catalog.skus:
            hint = did_you_mean(pool.vm_size, [n for n, s in catalog.skus.items() if not s.retired])
            yield Problem(
                f"gpuPools[{i}].vmSize",
                pool.vm_size,
                "not a GPU SKU in the catalog",
                hint + "one of " + _sku_choices(catalog),
            )


def gpu_pool_skus_on_sale(stack: StackPlan) -> Iterable[Problem]:
    """Every GPU pool's SKU is one Azure still sells."""
    config, catalog = stack.config, stack.catalog
    for i, pool in enumerate(config.gpu_pools):
        retired = catalog.skus[pool.vm_size].retired
        if retired:
            yield Problem(
                f"gpuPools[{i}].vmSize",
                pool.vm_size,
                f"this series was retired by Azure on {retired}",
                _sku_choices(catalog),
            )


def model_references(config: StackConfig, catalog: Catalog) -> Iterable[Problem]:
    """Every model names a catalog model (or a custom architecture) and a declared pool (a GPU pool,
    or a NodePool in NAP mode)."""
    pools = [p.name for p in config.gpu_pools] + [p.name for p in nap_pools(config)]
    for i, model in enumerate(config.models):
        if model.model is not None and model.model not in catalog.models:
            hint = did_you_mean(model.model, catalog.models)
            yield Problem(
                f"models[{i}].model",
                model.model,
                "not a model in the catalog (or describe it under custom:)",
                hint + "one of " + ", ".join(sorted(catalog.models)),
            )
        if model.pool not in pools:
            near = closest_names(model.pool, pools)
            where = "nodeProvisioning.nodePools" if config.node_provisioning.mode == "nap" else "gpuPools"
            accepted = "one of " + ", ".join(pools) if pools else f"declare a pool under {where} first"
            if near:
                accepted = f"did you mean {near[0]}? " + accepted
            what = "no NodePool of that name" if where != "gpuPools" else "no GPU pool of that name"
            yield Problem(f"models[{i}].pool", model.pool, what, accepted)


def models_fit(stack: StackPlan) -> Iterable[Problem]:
    """Every model fits its GPU (or MIG slice) with at least one full-length sequence of KV cache.

    A KAITO model fits where KAITO's own node estimator places it, on as many nodes per replica as
    that estimate says (pipeline-parallel across them), and is refused with KAITO's numbers when the
    estimator cannot place it on the SKU.
    """
    config, catalog = stack.config, stack.catalog
    for plan in stack.model_plans:
        kaito_reason = plan.sizing.kaito_reason if plan.config.runtime == "kaito" else None
        if kaito_reason is not None:
            yield Problem(
                f"models[{plan.index}]",
                plan.config.model or plan.model_id,
                f"KAITO cannot place it on pool {plan.pool.name} ({plan.sku.name}): {kaito_reason}",
                "a SKU with more GPU memory per GPU, a shorter maxModelLen, or runtime: vllm",
            )
            continue
        if plan.sizing.fits:
            continue
        slice_note = f", MIG {plan.mig.name}" if plan.mig else ""
        if plan.on_nodepool:  # no allowed SKU holds it: sized on the smallest (sizing.nap.sizing_sku)
            slice_note += ", the NodePool's sizing SKU: no allowed SKU holds it, sized on the smallest"
        if plan.sizing.pipeline_parallel > 1:
            slice_note += f", even over KAITO's {plan.sizing.pipeline_parallel} nodes per replica"
        yield Problem(
            f"models[{plan.index}]",
            plan.config.model or plan.model_id,
            f"does not fit on pool {plan.pool.name} ({plan.sku.name}{slice_note}): {plan.sizing.reason}",
            fit_advice(plan, config, catalog),
        )


def models_meet_targets(stack: StackPlan) -> Iterable[Problem]:
    """A model with TTFT/TPOT targets meets them on its pool's GPU at one sequence per replica at least
    (the roofline estimate, ``sizing.roofline``; expect +-50 %)."""
    config, catalog = stack.config, stack.catalog
    for plan in stack.model_plans:
        est, w = plan.target_estimate, plan.config.workload
        if plan.targets_met or est is None:
            continue
        got = []
        if w.ttft_ms is not None:
            got.append(f"TTFT {est.ttft_s * 1000:,.0f} ms (target {w.ttft_ms:g})")
        if w.tpot_ms is not None:
            got.append(f"TPOT {est.tpot_s * 1000:,.1f} ms (target {w.tpot_ms:g})")
        slice_note = f", MIG {plan.mig.name}" if plan.mig else ""
        where = skus_with_prices(plan, config, catalog)
        yield Problem(
            f"models[{plan.index}].workload",
            {k: v for k, v in (("ttftMs", w.ttft_ms), ("tpotMs", w.tpot_ms)) if v is not None},
            f"misses its latency targets on pool {plan.pool.name} ({plan.sku.name}{slice_note}): even at one "
            f"sequence per replica the roofline estimates {' and '.join(got)} (docs/advisor.md, +-50 %)",
            ("a SKU that meets them, cheapest for the peak first: " + ", ".join(where))
            if where
            else "looser ttftMs/tpotMs (no catalog SKU meets them), or a shorter p95 prompt",
        )


CONFIG_RULES: list[ConfigRule] = [gpu_pool_skus, model_references]

RULES: list[Rule] = [gpu_pool_skus_on_sale, models_fit, models_meet_targets]
RULES += [price_override_skus, cost_comparison_models]
RULES += GPU_RULES
RULES += NAP_RULES

RULES += [
    addon_keys_that_do_nothing,
    key_vault_firewall,
    inference_namespace,
    kaito_provisioner_matches_nodes,
    http_addon_cold_start,
]
RULES += MODEL_RULES
RULES += RUNTIME_RULES
RULES += QUEUE_RULES
RULES += AZURE_RULES
RULES += KAITO_RULES
RULES += NETWORK_RULES
RULES += GATEWAY_RULES
RULES += INFERENCE_POOL_RULES


def unique_names(config: StackConfig) -> Iterable[Problem]:
    """GPU pools, NodePools and models are referred to by name: each name once (pools and NodePools
    share one name space, since a model's ``pool`` may name either).

    Keys: gpuPools[].name, nodeProvisioning.nodePools[].name, models[].name
    """
    groups = (
        [("gpuPools", i, p.name) for i, p in enumerate(config.gpu_pools)]
        + [
            ("nodeProvisioning.nodePools", i, p.name)
            for i, p in enumerate(config.node_provisioning.node_pools)
        ],
        [("models", i, m.name) for i, m in enumerate(config.models)],
    )
    for entries in groups:
        first: dict[str, str] = {}
        for label, i, name in entries:
            where = f"{label}[{i}]"
            if name in first:
                yield Problem(
                    f"{where}.name",
                    name,
                    f"the name is already used by {first[name]}",
                    "a name used once across gpuPools and nodeProvisioning.nodePools"
                    if label != "models"
                    else "a name used once under models",
                )
            else:
                first[name] = where


def check_config(config: StackConfig, catalog: Catalog) -> list[Problem]:
    """Phase one: repeated names (alone: every other rule looks pools and models up by name), then the
    reference rules; rules after a failing one still run so the user sees all problems at once."""
    repeated = list(unique_names(config))
    if repeated:
        return repeated
    return [problem for rule in CONFIG_RULES for problem in rule(config, catalog)]


def check_plan(stack: StackPlan) -> list[Problem]:
    """Phase two: every rule of ``RULES`` on the stack's plan."""
    return [problem for rule in RULES for problem in rule(stack)]


def checked_plan(
    config: StackConfig, catalog: Catalog, *, on: date, stack: str | None = None
) -> tuple[StackPlan | None, list[Problem]]:
    """The stack's plan (None when phase one refuses the config) and every problem of both phases
    (``stack``: the Pulumi stack's name, ``planning.stack_plan.plan_stack``)."""
    problems = check_config(config, catalog)
    if problems:
        return None, problems
    plan = plan_stack(config, catalog, on=on, stack=stack)
    return plan, check_plan(plan)


def check_rules(
    config: StackConfig, catalog: Catalog | None = None, *, on: date | None = None
) -> list[Problem]:
    """Every problem of both phases (the plan's date ``on`` read here, once, when the caller read none)."""
    return checked_plan(config, catalog or load_catalog(), on=plan_date() if on is None else on)[1]
