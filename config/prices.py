"""Hourly prices: the catalog's dated table, or the local file ``python -m tools.prices refresh`` wrote
from the Azure Retail Prices API, with the stack's ``prices`` overrides on top."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from config.catalog import PriceEntry, PriceTable
from config.schema import PricesConfig

# The local price file (git-ignored): written by `python -m tools.prices refresh`, read by the plan and
# the advisor when it exists. AKS_LLM_PRICES_FILE names another path ("" or a missing file: none).
OVERRIDE_ENV = "AKS_LLM_PRICES_FILE"
DEFAULT_OVERRIDE_FILE = Path(__file__).resolve().parents[1] / ".prices" / "retail-prices.json"
OVERRIDE_FORMAT = 1


class PriceFileError(ValueError):
    """The local price file is unreadable or not what ``tools.prices refresh`` writes."""


def override_path() -> Path | None:
    """Where the local price file is looked for (None: switched off by an empty AKS_LLM_PRICES_FILE)."""
    value = os.environ.get(OVERRIDE_ENV)
    if value is None:
        return DEFAULT_OVERRIDE_FILE
    return Path(value) if value else None


def _number(where: str, value: object, *, nullable: bool) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PriceFileError(f"{where} must be a number >= 0{' or null' if nullable else ''}, got {value!r}")
    return float(value)


def load_override(path: Path | None = None) -> PriceTable | None:
    """The refreshed price table in ``path`` (default: ``override_path()``), None when there is none."""
    path = path if path is not None else override_path()
    if path is None or not path.is_file():
        return None
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriceFileError(
            f"{where}: not readable JSON ({exc}); run python -m tools.prices refresh again"
        ) from exc
    keys = {"format", "region", "currency", "as_of", "fetched_at", "source", "entries", "unpriced"}
    if not isinstance(data, dict) or set(data) != keys or data["format"] != OVERRIDE_FORMAT:
        raise PriceFileError(
            f"{where}: not a price file of format {OVERRIDE_FORMAT} with keys {sorted(keys)}; run "
            "python -m tools.prices refresh again"
        )
    if not isinstance(data["as_of"], str) or not re.fullmatch(r"\d{4}-\d\d-\d\d", data["as_of"]):
        raise PriceFileError(f"{where}: as_of {data['as_of']!r} is not an ISO date")
    for key in ("region", "currency", "source", "fetched_at"):
        if not isinstance(data[key], str) or not data[key]:
            raise PriceFileError(f"{where}: {key} must be a non-empty string")
    if not isinstance(data["entries"], dict):
        raise PriceFileError(f"{where}: entries must be a mapping of VM size to prices")
    entries = {}
    for sku, raw in data["entries"].items():
        if not isinstance(raw, dict) or set(raw) != {"on_demand_per_hour", "spot_per_hour", "source"}:
            raise PriceFileError(
                f"{where}: entries.{sku} must hold on_demand_per_hour, spot_per_hour, source"
            )
        on_demand = _number(
            f"{where}: entries.{sku}.on_demand_per_hour", raw["on_demand_per_hour"], nullable=False
        )
        spot = _number(f"{where}: entries.{sku}.spot_per_hour", raw["spot_per_hour"], nullable=True)
        entries[sku] = PriceEntry(sku, on_demand or 0.0, spot, str(raw["source"]))
    return PriceTable(
        currency=data["currency"],
        region=data["region"],
        as_of=data["as_of"],
        source=f"{data['source']}, fetched {data['fetched_at']}",
        verified=True,
        entries=MappingProxyType(entries),
        system_pool_note="",
        origin=where,
    )


def effective_table(catalog: PriceTable, override: PriceTable | None) -> PriceTable:
    """The refreshed table where there is one; a VM size it has no price for keeps the catalog's,
    whose source then says so (another region and date)."""
    if override is None:
        return catalog
    kept = {
        sku: dataclasses.replace(
            e,
            source=f"catalog ({catalog.region}, {catalog.currency}, as of {catalog.as_of}, unverified): "
            f"no {override.region} price in the refresh",
        )
        for sku, e in catalog.entries.items()
        if sku not in override.entries
    }
    return dataclasses.replace(
        override,
        entries=MappingProxyType({**kept, **override.entries}),
        system_pool_note=catalog.system_pool_note,
        managed_disks=override.managed_disks or catalog.managed_disks,
    )


def local_book(catalog: PriceTable, overrides: PricesConfig) -> PriceBook:
    """The price book the plan and the advisor use: the local refreshed file (if any) over the
    catalog's table, the stack's ``prices`` over both."""
    return PriceBook(effective_table(catalog, load_override()), overrides)


@dataclass(frozen=True)
class Quote:
    """The hourly prices of one VM size and where they come from (``stack``, ``catalog`` or ``none``)."""

    sku: str
    on_demand: float | None
    spot: float | None
    source: str

    @property
    def priced(self) -> bool:
        return self.on_demand is not None


@dataclass(frozen=True)
class PriceBook:
    """Looks prices up: a stack override replaces the catalog entry of that SKU as a whole."""

    table: PriceTable
    overrides: PricesConfig

    def quote(self, sku: str) -> Quote:
        override = self.overrides.skus.get(sku)
        if override is not None:
            return Quote(sku, override.on_demand_per_hour, override.spot_per_hour, "stack")
        entry = self.table.entries.get(sku)
        if entry is not None:
            return Quote(sku, entry.on_demand_per_hour, entry.spot_per_hour, "catalog")
        return Quote(sku, None, None, "none")

    def spot_rate(self, sku: str, max_price: float) -> tuple[float | None, str]:
        """(USD/h, basis) of a spot node: the spot price, else the maxPrice cap, else on-demand."""
        quote = self.quote(sku)
        if quote.spot is not None:
            return quote.spot, "spot price"
        if max_price > 0:
            return max_price, "maxPrice cap"
        if quote.on_demand is not None:
            return quote.on_demand, "on-demand (upper bound)"
        return None, "unpriced"

    def header(self) -> dict[str, Any]:
        """Currency, region, date, source and verification of the figures, and the overrides."""
        o = self.overrides
        return {
            "currency": self.table.currency,
            "region": self.table.region,
            "asOf": self.table.as_of,
            "source": self.table.source,
            "verified": self.table.verified,
            "origin": self.table.origin,
            "overrides": {
                "asOf": o.as_of,
                "source": o.source,
                "skus": sorted(o.skus),
            },
        }

    def describe(self) -> str:
        """One line naming the date and source of the prices, for every printed figure."""
        t = self.table
        if t.origin == "catalog":
            verified = "verified" if t.verified else "UNVERIFIED"
            line = f"prices in {t.currency} for {t.region}, catalog as of {t.as_of} ({verified})"
        else:
            line = f"prices in {t.currency} for {t.region}, as of {t.as_of} from {t.source} (file {t.origin})"
        if self.overrides.skus:
            when = f" as of {self.overrides.as_of}" if self.overrides.as_of else ""
            src = f" ({self.overrides.source})" if self.overrides.source else ""
            line += f"; stack overrides{when}{src} for {', '.join(sorted(self.overrides.skus))}"
        return line
