"""Hourly prices: the catalog's dated table, with the stack's ``prices`` overrides on top."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.catalog import PriceTable
from config.schema import PricesConfig


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
            "overrides": {
                "asOf": o.as_of,
                "source": o.source,
                "skus": sorted(o.skus),
            },
        }

    def describe(self) -> str:
        """One line naming the date and source of the prices, for every printed figure."""
        t = self.table
        verified = "verified" if t.verified else "UNVERIFIED"
        line = f"prices in {t.currency} for {t.region}, catalog as of {t.as_of} ({verified})"
        if self.overrides.skus:
            when = f" as of {self.overrides.as_of}" if self.overrides.as_of else ""
            src = f" ({self.overrides.source})" if self.overrides.source else ""
            line += f"; stack overrides{when}{src} for {', '.join(sorted(self.overrides.skus))}"
        return line
