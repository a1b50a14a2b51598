"""Pinned container images and chart versions."""

from __future__ import annotations

import re

DEFAULT_MOVING_TAGS = ("latest", "main", "master", "nightly", "edge")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# A chart version Helm resolves to exactly one release: semver, optionally with a leading v.
_CHART_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def image_problem(
    image: str, moving_tags: tuple[str, ...] = DEFAULT_MOVING_TAGS, require_tag: bool = True
) -> str | None:
    """Why ``image`` is not pinned, or None when it names one build (a version tag or a digest).

    ``require_tag=False`` (Helm values): an image without a tag is not a problem, charts keep the tag
    in a key of its own (``tag``, ``version``) or default it to their pinned appVersion.
    """
    ref = image.strip()
    if not ref:
        return "is empty"
    if "@" in ref:
        digest = ref.split("@", 1)[1]
        return None if _DIGEST.match(digest) else f"has a malformed digest {digest!r}"
    last = ref.rsplit("/", 1)[-1]  # a registry port (host:5000/...) is not a tag
    if ":" not in last:
        return "has no tag, so it means :latest" if require_tag else None
    tag = last.rsplit(":", 1)[1]
    if not tag:
        return "has an empty tag"
    if tag.lower() in moving_tags:
        return f"uses the moving tag :{tag}"
    return None


def chart_version_problem(version: object) -> str | None:
    """Why a Helm chart ``version`` is not pinned, or None."""
    if not isinstance(version, str) or not version.strip():
        return "has no version, so Helm installs whatever the repository serves as newest"
    if not _CHART_VERSION.match(version.strip()):
        return f"has version {version!r}, a range or tag rather than one release"
    return None
