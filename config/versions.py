"""Pinned container images and Helm charts, read from the one versions file (`versions.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

VERSIONS_FILE = Path(__file__).resolve().parent.parent / "versions.yaml"


@dataclass(frozen=True)
class ImagePin:
    """A container image pinned by tag and digest."""

    repository: str
    version: str
    digest: str
    source: str

    @property
    def reference(self) -> str:
        """The full reference: repository, tag and digest."""
        return f"{self.repository}:{self.version}@{self.digest}"


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart pinned by version, with the repository it is pulled from."""

    repository: str
    version: str
    source: str


@cache
def _load() -> dict[str, dict[str, dict[str, str]]]:
    data: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(VERSIONS_FILE.read_text(encoding="utf-8"))
    return data


def image(name: str) -> ImagePin:
    """The pinned image `name` (a key under `images:`)."""
    entry = _load()["images"][name]
    return ImagePin(entry["repository"], str(entry["version"]), entry["digest"], entry["source"])


def chart(name: str) -> ChartPin:
    """The pinned chart `name` (a key under `charts:`)."""
    entry = _load()["charts"][name]
    return ChartPin(entry["repository"], str(entry["version"]), entry["source"])


def image_names() -> list[str]:
    """Every pinned image's key, in the file's order."""
    return list(_load()["images"])


def chart_names() -> list[str]:
    """Every pinned chart's key, in the file's order."""
    return list(_load()["charts"])
