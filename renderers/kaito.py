"""KAITO's inference configuration of a model, rendered from its ``ModelPlan`` (pure, no Pulumi).

``components/kaito_model.py`` puts it in the model's ConfigMap.
"""

from __future__ import annotations

import yaml

from sizing.deployments import ModelPlan


def kaito_inference_config(plan: ModelPlan) -> str:
    """The ``inference_config.yaml`` of KAITO's ConfigMap: the derived vLLM parameters.

    Tensor parallelism is left to KAITO: it spreads a replica over the GPUs (and nodes) it provisions.
    """
    s = plan.sizing
    vllm = {
        "gpu-memory-utilization": s.gpu_memory_utilization,
        "max-model-len": s.max_model_len,
        "max-num-seqs": s.max_num_seqs,
        "dtype": plan.dtype,
    }
    return yaml.safe_dump({"vllm": vllm}, sort_keys=False)
