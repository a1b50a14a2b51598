"""The Gateway API CRDs the program installs: the standard-channel bundle AKS's Managed Gateway API
would put on the cluster (v1.5.1 on Kubernetes 1.36: AKS ``managed-gateway-api.md`` lines 39-44),
vendored byte-for-byte in ``facts/gateway_api_v1_5_1/`` (its SOURCES.md: upstream tag, commit, blobs)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

BUNDLE_VERSION = "v1.5.1"
CRD_DIR = Path(__file__).parent / "gateway_api_v1_5_1"
# Gateway API bundle per Kubernetes minor (managed-gateway-api.md lines 39-44): the one AKS would adopt.
BUNDLE_FOR_MINOR = {"1.34": "v1.3.0", "1.35": "v1.4.1", "1.36": "v1.5.1"}


@cache
def crd_documents() -> tuple[dict[str, Any], ...]:
    """The vendored CustomResourceDefinitions, in file order (gatewayclasses first)."""
    docs: list[dict[str, Any]] = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        docs += [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if isinstance(d, dict)]
    return tuple(docs)
