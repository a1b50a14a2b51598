"""``python -m tools.catalog``: what the catalog offers, as tables and as JSON (issue 20 item 6)."""

from __future__ import annotations

import json

import pytest

from config import versions
from config.catalog import load_catalog
from sizing.memory import ModelArch
from sizing.model_sizing import size_model
from sizing.nap import sizing_order
from tools.catalog import TOPICS, default_context, main

CATALOG = load_catalog()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_prints_a_table_and_json(topic: str, capsys: pytest.CaptureFixture[str]) -> None:
    table = run(capsys, topic)
    assert len(table.splitlines()) >= 3
    assert json.loads(run(capsys, topic, "--json")) == json.loads(json.dumps(TOPICS[topic](CATALOG)))


def test_models_list_the_smallest_sellable_sku_each_fits_at_the_default_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = json.loads(run(capsys, "models", "--json"))
    assert [r["id"] for r in rows] == sorted(CATALOG.models)
    for row in rows:
        spec = CATALOG.models[row["id"]]
        assert (row["parameters"], row["contextLength"], row["kaitoPreset"]) == (
            spec.parameters,
            spec.context_length,
            spec.kaito_preset,
        )
        assert row["defaultMaxModelLen"] == default_context(spec) == min(3072, spec.context_length)
        fits = [
            sku
            for sku in sorted(CATALOG.skus.values(), key=sizing_order)
            if not sku.retired
            and size_model(
                ModelArch.from_spec(spec),
                sku,
                model_name=spec.id,
                weights_dtype=spec.weights_dtype,
                max_model_len=row["defaultMaxModelLen"],
            ).fits
        ]
        assert row["smallestSku"] == (fits[0].name if fits else None)
    phi = next(r for r in rows if r["id"] == "phi-4-mini-instruct")
    assert phi["smallestSku"] == "Standard_NC4as_T4_v3"


def test_skus_show_driver_memory_mig_quota_and_dated_prices(capsys: pytest.CaptureFixture[str]) -> None:
    rows = {r["name"]: r for r in json.loads(run(capsys, "skus", "--json"))}
    assert set(rows) == set(CATALOG.skus)
    a100 = rows["Standard_NC24ads_A100_v4"]
    assert a100["cudaTotalGiB"] == CATALOG.skus["Standard_NC24ads_A100_v4"].cuda_total_gib
    assert "3g.40gb" in a100["migProfiles"] and a100["quotaFamily"] == "standardNCADSA100v4Family"
    assert a100["onDemandPerHour"] == CATALOG.prices.entries["Standard_NC24ads_A100_v4"].on_demand_per_hour
    assert a100["priceAsOf"] == CATALOG.prices.as_of
    assert rows["Standard_NC6s_v3"]["retired"]
    table = run(capsys, "skus")
    assert "GiB/GPU (driver)" in table and "price as of" in table


def test_mig_lists_the_profiles_aks_can_create(capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "mig", "--json"))
    a100 = {r["profile"]: r for r in rows if r["sku"] == "Standard_NC24ads_A100_v4"}
    assert a100["3g.40gb"]["aksProfile"] == "MIG3g" and a100["1g.20gb"]["aksProfile"] is None


def test_versions_list_the_calendar_the_addons_and_every_pin(capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(run(capsys, "versions", "--json"))
    minors = {m["minor"]: m for m in doc["kubernetes"]["minors"]}
    assert minors["1.36"]["addons"]["karpenter"] == "1.12.2-aks"
    assert doc["images"]["vllm"] == versions.image("vllm").reference
    assert set(doc["charts"]) == set(versions.chart_names())
    assert doc["charts"]["gpu-operator"]["version"] == versions.chart("gpu-operator").version


def test_an_unknown_topic_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["gpus"])
    assert info.value.code == 2 and "invalid choice: 'gpus'" in capsys.readouterr().err
