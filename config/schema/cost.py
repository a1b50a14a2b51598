"""Prices and the cost comparison: overrides of the catalog's price table (``aks-llm:prices``) and a
per-token API to compare with (``aks-llm:costComparison``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from config.schema.base import (
    MAX_TOKENS_PER_SECOND,
    MAX_USD_PER_HOUR,
    MAX_USD_PER_MILLION_TOKENS,
    MIN_TOKENS_PER_SECOND,
    IsoDate,
    Strict,
)


class PriceOverride(Strict):
    """The price of one VM size, replacing the catalog's."""

    on_demand_per_hour: Annotated[float, Field(ge=0, le=MAX_USD_PER_HOUR)]
    """On-demand price of the VM size, in USD per hour."""
    spot_per_hour: Annotated[float, Field(ge=0, le=MAX_USD_PER_HOUR)] | None = None
    """Spot price of the VM size, in USD per hour (unset: the catalog's)."""


class PricesConfig(Strict):
    """Overrides of the catalog's dated price table (e.g. your negotiated rates)."""

    as_of: IsoDate | None = None
    """Date of the overriding prices (`YYYY-MM-DD`)."""
    source: str | None = None
    """Where the prices come from (e.g. your agreement)."""
    skus: dict[str, PriceOverride] = Field(default_factory=dict)
    """Prices per VM size; each names a VM size the stack uses or the catalog knows."""


class CostComparisonConfig(Strict):
    """A per-token API to compare self-hosting with: the break-even in requests per day.

    Throughput is what one replica serves (prompt + completion tokens per second, all concurrent
    requests together); ``modelThroughput`` sets it per model name, ``throughputTokensPerSecond``
    for the others.
    """

    api_name: Annotated[str, Field(min_length=1, max_length=60)] = "per-token API"
    """Name of the per-token API in the report."""
    api_price_per_million_input_tokens: Annotated[float, Field(ge=0, le=MAX_USD_PER_MILLION_TOKENS)]
    """The API's price per million prompt tokens, in USD."""
    api_price_per_million_output_tokens: Annotated[float, Field(ge=0, le=MAX_USD_PER_MILLION_TOKENS)]
    """The API's price per million completion tokens, in USD."""
    throughput_tokens_per_second: (
        Annotated[float, Field(ge=MIN_TOKENS_PER_SECOND, le=MAX_TOKENS_PER_SECOND)] | None
    ) = None
    """Tokens per second one replica serves, for every model without a `modelThroughput` entry (unset: the
    roofline's estimate, marked `estimated (roofline)`, see docs/advisor.md)."""
    model_throughput: dict[
        str, Annotated[float, Field(ge=MIN_TOKENS_PER_SECOND, le=MAX_TOKENS_PER_SECOND)]
    ] = Field(default_factory=dict)
    """Tokens per second one replica serves, per model name (declared models only)."""
