"""Every metric name the program's rules and checks read, in one place, with where each was read.

The alert rules (``renderers/alerts.py``), the load recording rule (``renderers/autoscaling.py``) and
the tests check their PromQL against these sets; a contract tier that runs the pinned vLLM's real
Prometheus registry can check ``VLLM_METRICS`` against it (``tests/test_alerts.py`` states which names
the rules use).

None of these exporters can run here, so each set is "read at", never "verified":

- vLLM: read at vllm-project/vllm@005a810b (a stored version of ``vllm/v1/metrics/loggers.py``; the
  index does not say whether it is the v0.11.0 tag the image pins), ``PrometheusStatLogger.__init__``:
  ``vllm:num_requests_running``, ``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc`` ("KV-cache
  usage. 1 means 100 percent usage"; ``vllm:gpu_cache_usage_perc`` is its deprecated twin),
  ``vllm:time_to_first_token_seconds``, ``vllm:generation_tokens``, ``vllm:prompt_tokens`` (counters;
  the client adds ``_total``). Every series carries ``model_name`` and ``engine``.
- DCGM exporter (the GPU Operator v26.7.0 chart pins dcgm-exporter ``4.6.0-4.8.3-distroless``,
  ../shared/charts/gpu-operator-v26.7.0/values.yaml:304; the operator's DaemonSet sets
  DCGM_EXPORTER_COLLECTORS=/etc/dcgm-exporter/dcp-metrics-included.csv, read at
  NVIDIA/gpu-operator@06faaf0c assets/state-dcgm-exporter/0800_daemonset.yaml:46-47): read at
  NVIDIA/dcgm-exporter@084a245d etc/dcp-metrics-included.csv (the index does not say which tag):
  line 23 ``DCGM_FI_DEV_GPU_UTIL`` (gauge, %), line 29 ``DCGM_FI_DEV_XID_ERRORS`` (gauge, "Value of
  the last XID error encountered"), line 39 ``DCGM_FI_DEV_FB_USED`` (gauge, MiB); the same lines of
  etc/default-counters.csv @00d6d344. Labels ``gpu``, ``UUID``, ``Hostname``, ``modelName``.
- kube-state-metrics: read at kubernetes/kube-state-metrics@v2.20.0 internal/store/:
  pod.go:417 ``kube_pod_container_status_ready`` and :566 ``kube_pod_container_status_waiting_reason``
  (labels ``namespace``, ``pod``, ``uid`` (pod.go:41), ``container``, ``reason``); node.go:509
  ``kube_node_status_condition`` (``node`` (node.go:42), ``condition``, ``status``);
  horizontalpodautoscaler.go:151 ``kube_horizontalpodautoscaler_spec_max_replicas``, :335
  ``..._status_current_replicas``, :354 ``..._status_desired_replicas`` (``namespace``,
  ``horizontalpodautoscaler``, :51). AKS's metrics add-on runs its own kube-state-metrics build; its
  minimal ingestion profile (on by default) keeps only a list of names, and every name here is on it:
  read at Azure/prometheus-collector@9c7c5f74
  otelcollector/shared/configmap/mp/tomlparser-default-targets-metrics-keep-list.go,
  ``kubestateRegex_minimal_mac`` (``kube_pod_status_ready`` is not, hence the container form).
- Service Bus (an Azure Monitor platform metric, not Prometheus): Microsoft's "Supported metrics -
  Microsoft.ServiceBus/Namespaces" (MicrosoftDocs/azure-reference-other
  azure-monitor-ref/supported-metrics/microsoft-servicebus-namespaces-metrics.md): ``ActiveMessages``
  and ``DeadletteredMessages``, Count, aggregations Average/Minimum/Maximum, dimension ``EntityName``,
  PT1M. Counts only: Service Bus publishes no message age.
"""

from __future__ import annotations

# vLLM (OpenAI server /metrics)
VLLM_REQUESTS_RUNNING = "vllm:num_requests_running"
VLLM_REQUESTS_WAITING = "vllm:num_requests_waiting"
VLLM_KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"  # a fraction, 0..1
VLLM_TTFT_SECONDS = "vllm:time_to_first_token_seconds"
VLLM_METRICS = frozenset(
    {
        VLLM_REQUESTS_RUNNING,
        VLLM_REQUESTS_WAITING,
        VLLM_KV_CACHE_USAGE,
        VLLM_TTFT_SECONDS + "_bucket",
        "vllm:generation_tokens_total",
        "vllm:prompt_tokens_total",
    }
)

# NVIDIA DCGM exporter (default counters)
DCGM_XID_ERRORS = "DCGM_FI_DEV_XID_ERRORS"
DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
DCGM_METRICS = frozenset({DCGM_XID_ERRORS, DCGM_GPU_UTIL, DCGM_FB_USED})

# kube-state-metrics (as the AKS metrics add-on keeps them)
KSM_CONTAINER_READY = "kube_pod_container_status_ready"
KSM_CONTAINER_WAITING_REASON = "kube_pod_container_status_waiting_reason"
KSM_NODE_CONDITION = "kube_node_status_condition"
KSM_HPA_MAX = "kube_horizontalpodautoscaler_spec_max_replicas"
KSM_HPA_CURRENT = "kube_horizontalpodautoscaler_status_current_replicas"
KSM_HPA_DESIRED = "kube_horizontalpodautoscaler_status_desired_replicas"
KSM_METRICS = frozenset(
    {
        KSM_CONTAINER_READY,
        KSM_CONTAINER_WAITING_REASON,
        KSM_NODE_CONDITION,
        KSM_HPA_MAX,
        KSM_HPA_CURRENT,
        KSM_HPA_DESIRED,
    }
)
# The labels each kube-state-metrics family carries (the rules group and match on these only).
KSM_LABELS = {
    KSM_CONTAINER_READY: frozenset({"namespace", "pod", "uid", "container"}),
    KSM_CONTAINER_WAITING_REASON: frozenset({"namespace", "pod", "uid", "container", "reason"}),
    KSM_NODE_CONDITION: frozenset({"node", "condition", "status"}),
    KSM_HPA_MAX: frozenset({"namespace", "horizontalpodautoscaler"}),
    KSM_HPA_CURRENT: frozenset({"namespace", "horizontalpodautoscaler"}),
    KSM_HPA_DESIRED: frozenset({"namespace", "horizontalpodautoscaler"}),
}

# KEDA names the HPA of a ScaledObject `keda-hpa-<name>` (kedacore/keda controllers/keda/hpa.go,
# getDefaultHpaName) unless the ScaledObject names it; the program's never do.
KEDA_HPA_PREFIX = "keda-hpa-"

# Azure Monitor platform metrics of a Service Bus namespace (Microsoft.ServiceBus/namespaces)
SERVICE_BUS_NAMESPACE_TYPE = "Microsoft.ServiceBus/namespaces"
SERVICE_BUS_ACTIVE = "ActiveMessages"
SERVICE_BUS_DEAD_LETTERED = "DeadletteredMessages"
SERVICE_BUS_ENTITY_DIMENSION = "EntityName"
