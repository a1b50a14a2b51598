"""Refresh the VM prices from the public Azure Retail Prices API into the local price file.

    python -m tools.prices refresh --region swedencentral [--currency EUR] [--out FILE]

For every VM size of the catalog (GPU and system pool sizes) it asks
https://prices.azure.com/api/retail/prices (no credentials) for the Linux pay-as-you-go and spot
prices per hour in the region, follows ``NextPageLink`` to the last page, and writes
``.prices/retail-prices.json`` (git-ignored; ``AKS_LLM_PRICES_FILE`` names another path), which
``python -m tools.plan`` and ``python -m tools.advise`` then read instead of the committed, dated,
unverified table in ``config/catalog/prices.yaml``. Standard library only (urllib).

The API as Microsoft documents it ("Azure Retail Prices overview",
https://learn.microsoft.com/en-us/rest/api/cost-management/retail-prices/azure-retail-prices): a JSON
object with ``BillingCurrency``, ``Items`` (each with ``armSkuName``, ``armRegionName``,
``retailPrice``, ``unitOfMeasure``, ``type`` (Consumption / Reservation / DevTestConsumption),
``skuName``, ``meterName``, ``productName``, ``effectiveStartDate``, ``currencyCode``...), ``Count`` and
``NextPageLink`` (null on the last page; the documented example pages as
``https://prices.azure.com:443/api/retail/prices?$skip=100``); OData ``$filter`` on those fields (values
case-sensitive from api-version 2023-01-01-preview), ``currencyCode='EUR'`` for another currency. Spot
meters are the Consumption items whose skuName/meterName say "Spot" (the documentation's example
filters ``priceType eq 'Consumption' and contains(meterName, 'Spot')``); "Low Priority" meters and the
"Windows" products are skipped. Read at the page above through public copies of its example (the
response shape as jia-von/dusky-grouse docs/planning.md quotes it, the NP20s example as
bmoxon/azpricing np20scusex.py reproduces it); not run against the live API from here (no network).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.catalog import load_catalog
from config.prices import OVERRIDE_FORMAT, load_override, override_path
from config.regions import AZURE_REGIONS

API = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
DOCS = "https://learn.microsoft.com/en-us/rest/api/cost-management/retail-prices/azure-retail-prices"
MAX_PAGES = 50  # per VM size; a filtered query has a handful of items, so more means a paging loop
TIMEOUT_S = 30
RETRIES = 3  # on 429 and 5xx, with 1, 2, 4 s between tries
_CURRENCY = re.compile(r"^[A-Z]{3}$")

Fetch = Callable[[str], bytes]


class PricesError(Exception):
    """A refresh that cannot complete: one line for the user, exit 2."""


def _http_get(url: str) -> bytes:
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "aks-llm-prices"}
    )
    for attempt in range(RETRIES + 1):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            if (exc.code == 429 or exc.code >= 500) and attempt < RETRIES:
                time.sleep(2**attempt)
                continue
            raise PricesError(f"{API} answered HTTP {exc.code} {exc.reason} for {url}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PricesError(f"cannot reach {API} ({exc}); a network connection is needed") from exc
    raise PricesError(f"{API} kept answering 429/5xx for {url}")  # pragma: no cover (loop returns or raises)


def query_url(region: str, sku: str, currency: str) -> str:
    """The first page's URL: one VM size's Consumption meters in one region."""
    odata = (
        f"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq '{region}' "
        f"and armSkuName eq '{sku}'"
    )
    query = {"api-version": API_VERSION, "currencyCode": f"'{currency}'", "$filter": odata}
    return f"{API}?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"


def _is_api(link: object) -> bool:
    """Whether ``link`` is the API's own URL (the documented example pages as
    ``https://prices.azure.com:443/api/retail/prices?$skip=100``: the explicit port is accepted)."""
    if not isinstance(link, str):
        return False
    parts = urllib.parse.urlsplit(link)
    api = urllib.parse.urlsplit(API)
    return (parts.scheme, parts.hostname, parts.port or 443, parts.path) == (
        api.scheme,
        api.hostname,
        443,
        api.path,
    )


def items(url: str, fetch: Fetch) -> Iterator[dict[str, Any]]:
    """Every item of a query, page by page along ``NextPageLink``."""
    for _ in range(MAX_PAGES):
        body = fetch(url)
        try:
            page = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PricesError(f"{url}: the answer is not JSON ({exc})") from exc
        if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
            raise PricesError(f"{url}: the answer has no Items list (not the documented shape, see {DOCS})")
        for item in page["Items"]:
            if isinstance(item, dict):
                yield item
        next_link = page.get("NextPageLink")
        if not next_link:
            return
        if not _is_api(next_link):
            raise PricesError(f"{url}: NextPageLink {next_link!r} does not point at {API}")
        url = next_link
    raise PricesError(f"more than {MAX_PAGES} pages for {url}: stopped (a paging loop?)")


@dataclass(frozen=True)
class SkuPrice:
    """The Linux prices per hour of one VM size, and the meters they come from."""

    sku: str
    on_demand: float | None
    spot: float | None
    meters: tuple[str, ...]


def _linux_hourly(item: dict[str, Any], sku: str, region: str, currency: str) -> bool:
    name = f"{item.get('skuName', '')} {item.get('meterName', '')}"
    return (
        item.get("armSkuName") == sku
        and item.get("armRegionName") == region
        and item.get("type") == "Consumption"
        and item.get("unitOfMeasure") == "1 Hour"
        and item.get("currencyCode", currency) == currency
        and "Windows" not in str(item.get("productName", ""))
        and "Low Priority" not in name
        and isinstance(item.get("retailPrice"), int | float)
        and not isinstance(item.get("retailPrice"), bool)
    )


def sku_price(sku: str, region: str, currency: str, fetch: Fetch) -> SkuPrice:
    """Pay-as-you-go and spot Linux price per hour of ``sku`` in ``region`` (None where none is listed);
    of several meters of one kind the latest ``effectiveStartDate`` wins."""
    best: dict[bool, dict[str, Any]] = {}
    for item in items(query_url(region, sku, currency), fetch):
        if not _linux_hourly(item, sku, region, currency):
            continue
        spot = "Spot" in f"{item.get('skuName', '')} {item.get('meterName', '')}"
        current = best.get(spot)
        if current is None or str(item.get("effectiveStartDate", "")) > str(
            current.get("effectiveStartDate", "")
        ):
            best[spot] = item

    def price(spot: bool) -> float | None:
        item = best.get(spot)
        return None if item is None else float(item["retailPrice"])

    meters = tuple(f"{i.get('meterName')} ({i.get('productName')})" for _, i in sorted(best.items()))
    return SkuPrice(sku, price(False), price(True), meters)


def refresh(
    region: str, currency: str, out: Path, fetch: Fetch = _http_get, today: dt.date | None = None
) -> str:
    """Fetch every catalog VM size's prices and write ``out``; returns the summary to print."""
    if region not in AZURE_REGIONS:
        raise PricesError(f"--region {region!r} is not an Azure region name (e.g. swedencentral, eastus)")
    if not _CURRENCY.match(currency):
        raise PricesError(f"--currency {currency!r} is not an ISO 4217 code such as USD or EUR")
    catalog = load_catalog()
    names = sorted(catalog.skus) + sorted(catalog.system_skus)
    now = dt.datetime.now(dt.UTC)
    day = (today or now.date()).isoformat()
    prices = [sku_price(name, region, currency, fetch) for name in names]
    entries = {
        p.sku: {
            "on_demand_per_hour": p.on_demand,
            "spot_per_hour": p.spot,
            "source": f"Azure Retail Prices API, {region}, Linux, {'; '.join(p.meters)}, as of {day}",
        }
        for p in prices
        if p.on_demand is not None
    }
    unpriced = [p.sku for p in prices if p.on_demand is None]
    document = {
        "format": OVERRIDE_FORMAT,
        "region": region,
        "currency": currency,
        "as_of": day,
        "fetched_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": f"Azure Retail Prices API ({API}, api-version {API_VERSION})",
        "entries": entries,
        "unpriced": unpriced,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    load_override(tmp)  # what the plan will read must parse
    tmp.replace(out)
    spot = sum(1 for p in prices if p.spot is not None)
    lines = [
        f"wrote {out}: {len(entries)} of {len(names)} VM sizes priced in {currency} for {region} "
        f"({spot} with a spot price), as of {day}, source {document['source']}"
    ]
    if unpriced:
        lines.append(
            f"no Linux pay-as-you-go price in {region} for: {', '.join(unpriced)} (the catalog's stays)"
        )
    lines.append("python -m tools.plan and python -m tools.advise now read this file")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI: a refused argument or a failed fetch ends in one line and exit 2, nothing written."""
    parser = argparse.ArgumentParser(prog="python -m tools.prices", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser(
        "refresh", help="fetch Linux pay-as-you-go and spot prices into the local price file"
    )
    cmd.add_argument("--region", required=True, help="Azure region name, e.g. swedencentral")
    cmd.add_argument("--currency", default="USD", help="ISO 4217 currency code (default USD)")
    cmd.add_argument("--out", type=Path, default=None, help="file to write (default: the local price file)")
    args = parser.parse_args(argv)
    out = args.out or override_path()
    if out is None:
        print("error: AKS_LLM_PRICES_FILE is empty (no local price file); give --out", file=sys.stderr)
        return 2
    try:
        print(refresh(args.region, args.currency, out))
    except PricesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
