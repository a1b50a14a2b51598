"""Which vLLM releases stream weights from Azure Blob (``az://``) with the Run:ai Model Streamer.

vLLM's page "Loading models with Run:ai Model Streamer" (docs.vllm.ai/en/stable/models/extensions/
runai_model_streamer) documents ``vllm serve az://<container>/<model-path> --load-format runai_streamer``
with ``AZURE_STORAGE_ACCOUNT_NAME`` set and authentication by ``DefaultAzureCredential`` (managed identity,
so workload identity); the same page at v0.8.5 (docs.vllm.ai/en/v0.8.5) lists ``s3://`` and ``gs://``
only. Issue 24 names 0.18.0 as the first release with ``az://``; the vLLM repository snapshot is over the
fetch limit here, so the release was not read in the source: read at docs.vllm.ai, not verified.
"""

from __future__ import annotations

RUNAI_AZ_MIN_VERSION = (0, 18, 0)
RUNAI_AZ_SOURCE = (
    "docs.vllm.ai runai_model_streamer (az:// from vLLM 0.18.0, issue 24); absent from v0.8.5's page"
)
LOAD_FORMAT = "runai_streamer"
ACCOUNT_ENV = "AZURE_STORAGE_ACCOUNT_NAME"  # the account the az:// URI's container lives in
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"  # the webhook injects the federated token


def version_tuple(version: str) -> tuple[int, ...]:
    """``v0.11.0`` / ``0.18.1rc1`` -> (0, 11, 0) / (0, 18, 1): the numeric release, pre-release ignored."""
    parts: list[int] = []
    for piece in version.lstrip("v").split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
    return tuple(parts)


def streams_from_azure_blob(vllm_version: str) -> bool:
    """Whether this vLLM release loads ``az://`` URIs with ``--load-format runai_streamer``."""
    return version_tuple(vllm_version) >= RUNAI_AZ_MIN_VERSION
