"""Pure sizing arithmetic: weights, KV cache, tensor parallelism, KAITO's node estimate."""

from sizing.kaito_estimator import KaitoEstimate, KaitoEstimateError, kaito_nodes_per_replica
from sizing.memory import (
    BYTES_PER_PARAM,
    ModelArch,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    weight_bytes,
)
from sizing.model_sizing import (
    SizingResult,
    default_max_model_len,
    replicas_for_peak,
    serving_dtype,
    size_model,
)

__all__ = [
    "BYTES_PER_PARAM",
    "KaitoEstimate",
    "KaitoEstimateError",
    "ModelArch",
    "SizingResult",
    "default_max_model_len",
    "kaito_nodes_per_replica",
    "kv_bytes_per_sequence",
    "kv_bytes_per_token",
    "replicas_for_peak",
    "serving_dtype",
    "size_model",
    "weight_bytes",
]
