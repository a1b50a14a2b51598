"""KAITO's node estimator (NAP + vLLM), reproduced to predict the nodes KAITO will provision.

Source: kaito-project/kaito v0.12.0 pkg/workspace/estimator/nodesestimator/estimator.go @056b8280.
``bytes_per_token`` is KAITO's preset ``BytesPerToken``: 2 x num_hidden_layers x kv_heads x head_dim x
dtype size over ALL layers, with no sliding-window discount (pkg/model/interface.go), i.e. the catalog's
16-bit all-layer KV bytes per token. KAITO uses the preset's safetensors size, not the parameter count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sizing.memory import GIB

GPU_MEMORY_UTILIZATION = 0.84
WEIGHT_EXPANSION_FACTOR = 1.02  # vLLM's loaded weights are ~102 % of the safetensors size
BASE_OVERHEAD_GIB = 2.3
OVERHEAD_WEIGHT_FACTOR = 0.05
DEFAULT_MAX_MODEL_LEN = 2048


class KaitoEstimateError(ValueError):
    """KAITO rejects the SKU: per-GPU memory does not even cover its fixed reserve."""


@dataclass(frozen=True)
class KaitoEstimate:
    """Intermediate figures (GiB) and the result of KAITO's estimate."""

    model_size_gib: float
    per_gpu_gib: float
    avail_gib: float
    fixed_reserve_gib: float
    avail_per_gpu_gib: float
    min_gpus: int
    nodes_per_replica: int


def kaito_nodes_per_replica(
    model_file_size_gib: float,
    sku_total_gpu_memory_gib: int,
    sku_gpu_count: int,
    bytes_per_token: int,
    max_model_len: int = DEFAULT_MAX_MODEL_LEN,
) -> KaitoEstimate:
    """Nodes per replica KAITO provisions; raises KaitoEstimateError where KAITO itself errors.

    Mirrors the Go arithmetic: bytes as integers, per-GPU memory by integer division, and
    ``minGPUs = int(modelSize / availPerGPU) + 1`` (so an exact multiple still adds one GPU).
    """
    if sku_gpu_count < 1 or sku_total_gpu_memory_gib <= 0 or max_model_len < 1:
        raise ValueError("GPU count, GPU memory and max_model_len must be positive")
    model_size = math.ceil(model_file_size_gib * GIB) * WEIGHT_EXPANSION_FACTOR
    per_gpu = float(sku_total_gpu_memory_gib * GIB // sku_gpu_count)
    avail = per_gpu * GPU_MEMORY_UTILIZATION
    fixed_reserve = BASE_OVERHEAD_GIB * GIB + float(max_model_len * bytes_per_token) / sku_gpu_count
    if avail <= fixed_reserve:
        raise KaitoEstimateError(
            f"KAITO: GPU memory {per_gpu / GIB:.1f} GiB x {GPU_MEMORY_UTILIZATION} is below its reserve "
            f"{fixed_reserve / GIB:.1f} GiB ({BASE_OVERHEAD_GIB} GiB + KV of {max_model_len} tokens)"
        )
    avail_per_gpu = (avail - fixed_reserve) / (1 + OVERHEAD_WEIGHT_FACTOR)
    min_gpus = int(model_size / avail_per_gpu) + 1
    return KaitoEstimate(
        model_size_gib=model_size / GIB,
        per_gpu_gib=per_gpu / GIB,
        avail_gib=avail / GIB,
        fixed_reserve_gib=fixed_reserve / GIB,
        avail_per_gpu_gib=avail_per_gpu / GIB,
        min_gpus=min_gpus,
        nodes_per_replica=math.ceil(min_gpus / sku_gpu_count),
    )
