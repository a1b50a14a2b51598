"""Rules of cache-aware routing (``models[i].inferencePool``, issue 23): refused while the chosen gateway
cannot route to an InferencePool, and only where a pool has something to choose between (pure).

Each rule is ``(StackPlan) -> Iterable[Problem]``, registered in ``rules.check.RULES``; one
message per root cause (the gateway's is said once, on the first model that asks).
"""

from __future__ import annotations

from collections.abc import Iterable

from config.errors import WHOLE_MAPPING, Problem
from planning.stack_plan import StackPlan

# Why the AKS Istio add-on cannot route to an InferencePool (docs/inference-routing.md, with sources):
# istiod serves InferencePool backends only with ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true (istio/istio
# 1.29.6 pilot/pkg/features/experimental.go:208, off by default; pilot/pkg/config/kube/gateway/
# conversion.go:1130-1134 refuses the backendRef otherwise), and the add-on lets users change MeshConfig
# only (istio-meshconfig.md lines 59 and 90), not istiod's environment; IstioOperator is blocked
# (istio-about.md line 56).
GATEWAY_CANNOT_ROUTE = (
    "the gateway, the AKS Istio add-on, cannot route to an InferencePool: istiod needs "
    "ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true (Istio 1.27+, off by default) and the add-on lets users "
    "change MeshConfig only, not istiod's environment"
)
GATEWAY_WOULD_WORK = (
    "remove inferencePool for now; it becomes possible when AKS sets that istiod flag for the add-on (or "
    "exposes it), or with a gateway that routes to InferencePools (docs/inference-routing.md)"
)


def pool_gateway_routes(stack: StackPlan) -> Iterable[Problem]:
    """The gateway must be able to route to an InferencePool: today it cannot (said once)."""
    config = stack.config
    for i, model in enumerate(config.models):
        if model.inference_pool is not None:
            yield Problem(
                f"models[{i}].inferencePool", WHOLE_MAPPING, GATEWAY_CANNOT_ROUTE, GATEWAY_WOULD_WORK
            )
            return


def pool_runtime(stack: StackPlan) -> Iterable[Problem]:
    """Only vLLM models get the program's pool. KAITO (v0.8.0+, chart feature gate
    ``gatewayAPIInferenceExtension``) builds its own per InferenceSet through Flux, from an llm-d chart
    and an EPP image pinned by tag only (kaito-project/kaito@v0.12.0 pkg/utils/consts/consts.go:147-163);
    the managed add-on runs KAITO 0.6.0, which has none."""
    config = stack.config
    for i, model in enumerate(config.models):
        if model.inference_pool is not None and model.runtime == "kaito":
            yield Problem(
                f"models[{i}].inferencePool",
                WHOLE_MAPPING,
                "a KAITO model's pool and endpoint picker are KAITO's own (from 0.8.0, through Flux, an "
                "llm-d chart and an EPP image pinned by tag only), which this program cannot pin or check",
                "runtime: vllm with inferencePool, or no inferencePool on a KAITO model",
            )


def pool_has_replicas(stack: StackPlan) -> Iterable[Problem]:
    """A pool chooses between replicas: at most one at peak leaves nothing to choose (the Service does)."""
    for plan in stack.model_plans:
        model = plan.config
        if model.inference_pool is None or model.runtime != "vllm" or not plan.placed:
            continue
        if plan.replicas_max <= 1:
            yield Problem(
                f"models[{plan.index}].inferencePool",
                WHOLE_MAPPING,
                f"the model runs at most {plan.replicas_max} replica at peak: the endpoint picker would "
                "have nothing to choose between",
                "replicas.max of 2 or more (or a peak that needs them), or no inferencePool",
            )


def pool_stays_awake(stack: StackPlan) -> Iterable[Problem]:
    """A pool routes to ready pods only: a model at zero would fail its first request instead of waiting
    in the KEDA HTTP add-on's interceptor (the gateway's scale-from-zero path)."""
    config = stack.config
    for i, model in enumerate(config.models):
        if model.inference_pool is not None and model.scale_to_zero:
            yield Problem(
                f"models[{i}].scaleToZero",
                model.scale_to_zero,
                "a model behind an InferencePool cannot scale to zero: the pool routes to ready pods only, "
                "so the first request after idling would fail instead of waiting",
                "scaleToZero: false with replicas.min of 1 or more, or no inferencePool",
            )


def pool_crd_owner(stack: StackPlan) -> Iterable[Problem]:
    """The InferencePool CRD has one owner: KAITO's chart (0.12.0 ships bundle v1.0.1 in its crds/, which
    Helm installs before anything else and never upgrades); without it nothing installs the CRD."""
    config = stack.config
    if config.addons.kaito.mode == "helm":
        return
    for i, model in enumerate(config.models):
        if model.inference_pool is not None:
            yield Problem(
                "addons.kaito.mode",
                config.addons.kaito.mode,
                f"models[{i}].inferencePool needs the InferencePool CRD, whose one installer here is KAITO's "
                "chart (mode: helm; bundle v1.0.1 in its crds/): a second installer would contend with it",
                "helm, or no inferencePool",
            )
            return


INFERENCE_POOL_RULES = [
    pool_gateway_routes,
    pool_runtime,
    pool_has_replicas,
    pool_stays_awake,
    pool_crd_owner,
]
