"""The one versions file: every pin has a version, a source and a comment a dependency bot reads."""

from __future__ import annotations

import re

import yaml

from config import versions
from tests.conftest import PROGRAM_PACKAGES

RENOVATE = re.compile(
    r"# renovate: datasource=(?P<datasource>\S+) depName=(?P<dep>\S+)( registryUrl=(?P<url>\S+))?\n"
    r"\s+version: \"?(?P<version>[^\"\s]+)\"?"
)


def test_every_pin_carries_a_renovate_comment_and_a_source() -> None:
    text = versions.VERSIONS_FILE.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    matches = list(RENOVATE.finditer(text))
    assert len(matches) == len(data["images"]) + len(data["charts"])
    for name in data["images"]:
        image = versions.image(name)
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.digest) and image.source
        assert image.version != "latest"
    for name, entry in data["charts"].items():
        pin = versions.chart(name)
        assert pin.source and pin.repository.startswith("https://")
        assert any(m["url"] == entry["repository"] and m["version"] == pin.version for m in matches)


def test_no_version_is_stated_outside_the_versions_file() -> None:

    root = versions.VERSIONS_FILE.parent
    data = yaml.safe_load(versions.VERSIONS_FILE.read_text(encoding="utf-8"))
    pins = [f'"{e["version"]}"' for e in data["charts"].values()] + [
        e["digest"] for e in data["images"].values()
    ]
    for folder in PROGRAM_PACKAGES:
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pin in pins:
                assert pin not in text, f"{path.relative_to(root)} states {pin} again"
