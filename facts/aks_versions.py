"""The AKS version calendar (``config/catalog/aks-versions.yaml``): pure lookups, no Pulumi.

``support_status`` decides whether a cluster on a Kubernetes version can be created on a date; the
add-on table says which managed add-on version AKS ships on a minor (KAITO, KEDA, Karpenter), so the
rules about what those add-ons can do follow the cluster's minor.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from config.catalog import CATALOG_DIR

CALENDAR_FILE = CATALOG_DIR / "aks-versions.yaml"
IMAGE_FAMILY_FILE = CATALOG_DIR / "aks-image-families.yaml"
WARN_DAYS = 90  # warn when end of life is this close (issue 11)
LTS_PLAN = "AKSLongTermSupport"
LTS_TIER = "Premium"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_MINOR = re.compile(r"^(1\.\d{2})(\.\d+)?$")


@dataclass(frozen=True)
class AddonVersion:
    """The version of a managed add-on on one minor; ``assumed`` says why when no table lists it."""

    version: str
    assumed: str | None = None


@dataclass(frozen=True)
class AksMinor:
    minor: str
    ga: date  # first day of the GA month
    end_of_life: date  # last day of the end-of-life month
    lts_end_of_life: date
    addons: Mapping[str, AddonVersion]


@dataclass(frozen=True)
class AksCalendar:
    as_of: str
    source: str
    minors: Mapping[str, AksMinor]


@dataclass(frozen=True)
class SupportStatus:
    """What a version means on a date: ``ok``, ``warn`` (end of life within 90 days) or ``refuse``."""

    kind: Literal["ok", "warn", "refuse"]
    minor: str
    end_of_life: date | None  # the one that applies (LTS end on the LTS plan)
    message: str


def _month(file: str, where: str, text: object, *, last_day: bool) -> date:
    m = _MONTH.match(str(text)) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{file}: {where}: {text!r} is not a month like 2026-06")
    year, month = int(m[1]), int(m[2])
    return date(year, month, calendar.monthrange(year, month)[1] if last_day else 1)


@functools.cache
def load_aks_calendar(path: Path = CALENDAR_FILE) -> AksCalendar:
    """Parse and check the calendar (cached); ValueError names the file and the bad entry."""
    file = path.name
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"as_of", "source", "minors"}:
        raise ValueError(f"{file}: top level must hold exactly as_of, source, minors")
    minors: dict[str, AksMinor] = {}
    for minor, raw in data["minors"].items():
        where = f"minors.{minor}"
        if not isinstance(raw, dict) or set(raw) != {"ga", "end_of_life", "lts_end_of_life", "addons"}:
            raise ValueError(f"{file}: {where}: needs exactly ga, end_of_life, lts_end_of_life, addons")
        addons = {}
        for name, a in (raw["addons"] or {}).items():
            if (
                not isinstance(a, dict)
                or not isinstance(a.get("version"), str)
                or set(a) - {"version", "assumed"}
            ):
                raise ValueError(f"{file}: {where}.addons.{name}: needs version (and optionally assumed)")
            addons[name] = AddonVersion(a["version"], a.get("assumed"))
        entry = AksMinor(
            minor=str(minor),
            ga=_month(file, f"{where}.ga", raw["ga"], last_day=False),
            end_of_life=_month(file, f"{where}.end_of_life", raw["end_of_life"], last_day=True),
            lts_end_of_life=_month(file, f"{where}.lts_end_of_life", raw["lts_end_of_life"], last_day=True),
            addons=MappingProxyType(addons),
        )
        if not entry.ga < entry.end_of_life < entry.lts_end_of_life:
            raise ValueError(f"{file}: {where}: needs ga < end_of_life < lts_end_of_life")
        minors[entry.minor] = entry
    return AksCalendar(str(data["as_of"]), str(data["source"]), MappingProxyType(minors))


def minor_of(kubernetes_version: str) -> str:
    """``1.36`` of ``1.36`` or ``1.36.2``; ValueError otherwise."""
    m = _MINOR.match(kubernetes_version)
    if m is None:
        raise ValueError(f"{kubernetes_version!r} is not a Kubernetes version like 1.36 or 1.36.2")
    return m[1]


def lookup(kubernetes_version: str, cal: AksCalendar | None = None) -> AksMinor | None:
    """The calendar entry of the version's minor, or None when the calendar does not list it."""
    return (cal or load_aks_calendar()).minors.get(minor_of(kubernetes_version))


def addon_version(kubernetes_version: str, addon: str, cal: AksCalendar | None = None) -> AddonVersion | None:
    """The version of managed add-on ``addon`` (``ai-toolchain-operator``, ``keda``, ``karpenter``)
    AKS ships on the version's minor, or None when the calendar has no figure for it."""
    entry = lookup(kubernetes_version, cal)
    return entry.addons.get(addon) if entry else None


def creatable_minors(on: date, cal: AksCalendar | None = None) -> list[str]:
    """Minors a Free/Standard cluster can be created on at ``on`` (GA and not past end of life)."""
    cal = cal or load_aks_calendar()
    return [m.minor for m in cal.minors.values() if m.ga <= on <= m.end_of_life]


def support_status(
    kubernetes_version: str, *, tier: str, support_plan: str, on: date, cal: AksCalendar | None = None
) -> SupportStatus:
    """Whether AKS creates (and supports) a cluster on ``kubernetes_version`` at date ``on``."""
    cal = cal or load_aks_calendar()
    minor = minor_of(kubernetes_version)
    entry = cal.minors.get(minor)
    choices = ", ".join(creatable_minors(on, cal)) or "none in the calendar"
    if entry is None:
        return SupportStatus(
            "refuse",
            minor,
            None,
            f"{minor} is not in the AKS version calendar (as of {cal.as_of}); on {on} AKS creates: {choices}",
        )
    lts = support_plan == LTS_PLAN
    if lts and tier != LTS_TIER:
        return SupportStatus(
            "refuse",
            minor,
            None,
            f"supportPlan {LTS_PLAN} needs tier {LTS_TIER} (long-term-support.md line 42)",
        )
    if on < entry.ga:
        return SupportStatus(
            "refuse", minor, entry.end_of_life, f"{minor} is not GA on AKS before {entry.ga}"
        )
    eol = entry.lts_end_of_life if lts else entry.end_of_life
    label = "LTS end of life" if lts else "end of life"
    if on > eol:
        hint = (
            f"; tier {LTS_TIER} with supportPlan {LTS_PLAN} keeps it until {entry.lts_end_of_life}"
            if not lts and on <= entry.lts_end_of_life
            else ""
        )
        return SupportStatus(
            "refuse",
            minor,
            eol,
            f"{minor} reached its AKS {label} on {eol}: AKS refuses to create a cluster on it{hint}; "
            f"on {on} AKS creates: {choices}",
        )
    days = (eol - on).days
    if days <= WARN_DAYS:
        return SupportStatus(
            "warn",
            minor,
            eol,
            f"Kubernetes {minor} reaches its AKS {label} on {eol} ({days} days after {on}): plan the upgrade",
        )
    return SupportStatus("ok", minor, eol, f"Kubernetes {minor}: AKS {label} {eol}")


# --- what the calendar moves a cluster to, and which node image families support it ----------------


def _minor_key(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return int(major), int(rest)


def upcoming_minors(
    kubernetes_version: str,
    *,
    upgrade_channel: str,
    support_plan: str,
    on: date,
    days: int = WARN_DAYS,
    cal: AksCalendar | None = None,
) -> dict[str, str]:
    """The cluster's minor and each minor the calendar moves it to within ``days`` of ``on``, each
    with why: its own end of life falls in the window (the next minor follows), or the auto-upgrade
    channel follows a newer minor GA by then (``rapid``: the latest; ``stable``: the latest but one;
    pulumi-azure-native 3.29.0 containerservice ``UpgradeChannel`` docstrings)."""
    cal = cal or load_aks_calendar()
    current = minor_of(kubernetes_version)
    horizon = date.fromordinal(on.toordinal() + days)
    out = {current: "cluster.kubernetesVersion"}
    known = sorted(cal.minors, key=_minor_key)
    newer = [m for m in known if _minor_key(m) > _minor_key(current)]
    entry = cal.minors.get(current)
    if entry is not None and newer:
        eol = entry.lts_end_of_life if support_plan == LTS_PLAN else entry.end_of_life
        if eol <= horizon:
            out[newer[0]] = f"{current} reaches its AKS end of life on {eol}, within {days} days of {on}"
    ga = [m for m in known if cal.minors[m].ga <= horizon]
    target = {"rapid": ga[-1:], "stable": ga[-2:-1]}.get(upgrade_channel, [])
    for minor in newer:
        if target and _minor_key(minor) <= _minor_key(target[0]) and minor not in out:
            out[minor] = (
                f"upgradeChannel {upgrade_channel} moves the cluster to {target[0]} "
                f"(GA {cal.minors[target[0]].ga:%Y-%m}) within {days} days of {on}"
            )
    return out


@dataclass(frozen=True)
class ImageFamilySupport:
    """The minors AKS supports a node image family on; None ends: it follows the version."""

    family: str
    first: str | None
    last: str | None

    def supports(self, minor: str) -> bool:
        key = _minor_key(minor)
        return (self.first is None or _minor_key(self.first) <= key) and (
            self.last is None or key <= _minor_key(self.last)
        )

    def describe(self) -> str:
        if self.first is None and self.last is None:
            return f"{self.family} (follows the Kubernetes version)"
        return f"{self.family} ({self.first or '...'}-{self.last or '...'})"


@functools.cache
def load_image_families(path: Path = IMAGE_FAMILY_FILE) -> Mapping[str, ImageFamilySupport]:
    """The image family table (cached); ValueError names the file and the bad entry."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"as_of", "source", "image_families"}:
        raise ValueError(f"{path.name}: top level must hold exactly as_of, source, image_families")
    out: dict[str, ImageFamilySupport] = {}
    for family, raw in data["image_families"].items():
        if not isinstance(raw, dict) or set(raw) != {"first", "last"}:
            raise ValueError(f"{path.name}: image_families.{family}: needs exactly first and last")
        ends = [raw["first"], raw["last"]]
        if any(e is not None and not (isinstance(e, str) and _MINOR.fullmatch(e)) for e in ends):
            raise ValueError(
                f"{path.name}: image_families.{family}: first/last are minors like 1.36, or null"
            )
        out[str(family)] = ImageFamilySupport(str(family), raw["first"], raw["last"])
    return MappingProxyType(out)
