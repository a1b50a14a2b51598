"""Where a model's weights come from at start: Blob (streamed), or why not (pure).

A vLLM model streams from ``az://<container>/<model>/<revision>`` when the stack keeps weights in Blob
(``modelWeights``), the model pins a ``revision``, the pinned vLLM release reads ``az://``
(``facts.vllm_runai``) and its image ships the Run:ai streamer with the Azure backend (``facts.vllm_image``:
``runai-model-streamer[s3,gcs,azure]`` in v0.31.0's Dockerfile); otherwise it reads its Azure Files share
and the plan says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import versions
from config.schema import ModelConfig, ModelWeightsConfig
from facts.vllm_image import IMAGES
from facts.vllm_runai import RUNAI_AZ_MIN_VERSION, streams_from_azure_blob


@dataclass(frozen=True)
class WeightsSource:
    """Blob (``blob_path`` set) or the fallback, with the reason."""

    blob_path: str | None  # <model>/<revision> inside the container
    container: str | None
    reason: str  # why this source (the plan prints it)

    @property
    def streamed(self) -> bool:
        return self.blob_path is not None


FILES_SHARE = WeightsSource(None, None, "Files share")


def vllm_version() -> str:
    return versions.image("vllm").version


def blob_name(model: ModelConfig) -> str:
    """The model's folder in the container: its stack name (a DNS label, unique per stack)."""
    return model.name


def weights_source(
    model: ModelConfig, weights: ModelWeightsConfig | None, vllm: str | None = None
) -> WeightsSource:
    """The model's weights source under the stack's ``modelWeights`` and the pinned vLLM release."""
    release = vllm or vllm_version()
    need = ".".join(str(n) for n in RUNAI_AZ_MIN_VERSION)
    if model.runtime == "kaito":
        return WeightsSource(
            None,
            None,
            "KAITO serves it: KAITO 0.12.0 downloads preset weights itself (its ModelMirror CRD is not "
            "used here)",
        )
    if weights is None:
        return WeightsSource(
            None, None, "the stack keeps no weights in Blob (modelWeights unset): Files share"
        )
    if model.revision is None:
        return WeightsSource(None, None, "no revision pinned (models[].revision): Files share")
    if not streams_from_azure_blob(release):
        return WeightsSource(
            None, None, f"vLLM {release} cannot stream az:// (needs >= {need}): Files share, Blob seeded"
        )
    image = IMAGES.get(release.lstrip("v"))
    if image is not None and not image.runai_streamer:
        return WeightsSource(
            None, None, f"the vLLM {release} image lacks the Run:ai streamer: Files share, Blob seeded"
        )
    return WeightsSource(
        f"{blob_name(model)}/{model.revision}",
        weights.container,
        f"Blob {weights.container}/{blob_name(model)}/{model.revision[:12]}..., vLLM {release} "
        "runai_streamer",
    )


def seeded(model: ModelConfig, weights: ModelWeightsConfig | None) -> bool:
    """Whether the seeding Job copies this model into Blob: a vLLM model with a revision, in a stack that
    keeps weights in Blob (seeded even while the pinned vLLM cannot stream yet, so a pin move finds them)."""
    return weights is not None and model.runtime == "vllm" and model.revision is not None
