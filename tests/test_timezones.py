"""Time zones come from the pinned tzdata package alone (config.timezones), never the machine's."""

from __future__ import annotations

import zoneinfo
from importlib import metadata
from pathlib import Path

import pytest

from config.timezones import iana_zones, zone_info
from sizing.business_hours import REFERENCE_INSTANT, utc_offset_minutes

ROOT = Path(__file__).resolve().parent.parent


def test_tzdata_is_pinned_and_installed_at_that_version() -> None:
    pins = {
        line.split("==")[0].lower(): line.split("==")[1].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert pins.get("tzdata") == metadata.version("tzdata")
    assert f"tzdata=={pins['tzdata']}" in (ROOT / "constraints.txt").read_text().splitlines()


def test_the_zone_list_is_the_packages_own() -> None:
    zones = iana_zones()
    assert {"Europe/Stockholm", "America/New_York", "Etc/UTC", "UTC"} <= zones
    assert "localtime" not in zones and "Factory" not in zones and "posixrules" not in zones


def test_offsets_are_read_from_the_package_even_without_a_system_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no system zone database (TZPATH empty: a slim container) the answer is the same."""
    zone_info.cache_clear()
    with_system = utc_offset_minutes("Asia/Kolkata")
    zoneinfo.reset_tzpath(to=[])
    try:
        zone_info.cache_clear()
        assert utc_offset_minutes("Asia/Kolkata") == with_system == 330
        assert REFERENCE_INSTANT.astimezone(zone_info("Europe/Stockholm")).utcoffset() is not None
        assert utc_offset_minutes("localtime") is None
    finally:
        zoneinfo.reset_tzpath()
        zone_info.cache_clear()
