"""One call to the model's OpenAI-compatible endpoint (stdlib urllib), classified for retrying."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from http.client import HTTPException
from pathlib import Path
from typing import Any

# Worth retrying while the model wakes up or comes back: at zero replicas its Service has no
# endpoints (connection refused), a starting pod is not ready yet, a gateway answers 502/503/504,
# an overloaded server 429; any other 5xx may be a replica dying (a spot eviction).
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class TransientError(Exception):
    """The model could not answer now; the same request may succeed later."""


class PermanentError(Exception):
    """The model refused the request itself (a 4xx): retrying cannot help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


ModelCall = Callable[[str, dict[str, Any], float], dict[str, Any]]


# The file holding this worker's API key (a Secret volume the Deployment mounts when the models check
# keys, components/queue_worker.py); read on every call, so a rotated key is picked up.
API_KEY_FILE_ENV = "MODEL_API_KEY_FILE"


def request_headers(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """JSON headers, plus ``Authorization: Bearer <key>`` when an API key file is configured."""
    env = os.environ if env is None else env
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    path = env.get(API_KEY_FILE_ENV)
    if path:
        headers["Authorization"] = "Bearer " + Path(path).read_text(encoding="utf-8").strip()
    return headers


def call_model(url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST ``payload`` as JSON to ``url``; the decoded JSON answer, or a classified error."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers=request_headers(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as err:
        detail = err.read()[:500].decode(errors="replace")
        if err.code in RETRYABLE_STATUS or err.code >= 500:
            raise TransientError(f"HTTP {err.code}: {detail}") from err
        raise PermanentError(err.code, detail) from err
    except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError) as err:
        raise TransientError(f"{type(err).__name__}: {err}") from err
    except json.JSONDecodeError as err:
        raise TransientError(f"the model answered something that is not JSON: {err}") from err
    if not isinstance(answer, dict):
        raise TransientError("the model answered JSON that is not an object")
    return answer
