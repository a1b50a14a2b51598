"""``python -m tools.prices refresh`` against recorded Azure Retail Prices API answers of the documented
shape (tests/data/retail_prices), and the plan reading the file it writes."""

from __future__ import annotations

import datetime as dt
import io
import json
import urllib.error
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from config.catalog import load_catalog
from config.prices import OVERRIDE_ENV, PriceFileError, effective_table, load_override, local_book
from config.schema import PricesConfig
from cost.estimate import estimate_cost
from sizing.deployments import plan_models
from tests.test_config import parse, stack_values
from tools import prices
from tools.prices import API, PricesError, items, query_url, refresh, sku_price

DATA = Path(__file__).parent / "data" / "retail_prices"
A100 = "Standard_NC24ads_A100_v4"
PAGE2 = json.loads((DATA / "a100-page1.json").read_text())["NextPageLink"]


def recorded(region: str = "swedencentral") -> tuple[prices.Fetch, list[str]]:
    """A fetch that answers the A100 query with the two recorded pages, every other query with none."""
    asked: list[str] = []
    answers = {query_url(region, A100, "USD"): "a100-page1.json", PAGE2: "a100-page2.json"}

    def fetch(url: str) -> bytes:
        asked.append(url)
        return (DATA / answers.get(url, "empty.json")).read_bytes()

    return fetch, asked


def test_query_is_the_documented_odata_filter() -> None:
    url = query_url("swedencentral", A100, "EUR")
    assert url.startswith(API + "?api-version=2023-01-01-preview&currencyCode=%27EUR%27&%24filter=")
    assert "armRegionName%20eq%20%27swedencentral%27" in url and f"armSkuName%20eq%20%27{A100}%27" in url
    assert "priceType%20eq%20%27Consumption%27" in url


def test_linux_payg_and_spot_follow_next_page_link() -> None:
    fetch, asked = recorded()
    price = sku_price(A100, "swedencentral", "USD", fetch)
    # page 1: Linux 4.05 (2026-04), Windows, spot 0.81 (2026-04), low priority; page 2: an older Linux
    # 3.95 (2025-01), a newer spot 0.95 (2026-06), a DevTest meter: the latest Linux meter of each wins
    assert (price.on_demand, price.spot) == (4.05, 0.95)
    assert asked == [query_url("swedencentral", A100, "USD"), PAGE2]
    assert PAGE2.startswith("https://prices.azure.com:443/")  # as Microsoft's documented example pages


def test_refresh_writes_the_file_the_plan_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetch, _ = recorded()
    out = tmp_path / "prices.json"
    summary = refresh("swedencentral", "USD", out, fetch, today=dt.date(2026, 12, 7))
    cat = load_catalog()
    total = len(cat.skus) + len(cat.system_skus)
    assert (
        f"1 of {total} VM sizes priced in USD for swedencentral (1 with a spot price), as of 2026-12-07"
        in summary
    )
    assert "Azure Retail Prices API (https://prices.azure.com/api/retail/prices" in summary
    assert "no Linux pay-as-you-go price in swedencentral for: " in summary
    table = load_override(out)
    assert table is not None and (table.region, table.currency, table.as_of, table.verified) == (
        "swedencentral",
        "USD",
        "2026-12-07",
        True,
    )
    monkeypatch.setenv(OVERRIDE_ENV, str(out))
    book = local_book(cat.prices, PricesConfig())
    assert (book.quote(A100).on_demand, book.quote(A100).spot) == (4.05, 0.95)
    # a size the refresh found no price for keeps the catalog's, marked as such
    t4 = book.table.entries["Standard_NC4as_T4_v3"]
    assert t4.on_demand_per_hour == 0.526 and t4.source.startswith("catalog (eastus, USD, as of 2026-08-21")
    assert book.describe().startswith("prices in USD for swedencentral, as of 2026-12-07 from Azure Retail")
    assert str(out) in book.describe()
    monkeypatch.setenv(OVERRIDE_ENV, "")
    assert local_book(cat.prices, PricesConfig()).table is cat.prices


def test_the_plan_shows_the_refreshed_date_and_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch, _ = recorded()
    out = tmp_path / "prices.json"
    refresh("swedencentral", "USD", out, fetch, today=dt.date(2026, 12, 7))
    monkeypatch.setenv(OVERRIDE_ENV, str(out))
    config = parse(stack_values("prod"))
    assert config.location == "swedencentral"
    cat = load_catalog()
    cost = estimate_cost(config, cat, plan_models(config, cat))
    assert "as of 2026-12-07 from Azure Retail Prices API" in cost.prices_line
    assert not any("tools.prices refresh" in n for n in cost.notes)  # same region as the stack
    monkeypatch.setenv(OVERRIDE_ENV, "")
    cost = estimate_cost(config, cat, plan_models(config, cat))
    assert any(
        "catalog prices are for eastus; this stack runs in swedencentral: run python -m tools.prices refresh "
        "--region swedencentral" in n
        for n in cost.notes
    )


def _page(body: Any) -> prices.Fetch:
    return lambda url: body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.parametrize(
    "fetch, match",
    [
        (_page(b"<html>busy</html>"), "the answer is not JSON"),
        (_page({"value": []}), "has no Items list"),
        (_page({"Items": [], "NextPageLink": "https://example.com/api/retail/prices"}), "does not point at"),
        (
            _page({"Items": [], "NextPageLink": "http://prices.azure.com/api/retail/prices"}),
            "does not point at",
        ),
        (_page({"Items": [], "NextPageLink": API + "?$skip=1000"}), "more than 50 pages"),
    ],
)
def test_answers_not_of_the_documented_shape_are_refused(fetch: prices.Fetch, match: str) -> None:
    with pytest.raises(PricesError, match=match):
        list(items(query_url("eastus", A100, "USD"), fetch))


class _Response(io.BytesIO):
    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_http_retries_5xx_and_reports_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[Exception | bytes] = [
        urllib.error.HTTPError(API, 503, "Service Unavailable", Message(), None),
        b'{"Items": [], "NextPageLink": null}',
    ]

    def urlopen(request: object, timeout: float) -> _Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return _Response(answer)

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    monkeypatch.setattr("time.sleep", lambda s: None)
    assert prices._http_get(API) == b'{"Items": [], "NextPageLink": null}'
    answers[:] = [urllib.error.HTTPError(API, 400, "Bad Request", Message(), None)]
    with pytest.raises(PricesError, match="answered HTTP 400 Bad Request"):
        prices._http_get(API)
    answers[:] = [urllib.error.URLError("Name or service not known")]
    with pytest.raises(PricesError, match=r"cannot reach .* a network connection is needed"):
        prices._http_get(API)


def test_cli_refuses_bad_arguments_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.json"
    assert prices.main(["refresh", "--region", "swedencentrall", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: --region 'swedencentrall' is not an Azure region")
    assert prices.main(["refresh", "--region", "eastus", "--currency", "eur", "--out", str(out)]) == 2
    assert "ISO 4217" in capsys.readouterr().err
    assert not out.exists()


def test_a_damaged_price_file_is_one_message(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{")
    with pytest.raises(PriceFileError, match="not readable JSON"):
        load_override(bad)
    bad.write_text(json.dumps({"format": 1}))
    with pytest.raises(PriceFileError, match=r"run python -m tools\.prices refresh again"):
        load_override(bad)
    assert load_override(tmp_path / "none.json") is None
    assert effective_table(load_catalog().prices, None) is load_catalog().prices
