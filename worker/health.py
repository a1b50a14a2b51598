"""``python -m worker.health``: exit 0 while the worker loop touched its health file recently (the
loop touches it at least every few seconds; a hung loop or a dead Service Bus link stops that)."""

from __future__ import annotations

import os
import sys
import time

MAX_AGE_SECONDS = 60


def healthy(path: str, max_age: float = MAX_AGE_SECONDS, now: float | None = None) -> bool:
    try:
        age = (time.time() if now is None else now) - os.stat(path).st_mtime
    except OSError:
        return False
    return age <= max_age


if __name__ == "__main__":
    sys.exit(0 if healthy(os.environ.get("HEALTH_FILE", "/tmp/healthy")) else 1)
