"""Model weights in a Blob container (``aks-llm:modelWeights``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from config.schema.base import Strict


class ModelWeightsConfig(Strict):
    """Model weights in a Blob container, seeded once per pinned revision, streamed by vLLM."""

    storage_account_id: (
        Annotated[
            str,
            Field(
                pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/"
                r"storageAccounts/[a-z0-9]{3,24}$"
            ),
        ]
        | None
    ) = None
    """Adopt this storage account (its resource id) instead of creating one; the container goes in it."""
    container: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")] = "model-weights"
    """The Blob container holding `<model>/<revision>/` for every seeded model."""
