"""Rules that depend on the KAITO release the stack runs (``facts.kaito_versions``): a release the
program does not model, and what the managed add-on's KAITO 0.6.0 cannot do (scale a model).

Each rule is ``(StackPlan) -> Iterable[Problem]``, registered in ``rules.check.RULES``.
SKU and preset refusals of a release without an estimator come from the sizing (``kaito_reason``,
reported by ``rules.check.models_fit``).
"""

from __future__ import annotations

from collections.abc import Iterable

from config.errors import Problem
from facts.kaito_nap import REASON as KARPENTER_REASON
from facts.kaito_versions import (
    CHART_KAITO_VERSION,
    MANAGED_KAITO_VERSION,
)
from planning.stack_plan import StackPlan
from sizing.workloads import kaito_kind

FIXED_REPLICA = "a fixed single replica (replicas: {min: 1, max: 1}, scaleToZero: false, no schedule)"


def uses_catalog_skus(stack: StackPlan) -> bool:
    """Whether KAITO's accepted SKUs are the catalog's ``kaito_supported`` flags (v0.12's table)."""
    caps = stack.kaito.capabilities
    return caps is not None and caps.skus is None


def kaito_release_known(stack: StackPlan) -> Iterable[Problem]:
    """A KAITO model needs a release whose CRDs, SKUs and presets the program knows."""
    config = stack.config
    kaito = config.addons.kaito
    if not any(m.runtime == "kaito" for m in config.models) or stack.kaito.capabilities is not None:
        return
    if kaito.mode == "managed":
        version = config.cluster.kubernetes_version
        yield Problem(
            "addons.kaito.mode",
            kaito.mode,
            f"the managed add-on on Kubernetes {version} runs KAITO "
            f"{stack.kaito.version}, a release whose CRDs, SKUs and "
            "presets the program does not model (facts/kaito_versions.py)",
            f"mode: helm (KAITO {CHART_KAITO_VERSION}), or a cluster version whose add-on runs KAITO "
            f"{MANAGED_KAITO_VERSION} (1.34 or later)",
        )
        return
    yield Problem(
        "addons.kaito.chartVersion",
        kaito.chart_version,
        "the program plans KAITO models only for the KAITO releases whose CRDs, SKUs and presets it "
        "models (facts/kaito_versions.py)",
        f"{CHART_KAITO_VERSION} (the chart pinned in versions.yaml)",
    )


def kaito_without_inference_set(stack: StackPlan) -> Iterable[Problem]:
    """Without the InferenceSet CRD (KAITO 0.6.0, the managed add-on) a model is one Workspace, and a
    Workspace has only a status subresource (no scale, ``kaito.sh_workspaces.yaml`` @v0.6.0): KEDA
    and the HPA cannot scale it, so more than one replica, scale to zero or a schedule is impossible."""
    config = stack.config
    caps = stack.kaito.capabilities
    if caps is None or caps.inference_set:
        return
    mode = config.addons.kaito.mode
    for plan in stack.model_plans:
        model = plan.config
        if model.runtime != "kaito" or kaito_kind(plan) == "Workspace":
            continue
        i = plan.index
        where = "the managed AKS add-on runs KAITO " if mode == "managed" else "KAITO "
        yield Problem(
            f"models[{i}].replicas",
            {
                "min": model.replicas.min,
                "max": plan.replicas_max,
                "scaleToZero": model.scale_to_zero,
                "schedule": model.schedule is not None,
            },
            f"{where}{caps.version}, which has no InferenceSet; a Workspace has no scale subresource, "
            "so KEDA cannot scale it: no autoscaling, no scale to zero, no business-hours schedule, one "
            "replica",
            f"addons.kaito.mode: helm (KAITO {CHART_KAITO_VERSION}: a scalable InferenceSet), "
            f"runtime: vllm, or {FIXED_REPLICA}",
        )


def kaito_karpenter_needs_static_capacity(stack: StackPlan) -> Iterable[Problem]:
    """``nodeProvisioner: karpenter`` does not serve: KAITO asks Karpenter for static capacity, a gate
    AKS's managed NAP does not expose (``facts.kaito_nap``). Refused until shown to work."""
    config = stack.config
    kaito = config.addons.kaito
    if kaito.mode != "helm" or kaito.node_provisioner != "karpenter":
        return
    nap = config.node_provisioning.mode == "nap"
    yield Problem(
        "addons.kaito.nodeProvisioner",
        kaito.node_provisioner,
        KARPENTER_REASON,
        "runtime: vllm for the model, on a NAP NodePool (nodeProvisioning.nodePools), or nodeProvisioner: "
        "none (KAITO on nodes you provide)"
        if nap
        else "gpu-provisioner (KAITO creates agent pools), none (KAITO on the pool's own nodes), or mode: "
        "managed",
    )


KAITO_RULES = [kaito_release_known, kaito_without_inference_set, kaito_karpenter_needs_static_capacity]
