"""The upstream behaviour the simulation replays: each default and rule with where it was read.

"read at" = the source file at that tag or commit, read through the search tools; nothing here ran the
upstream code. The HPA's own arithmetic (``hpa_desired_replicas``, tolerance) lives in
``sizing.autoscaling``, which the design tests share.
"""

from __future__ import annotations

# --- Kubernetes HPA (kube-controller-manager) ------------------------------------------------------
# --horizontal-pod-autoscaler-sync-period 15 s: read at kubernetes/kubernetes@85643c0f
# pkg/controller/podautoscaler/config/v1alpha1/defaults.go:41 (tolerance 0.1 at :59, the default
# downscale stabilisation 5 min at :47; the ScaledObject sets its own window). The simulation's step.
HPA_SYNC_SECONDS = 15
# Several metrics: the HPA computes a recommendation per metric and takes the largest (read at
# kubernetes/kubernetes@bba5ea77 pkg/controller/podautoscaler/horizontal.go, computeReplicasForMetrics);
# behaviour: scale-down takes the highest recommendation of the stabilisation window, and a Pods policy
# allows at most `value` pods added (removed) within `periodSeconds` (same file,
# stabilizeRecommendationWithBehaviors, calculateScaleUpLimitWithScalingRules /
# calculateScaleDownLimitWithBehaviors). KEDA keeps the HPA's minReplicas at max(1, minReplicaCount):
# the HPA does not act on a target at 0 replicas (KEDA does, below).

# --- KEDA v2.19.0 (the AKS add-on on 1.36) ---------------------------------------------------------
# pollingInterval default 30 s: read at kedacore/keda@v2.19.0 apis/keda/v1alpha1/withtriggers_types.go:31
# (the ScaledObject sets 30, renderers.autoscaling.POLLING_SECONDS); cooldownPeriod default 300 s:
# pkg/scaling/executor/scale_executor.go:38.
KEDA_DEFAULT_COOLDOWN_SECONDS = 300
# Active (any trigger active: pkg/scaling/scale_handler.go:722) at 0 replicas -> scale to
# max(1, minReplicaCount) (pkg/scaling/executor/scale_scaledobjects.go:101-115, scaleFromZeroOrIdle
# :307-311); active with replicas -> LastActiveTime = now (:127-134); inactive with replicas > 0 and
# minReplicaCount 0 -> to zero once LastActiveTime + cooldownPeriod has passed (:163-171, :259-261).
# Prometheus trigger active when value > activationThreshold: pkg/scalers/prometheus_scaler.go:306
# (sizing.autoscaling.keda_active). Cron trigger: metric = desiredReplicas inside [start, end), else 0,
# target 1 (AverageValue), active inside the window: pkg/scalers/cron_scaler.go:110-118, :122-151.
CRON_TARGET = 1

# --- KEDA HTTP add-on v0.15.0 ----------------------------------------------------------------------
# The interceptor holds a request until a replica is ready, at most conditionWait, then answers 504:
# read at kedacore/http-add-on@v0.15.0 interceptor/middleware/endpoint_resolver.go:67-79 (rules/addons.py).
# Its scaler reports in-flight requests against scalingMetric.concurrency.targetValue (max-num-seqs,
# components/model_common.py), active while any request is in flight.

# --- cluster-autoscaler 1.35 (AKS sets the profile the stack gives) -------------------------------
# Defaults read at kubernetes/autoscaler@cluster-autoscaler-1.35.2 cluster-autoscaler/config/flags/flags.go:
# scan-interval 10 s (:112), scale-down-unneeded-time 10 min (:84), scale-down-delay-after-add 10 min
# (:76), max-node-provision-time 15 min (:127), new-pod-scale-up-delay 0 (:165). A node is removed once
# it has been unneeded for scale-down-unneeded-time (core/scaledown/unneeded/nodes.go:249) and no
# scale-up happened within scale-down-delay-after-add. Only empty GPU nodes count as unneeded here.

# --- Karpenter v1.14 (AKS NAP: karpenter-provider-azure builds on kubernetes-sigs/karpenter) -------
# A node is consolidatable once consolidateAfter has passed since its last pod event
# (kubernetes-sigs/karpenter@v1.14.1 pkg/controllers/nodeclaim/disruption/consolidation.go:60-80);
# disruptions at once are capped by the smallest active budget that covers the reason, a percentage
# rounded up (pkg/apis/v1/nodepool.go:364-400). Pending pods get a new NodeClaim without a scan
# interval (its batching window, 1-10 s, is below the step).
KARPENTER_STEP_SECONDS = 15

# --- vLLM (max-num-seqs) ---------------------------------------------------------------------------
# A replica runs at most max-num-seqs requests; the rest wait in its queue (vllm/v1/core/sched/scheduler.py,
# Scheduler.schedule: `if len(self.running) == self.max_num_running_reqs: break`, read in the index's
# stored copy, not at the v0.11.0 pin). Served concurrency = min(demand, ready replicas x max-num-seqs).
