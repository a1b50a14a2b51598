"""Weight and KV-cache memory from a model's architecture (never from rules of thumb)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from config.catalog import ModelSpec, closest_names

GIB = 2**30

BYTES_PER_PARAM: Mapping[str, float] = MappingProxyType(
    {
        "fp32": 4.0,
        "bf16": 2.0,
        "fp16": 2.0,
        "fp8": 1.0,
        "int8": 1.0,
        "int4": 0.5,
        "awq": 0.5,
        "gptq": 0.5,
        # OCP Microscaling (MX) Formats Specification v1.0: MXFP4 = 4-bit E2M1 elements plus one shared
        # 8-bit E8M0 scale per block of 32 elements -> (32 * 4 + 8) / 32 = 4.25 bits per parameter.
        "mxfp4": 4.25 / 8,
    }
)


def weight_bytes(parameters: int, dtype: str) -> int:
    """Bytes of ``parameters`` weights stored as ``dtype`` (rounded up).

    For mixed checkpoints (gpt-oss keeps attention and embeddings in bf16, experts in MXFP4) this
    under-counts; KAITO's preset file size is the better figure there.
    """
    if dtype not in BYTES_PER_PARAM:
        hint = closest_names(dtype, BYTES_PER_PARAM)
        raise ValueError(f"unknown weights dtype {dtype!r}" + (f"; did you mean {hint[0]}?" if hint else ""))
    if parameters <= 0:
        raise ValueError(f"parameters must be > 0, got {parameters}")
    return math.ceil(parameters * BYTES_PER_PARAM[dtype])


def kv_bytes_per_token(layers: int, kv_heads: int, head_dim: int, kv_bytes: int = 2) -> int:
    """KV-cache bytes per token over ``layers`` layers: 2 (K and V) x layers x kv_heads x head_dim x bytes."""
    return 2 * layers * kv_heads * head_dim * kv_bytes


@dataclass(frozen=True)
class ModelArch:
    """The architecture figures sizing needs; built from a catalog ModelSpec or from stack config."""

    parameters: int
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    context_length: int
    sliding_window: int | None = None
    sliding_layers: int = 0

    def __post_init__(self) -> None:
        for name in ("parameters", "layers", "attention_heads", "kv_heads", "head_dim", "context_length"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 <= self.sliding_layers <= self.layers:
            raise ValueError(f"sliding_layers must be in [0, {self.layers}], got {self.sliding_layers}")
        if self.sliding_layers and (self.sliding_window is None or self.sliding_window <= 0):
            raise ValueError("sliding_layers > 0 needs a positive sliding_window")

    @property
    def full_layers(self) -> int:
        """Layers with full (global) attention."""
        return self.layers - self.sliding_layers

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> ModelArch:
        """The architecture of a catalog model."""
        return cls(
            parameters=spec.parameters,
            layers=spec.layers,
            attention_heads=spec.attention_heads,
            kv_heads=spec.kv_heads,
            head_dim=spec.head_dim,
            context_length=spec.context_length,
            sliding_window=spec.sliding_window,
            sliding_layers=spec.sliding_layers,
        )


def kv_bytes_per_sequence(arch: ModelArch, seq_len: int, kv_bytes: int = 2, *, tp: int = 1) -> int:
    """KV bytes of one ``seq_len``-token sequence on one of ``tp`` tensor-parallel ranks.

    Full-attention layers hold every token; sliding-window layers at most ``sliding_window`` tokens.
    With ``tp`` ranks each holds ceil(kv_heads / tp) KV heads (heads replicate when tp > kv_heads).
    """
    if seq_len < 0 or tp < 1:
        raise ValueError(f"seq_len must be >= 0 and tp >= 1, got {seq_len}, {tp}")
    per_layer_token = kv_bytes_per_token(1, math.ceil(arch.kv_heads / tp), arch.head_dim, kv_bytes)
    sliding_tokens = min(seq_len, arch.sliding_window or 0)
    return per_layer_token * (arch.full_layers * seq_len + arch.sliding_layers * sliding_tokens)
