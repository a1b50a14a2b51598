"""What to say when a model does not fit: the SKUs where it fits (cheapest first, with their hourly
price) and only the remedies that would work on the pool's own GPU (pure, no Pulumi)."""

from __future__ import annotations

from config.catalog import Catalog
from config.prices import PriceBook
from config.schema import GpuPoolConfig, StackConfig
from sizing.deployments import ModelPlan, skus_where_it_fits
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
    """The catalog SKUs where it fits, cheapest on-demand price first (unpriced last), with USD/h. A model
    on a MIG slice is not sent to its pool's own SKU: a larger slice or the whole GPU is said instead."""
    book = PriceBook(catalog.prices, config.prices)
    names = [n for n in skus_where_it_fits(plan, catalog) if plan.mig is None or n != plan.sku.name]
    quotes = [book.quote(name) for name in names]
    quotes.sort(key=lambda q: (q.on_demand is None, q.on_demand or 0.0, q.sku))
    currency = catalog.prices.currency
    return [
        f"{q.sku} ({q.on_demand:g} {currency}/h)" if q.on_demand is not None else f"{q.sku} (unpriced)"
        for q in quotes
    ]


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
        "a SKU where it fits, cheapest first: " + ", ".join(where) if where else "no catalog SKU holds it"
    )
    return "; ".join(parts)
