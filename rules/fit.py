"""What to say when a model does not fit: the SKUs where it fits (the advisor's ranking: cheapest for
the workload's peak first, with the placement and its price) and only the remedies that would work on
the pool's own GPU (pure, no Pulumi)."""

from __future__ import annotations

from config.catalog import Catalog
from config.prices import local_book
from config.schema import GpuPoolConfig, StackConfig
from sizing.advisor import AdvisorModel, AdvisorWorkload, advise
from sizing.deployments import ModelPlan
from sizing.model_sizing import size_model

MIN_MAX_MODEL_LEN = 256  # the schema's floor of workload.maxModelLen
_QUANTIZED = ("fp8", "awq", "gptq", "int8", "int4", "mxfp4")


def _resize(plan: ModelPlan, **changes: object) -> bool:
    """Whether the plan fits on its own SKU (and slice) with ``changes`` to the sizing inputs."""
    workload = plan.config.workload
    kwargs: dict[str, object] = {
        "model_name": plan.model_id,
        "weights_dtype": plan.weights_dtype,
        "max_model_len": plan.max_model_len,
        "gpu_memory_utilization": workload.gpu_memory_utilization,
        "max_num_seqs": workload.max_num_seqs,
        "mig_profile": plan.mig,
        "pipeline_parallel": plan.sizing.pipeline_parallel,
    }
    kwargs.update(changes)
    return size_model(plan.arch, plan.sku, **kwargs).fits  # type: ignore[arg-type]


def working_remedies(plan: ModelPlan) -> list[str]:
    """Changes on the same pool that would make it fit; none when only another SKU would."""
    out: list[str] = []
    workload = plan.config.workload
    if workload.max_num_seqs is not None and _resize(plan, max_num_seqs=None):
        out.append("a smaller maxNumSeqs (or leave it unset to derive it)")
    shorter = min(MIN_MAX_MODEL_LEN, plan.max_model_len)
    if shorter < plan.max_model_len and _resize(plan, max_model_len=shorter, max_num_seqs=None):
        out.append("a smaller maxModelLen")
    # vLLM quantizes a catalog model to FP8 on the fly (compute capability 8.0+, rules_models); AWQ and
    # GPTQ need a pre-quantized checkpoint, which only a custom model can name.
    if (
        plan.config.runtime == "vllm"
        and plan.weights_dtype not in _QUANTIZED
        and plan.sku.bf16
        and _resize(plan, weights_dtype="fp8", max_num_seqs=None)
    ):
        out.append("quantization: fp8")
    return out


def larger_mig_profiles(plan: ModelPlan) -> list[str]:
    """The MIG profiles of the pool's own GPU, larger than its slice, on which the model fits (with the
    managed driver only those AKS can create); empty when the model has no slice."""
    if plan.mig is None:
        return []
    managed = isinstance(plan.pool, GpuPoolConfig) and plan.pool.driver == "managed"
    return [
        p.name
        for p in sorted(plan.sku.mig_profiles, key=lambda p: p.memory_gib)
        if p.memory_gib > plan.mig.memory_gib
        and (p.aks_gpu_instance_profile is not None or not managed)
        and _resize(plan, mig_profile=p, max_num_seqs=None)
    ]


def skus_with_prices(plan: ModelPlan, config: StackConfig, catalog: Catalog) -> list[str]:
    """The catalog SKUs where the model and its workload fit, in the advisor's order (cheapest for the
    peak first, unpriced last; ``sizing.advisor``), each with its best placement and price. A model on a
    MIG slice is not sent to its pool's own SKU: a larger slice or the whole GPU is said instead."""
    book = local_book(catalog.prices, config.prices)
    work = AdvisorWorkload.of(plan.config.workload)
    rows = advise(AdvisorModel.from_config(plan.config, catalog), work, catalog, book, (plan.config.runtime,))
    currency = book.table.currency
    out: dict[str, str] = {}
    for r in rows:
        if r.sku in out or not (r.fits and r.meets_targets) or r.retired:
            continue
        if plan.mig is not None and r.sku == plan.sku.name:
            continue
        where = f"{r.placement}, {r.nodes} node{'s' if r.nodes != 1 else ''}"
        price = f"{r.on_demand_per_hour:g} {currency}/h" if r.on_demand_per_hour is not None else "unpriced"
        out[r.sku] = f"{r.sku} ({where}: {price})"
    return list(out.values())


def fit_advice(plan: ModelPlan, config: StackConfig, catalog: Catalog) -> str:
    """The ``accepted`` text of a does-not-fit problem."""
    remedies = working_remedies(plan)
    profiles = larger_mig_profiles(plan)
    if profiles:
        remedies.insert(0, "a larger MIG profile where it fits: " + ", ".join(profiles))
    elif plan.mig is not None and _resize(plan, mig_profile=None, max_num_seqs=None):
        remedies.insert(0, "the whole GPU (remove mig)")
    where = skus_with_prices(plan, config, catalog)
    parts = []
    if remedies:
        parts.append("on this pool: " + ", or ".join(remedies))
    parts.append(
        "a SKU where it fits, cheapest for the peak first (python -m tools.advise): " + ", ".join(where)
        if where
        else "no catalog SKU holds it"
    )
    return "; ".join(parts)
