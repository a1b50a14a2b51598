"""A model's identity and architecture: from the catalog, or from its ``custom:`` block (pure).

Below ``sizing.deployments`` (which plans each model from it) and ``sizing.advisor`` (which ranks SKUs
for it), so that neither needs the other.
"""

from __future__ import annotations

from config.catalog import Catalog
from config.schema import ModelConfig
from sizing.memory import ModelArch

_QUANTIZED_WEIGHTS = {"fp8": "fp8", "awq": "awq", "gptq": "gptq"}


def model_arch(model: ModelConfig, catalog: Catalog) -> tuple[str, str, ModelArch, bool, str | None, str]:
    """(id, hf id, architecture, gated, KAITO preset, weights dtype) of a catalog or custom model."""
    if model.custom is not None:
        c = model.custom
        arch = ModelArch(
            parameters=c.parameters,
            layers=c.layers,
            attention_heads=c.attention_heads,
            kv_heads=c.kv_heads,
            head_dim=c.head_dim,
            context_length=c.context_length,
            sliding_window=c.sliding_window,
            sliding_layers=c.sliding_layers,
        )
        dtype = _QUANTIZED_WEIGHTS.get(model.quantization, "bf16")
        return c.hf_id, c.hf_id, arch, c.gated, None, dtype
    spec = catalog.model(str(model.model))
    dtype = _QUANTIZED_WEIGHTS.get(model.quantization, spec.weights_dtype)
    return spec.id, spec.hf_id, ModelArch.from_spec(spec), spec.gated, spec.kaito_preset, dtype
