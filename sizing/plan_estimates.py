"""Roofline estimates of planned models (``sizing.advisor``'s model of a replica, applied to a
``sizing.deployments.ModelPlan``; pure). Above both, so that the advisor does not import the plans.
"""

from __future__ import annotations

from config.catalog import Catalog
from sizing.advisor import AdvisorModel
from sizing.deployments import ModelPlan
from sizing.roofline import Estimate, Hardware, ModelShape, estimate


def replica_estimate(plan: ModelPlan, catalog: Catalog) -> Estimate | None:
    """The roofline estimate of one fully used replica of a planned model (its ``maxNumSeqs`` running),
    None when it does not fit; the plan's break-even uses it when the stack gives no throughput."""
    size = plan.sizing
    if not size.fits or size.max_num_seqs < 1:
        return None
    model = AdvisorModel.from_config(plan.config, catalog)
    shape = ModelShape.of(plan.arch, size.weights_dtype, model.active_parameters, model.hidden_size)
    w = plan.config.workload
    hw = Hardware.of(plan.sku, plan.mig)
    return estimate(
        shape, hw, size.gpus_per_replica, size.max_num_seqs, w.p95_prompt_tokens, w.p95_completion_tokens
    )
