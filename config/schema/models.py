"""The inference services (``aks-llm:models``): the model, its runtime and pool, workload, replicas and
business hours; and the namespace they run in (``aks-llm:inference``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.catalog import closest_names
from config.errors import KeyValueError
from config.schema.base import DnsLabel, K8sName, Purpose, Strict
from config.timezones import iana_zones


class CustomArchitectureConfig(Strict):
    """A model that is not in the catalog: its architecture, from its config.json."""

    hf_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    """Hugging Face repository id (`owner/name`) of the weights."""
    parameters: Annotated[int, Field(ge=10_000_000, le=100_000_000_000_000)]
    """Parameter count."""
    layers: Annotated[int, Field(ge=1, le=512)]
    """Number of transformer layers (`num_hidden_layers`)."""
    attention_heads: Annotated[int, Field(ge=1, le=1024)]
    """Attention heads (`num_attention_heads`); a multiple of `kvHeads`."""
    kv_heads: Annotated[int, Field(ge=1, le=1024)]
    """Key/value heads (`num_key_value_heads`)."""
    head_dim: Annotated[int, Field(ge=16, le=1024)]
    """Dimension of one attention head."""
    context_length: Annotated[int, Field(ge=256, le=10_485_760)]
    """Longest context the model supports, in tokens (`max_position_embeddings`)."""
    sliding_window: Annotated[int, Field(ge=1, le=10_485_760)] | None = None
    """Sliding-window size in tokens, for models with sliding-window layers."""
    sliding_layers: Annotated[int, Field(ge=0, le=512)] = 0
    """How many layers use the sliding window (at most `layers`; needs `slidingWindow`)."""
    gated: bool = False
    """The weights download only with a Hugging Face token (`hfToken` is then required)."""

    @model_validator(mode="after")
    def _heads(self) -> CustomArchitectureConfig:
        if self.attention_heads % self.kv_heads:
            raise KeyValueError(
                "attentionHeads",
                f"attentionHeads ({self.attention_heads}) must be a multiple of kvHeads ({self.kv_heads})",
            )
        if self.sliding_layers > self.layers:
            raise KeyValueError(
                "slidingLayers", f"slidingLayers ({self.sliding_layers}) exceeds layers ({self.layers})"
            )
        if self.sliding_layers and self.sliding_window is None:
            raise KeyValueError("slidingWindow", "slidingLayers needs slidingWindow")
        return self


class WorkloadConfig(Strict):
    """What callers send: p95 token counts and the peak of concurrent requests."""

    p95_prompt_tokens: Annotated[int, Field(ge=1, le=2_000_000)] = 1024
    """95th percentile of prompt length, in tokens."""
    p95_completion_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 512
    """95th percentile of completion length, in tokens."""
    peak_concurrent_requests: Annotated[int, Field(ge=1, le=100_000)] = 8
    """Peak of concurrent requests; sizes the replicas' maximum when `replicas.max` is unset."""
    peak_requests_per_second: Annotated[float, Field(gt=0, le=100_000)] | None = None
    """Peak request rate, instead of `peakConcurrentRequests`: the replicas' maximum is what it takes to
    complete that many requests a second, each replica at the batch that meets the latency targets
    (roofline estimate, docs/advisor.md)."""
    ttft_ms: Annotated[float, Field(gt=0, le=600_000)] | None = None
    """Time-to-first-token target in ms for a p95 prompt (roofline estimate, no queueing): a replica runs
    at most the batch that meets it (`--max-num-seqs`); refused when the pool's GPU cannot meet it."""
    tpot_ms: Annotated[float, Field(gt=0, le=60_000)] | None = None
    """Time-per-output-token target in ms (roofline estimate, prefill stalls included): a replica runs at
    most the batch that meets it (`--max-num-seqs`); refused when the pool's GPU cannot meet it."""
    max_model_len: Annotated[int, Field(ge=256, le=10_485_760)] | None = None
    """vLLM `--max-model-len` in tokens (unset: derived). Not below p95PromptTokens + p95CompletionTokens:
    vLLM would refuse the p95 request."""
    max_num_seqs: Annotated[int, Field(ge=1, le=4096)] | None = None
    """vLLM `--max-num-seqs`, sequences one replica batches at once (unset: derived by the sizing)."""
    gpu_memory_utilization: Annotated[float, Field(gt=0.3, le=0.98)] = 0.90
    """vLLM `--gpu-memory-utilization`: the fraction of GPU memory vLLM may use."""

    @property
    def has_targets(self) -> bool:
        """Latency targets or a request rate: the roofline estimate sizes the batch and the replicas."""
        return any(v is not None for v in (self.ttft_ms, self.tpot_ms, self.peak_requests_per_second))

    @model_validator(mode="after")
    def _one_peak(self) -> WorkloadConfig:
        if self.peak_requests_per_second is not None and "peak_concurrent_requests" in self.model_fields_set:
            raise ValueError(
                "peakRequestsPerSecond and peakConcurrentRequests both given: give the peak one way (the "
                "replicas come from the rate and the targets, or from the concurrency)"
            )
        return self

    @model_validator(mode="after")
    def _request_fits(self) -> WorkloadConfig:
        # vLLM refuses a request whose prompt plus max_tokens exceeds max_model_len (its input
        # processor's length check), so the p95 request must fit.
        needed = self.p95_prompt_tokens + self.p95_completion_tokens
        if self.max_model_len is not None and self.max_model_len < needed:
            raise KeyValueError(
                "maxModelLen",
                f"maxModelLen {self.max_model_len} is below p95PromptTokens + p95CompletionTokens "
                f"({needed}): vLLM would refuse the p95 request; raise maxModelLen to at least {needed}",
            )
        return self


class ReplicasConfig(Strict):
    """How many replicas of a model the autoscaler (KEDA) runs."""

    min: Annotated[int, Field(ge=0, le=100)] = 0
    """Fewest replicas (0 needs `scaleToZero: true`; 1 or more needs `scaleToZero: false`)."""
    max: Annotated[int, Field(ge=1, le=100)] | None = None
    """Most replicas the autoscaler runs (unset: ceil(peakConcurrentRequests / max-num-seqs)); not below
    `min`."""


def _iana_zone(value: str) -> str:
    """Accepted: an IANA time zone of the pinned tzdata package (e.g. `Europe/Stockholm`, `Etc/UTC`)."""
    if value not in iana_zones():
        hint = closest_names(value, sorted(iana_zones()))
        also = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise ValueError(
            f"not an IANA time zone: KEDA's cron trigger (the business-hours pre-warm) could not run{also} "
            "(an IANA name such as Europe/Stockholm, America/New_York or Etc/UTC)"
        )
    return value


class ScheduleConfig(Strict):
    """Business hours: replicas are pre-warmed inside them (KEDA cron trigger)."""

    timezone: Annotated[str, AfterValidator(_iana_zone)] = "Etc/UTC"
    """IANA time zone of `start` and `end` (e.g. `Europe/Stockholm`)."""
    start: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "08:00"
    """Time business hours start (`HH:MM`)."""
    end: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "18:00"
    """Time business hours end (`HH:MM`); not equal to `start` (KEDA refuses it)."""
    days: Annotated[str, Field(pattern=r"^[0-6](-[0-6])?(,[0-6](-[0-6])?)*$")] = "1-5"
    """Days of the week in cron form, 0 = Sunday (`1-5`: Monday to Friday); a range may not run backwards."""
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    """Replicas kept warm in business hours; at most the replicas' maximum."""

    @model_validator(mode="after")
    def _keda_accepts(self) -> ScheduleConfig:
        # KEDA v2.19.0 (the AKS add-on on 1.36; commit 3f88d60a) parses start/end with robfig/cron
        # v3.0.1 (pkg/scalers/cron_scaler.go:39-46), whose getRange refuses a range whose start is
        # past its end (parser.go:311 at v3.0.1: "beginning of range (%d) beyond end of range (%d)"),
        # and cronMetadata.Validate refuses start == end (cron_scaler.go:48-50: "start and end can not
        # have exactly same time input"). renderers.autoscaling.cron_window would move an end at the
        # start time to the next days (a 24 h window KEDA accepts), so equal times are refused here:
        # whether an empty or a full-day window is meant is the user's to say.
        for part in self.days.split(","):
            first, _, last = part.partition("-")
            if last and int(first) > int(last):
                raise KeyValueError(
                    "days",
                    f"days {self.days!r}: the range {part} runs backwards, which KEDA's cron parser "
                    f"refuses; split it, e.g. {first}-6,0-{last}",
                )
        if self.start == self.end:
            raise KeyValueError(
                "end",
                f"start and end are both {self.start}: KEDA's cron scaler refuses a window that starts "
                "and ends at the same time",
            )
        return self


def _revision(value: str) -> str:
    if re.fullmatch(r"[0-9a-f]{40}", value) is None:
        raise ValueError(
            "a revision is the model repository's 40-character commit hash (lower-case hex), never a branch "
            "or tag such as main: a moving name would seed different weights under the same path"
        )
    return value


# A Hugging Face commit hash: the weights in Blob live under <model>/<revision>.
Revision = Annotated[str, AfterValidator(_revision)]


class InferencePoolConfig(Strict):
    """Cache-aware routing through the Gateway API Inference Extension: an InferencePool over the model's
    pods and its endpoint picker (EPP), which sends each request to the replica with the most of its
    prefix cached and the least load. Refused for now: the gateway cannot route to it (docs:
    inference-routing.md)."""

    prefix_cache_weight: Annotated[int, Field(ge=0, le=10)] = 3
    """Weight of the EPP's `prefix-cache-scorer` (requests sharing a prompt prefix go to the replica
    that holds it; 0: off)."""
    queue_weight: Annotated[int, Field(ge=0, le=10)] = 2
    """Weight of the EPP's `queue-scorer` (fewest waiting requests; 0: off)."""
    kv_cache_weight: Annotated[int, Field(ge=0, le=10)] = 2
    """Weight of the EPP's `kv-cache-utilization-scorer` (most free KV cache; 0: off)."""

    @model_validator(mode="after")
    def _one_scorer(self) -> InferencePoolConfig:
        if self.prefix_cache_weight == self.queue_weight == self.kv_cache_weight == 0:
            raise KeyValueError(
                "prefixCacheWeight",
                "every scorer weight is 0: the endpoint picker would choose at random; give at least one "
                "a weight from 1 to 10",
            )
        return self


class ModelConfig(Strict):
    """One inference service: a model, the runtime that serves it, where it runs and its workload."""

    name: DnsLabel
    """Service name (a DNS label); unique among models."""
    model: str | None = None
    """Catalog model id (e.g. `phi-4`); exactly one of `model` or `custom`."""
    custom: CustomArchitectureConfig | None = None
    """A model that is not in the catalog, described by its architecture; exactly one of `model` or
    `custom`."""
    runtime: Literal["kaito", "vllm"] = "vllm"
    """`vllm` (a vLLM Deployment) or `kaito` (a KAITO Workspace or InferenceSet; KAITO runs Ampere or newer
    GPUs only)."""
    pool: str
    """The GPU pool (or, in NAP mode, the NodePool) the model runs on."""
    purpose: Purpose = "serving"
    """`serving` (interactive) or `batch` (fed by the async queue)."""
    quantization: Literal["auto", "fp8", "awq", "gptq"] = "auto"
    """`auto`, or (vLLM only) `fp8` (compute capability 8.0+), `awq`/`gptq` (a pre-quantized custom
    checkpoint)."""
    workload: WorkloadConfig = Field(default_factory=WorkloadConfig)
    """What callers send; sizes the vLLM settings and the replicas."""
    replicas: ReplicasConfig = Field(default_factory=ReplicasConfig)
    """Replica bounds of the autoscaler."""
    schedule: ScheduleConfig | None = None
    """Business hours in which replicas are pre-warmed (a KEDA cron trigger); unset: none."""
    revision: Revision | None = None
    """The model repository's commit hash to serve (40 hex characters, never `main`): with `modelWeights`
    set, its files are seeded into Blob once and vLLM streams them from there."""
    scale_to_zero: bool = True
    """Scale to 0 replicas when idle (`replicas.min` must be 0; false: at least 1). Something must wake it:
    a schedule, the KEDA HTTP add-on (serving vLLM) or the async queue's worker (`worker.image` set)."""
    inference_pool: InferencePoolConfig | None = None
    """Cache-aware routing (Gateway API Inference Extension) for a vLLM model with more than one replica at
    peak; unset: the gateway balances over the model's Service. Refused for now (inference-routing.md)."""

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        if (self.model is None) == (self.custom is None):
            raise ValueError("give exactly one of model (a catalog id) or custom (an architecture)")
        return self


class InferenceConfig(Strict):
    """The namespace and ServiceAccount the model services run in."""

    namespace: K8sName = "inference"
    """Namespace of the model services (not a Kubernetes, AKS or add-on namespace)."""
    service_account: K8sName = "inference"
    """ServiceAccount the model services run as."""
    caller_namespaces: list[K8sName] = Field(default_factory=list)
    """Other namespaces whose pods may call the models (the NetworkPolicy also admits the inference
    namespace, the KEDA HTTP interceptor and the metrics scraper)."""
