"""The SKU advisor (sizing/advisor.py, python -m tools.advise): fit and ranking on hand-computed cases."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import pytest

from config.catalog import load_catalog
from config.errors import ConfigError
from config.prices import PriceBook
from config.schema import PricesConfig, StackConfig
from cost.estimate import estimate_cost
from sizing.advisor import AdvisorModel, AdvisorWorkload, Row, advise, stack_snippet
from sizing.deployments import plan_models
from sizing.memory import GIB, ModelArch
from sizing.nap import sizing_sku
from sizing.plan_estimates import replica_estimate
from sizing.roofline import Hardware, ModelShape, best_batch
from tests.conftest import BASE_VALUES
from tests.test_config import parse, stack_values
from tools import advise as cli
from tools.cost_report import render_cost

CAT = load_catalog()
BOOK = PriceBook(CAT.prices, PricesConfig())  # the committed table (eastus, 2026-08-21)


def rows_for(
    model_id: str, concurrency: int, runtimes: tuple[str, ...] = ("vllm", "kaito"), **targets: float
) -> list[Row]:
    work = AdvisorWorkload(1024, 512, concurrency, targets.get("ttft_ms"), targets.get("tpot_ms"))
    return advise(AdvisorModel.from_spec(CAT.model(model_id)), work, CAT, BOOK, runtimes)


def row(rows: list[Row], sku: str, placement: str, runtime: str = "vllm") -> Row:
    return next(r for r in rows if (r.sku, r.placement, r.runtime) == (sku, placement, runtime))


def winner(rows: list[Row]) -> Row:
    best = rows[0]
    assert best.eligible
    return best


def test_llama_70b_bf16_cheapest_whole_node_at_low_and_high_concurrency() -> None:
    # TP 2 on two A100 80GB (NC48ads, 7.346 USD/h): per GPU 79.32 GiB x 0.9 = 71.388 GiB, less half the
    # weights (141,107,412,992 B = 131.42 GiB / 2 = 65.71 GiB) and 2.3 GiB overhead leaves 3.378 GiB of
    # KV; a 1,536-token sequence holds 1,536 x 163,840 B (2 x 80 layers x 4 KV heads x 128 x 2 B) on each
    # GPU = 0.234 GiB -> 14 sequences. One GPU (NC24ads) holds no 131 GiB of weights.
    budget = 79.32 * 0.9 * GIB - 141_107_412_992 / 2 - 2.3 * GIB
    seqs = math.floor(budget / (1536 * 163_840))
    assert seqs == 14
    low = rows_for("llama-3.3-70b-instruct", 8)
    best = winner(low)
    assert (best.sku, best.placement, best.max_num_seqs, best.replicas, best.nodes) == (
        "Standard_NC48ads_A100_v4",
        "tp 2",
        14,
        1,
        1,
    )
    assert best.on_demand_per_hour == 7.346
    assert not row(low, "Standard_NC24ads_A100_v4", "tp 1").fits
    # 64 at once: TP 2 needs ceil(64 / 14) = 5 nodes (36.73 USD/h); TP 4 on NC96ads holds 256 sequences
    # (per GPU 71.388 - 32.86 - 2.3 = 36.2 GiB of KV): 1 node, 14.692 USD/h, wins
    high = rows_for("llama-3.3-70b-instruct", 64, ("vllm",))
    tp2 = row(high, "Standard_NC48ads_A100_v4", "tp 2")
    assert (tp2.replicas, tp2.nodes) == (5, 5) and tp2.on_demand_per_hour == pytest.approx(5 * 7.346)
    best = winner(high)
    assert (best.sku, best.placement, best.nodes, best.on_demand_per_hour) == (
        "Standard_NC96ads_A100_v4",
        "tp 4",
        1,
        14.692,
    )
    # KAITO's estimate spreads a replica over 3 single-A100 nodes (pipeline-parallel, 11.019 USD/h):
    # cheaper, but every token crosses all 70B of weights on one GPU's bandwidth in turn (TPOT ~10x the
    # weights / 1,935 GB/s); a 100 ms TPOT target rules it out (and KAITO on 2 H100 NVL nodes, 13.96
    # USD/h) and the TP 4 node wins again
    kaito = row(
        rows_for("llama-3.3-70b-instruct", 64), "Standard_NC24ads_A100_v4", "KAITO 3 nodes x tp 1", "kaito"
    )
    assert kaito.eligible and kaito.on_demand_per_hour == pytest.approx(3 * 3.673)
    assert kaito.tpot_ms is not None and kaito.tpot_ms > 100
    best = winner(rows_for("llama-3.3-70b-instruct", 64, tpot_ms=100))
    assert (best.sku, best.placement) == ("Standard_NC96ads_A100_v4", "tp 4")


def test_qwen_7b_mig_slice_against_a_whole_small_gpu() -> None:
    # A10 (NV36ads, 2.01 USD/h): 21.59 GiB x 0.9 - 7,615,616,512 x 2 B - 2.3 GiB = 2.94 GiB of KV for
    # 1,536-token sequences of 1,536 x 57,344 B (2 x 28 layers x 4 KV heads x 128 x 2 B) -> 35 each
    a10_seqs = math.floor((21.59 * 0.9 * GIB - 7_615_616_512 * 2 - 2.3 * GIB) / (1536 * 57_344))
    assert a10_seqs == 35
    # 4 at once: one A10 node (2.01) beats the A100 node a 3g.40gb slice sits on (3.673)
    few = rows_for("qwen2.5-7b-instruct", 4)
    a10, mig = (
        row(few, "Standard_NV36ads_A10_v5", "tp 1"),
        row(few, "Standard_NC24ads_A100_v4", "MIG 3g.40gb"),
    )
    assert winner(few) == a10 and a10.max_num_seqs == 35
    assert mig.eligible and (mig.on_demand_per_hour, a10.on_demand_per_hour) == (3.673, 2.01)
    # 60 at once: the A10 needs ceil(60 / 35) = 2 nodes (4.02); the A100 node's 3g.40gb slice holds all 60
    # (one node, 3.673): the MIG slice beats the whole small GPU
    many = rows_for("qwen2.5-7b-instruct", 60)
    a10, mig = (
        row(many, "Standard_NV36ads_A10_v5", "tp 1"),
        row(many, "Standard_NC24ads_A100_v4", "MIG 3g.40gb"),
    )
    assert (a10.replicas, a10.nodes) == (2, 2) and a10.on_demand_per_hour == pytest.approx(4.02)
    assert (mig.replicas, mig.nodes, mig.on_demand_per_hour) == (1, 1, 3.673)
    assert many.index(mig) < many.index(a10)


def test_a_tpot_target_shrinks_the_batch_and_adds_replicas() -> None:
    free = row(rows_for("llama-3.1-8b-instruct", 64), "Standard_NV36ads_A10_v5", "tp 1")
    tight = row(rows_for("llama-3.1-8b-instruct", 64, tpot_ms=50), "Standard_NV36ads_A10_v5", "tp 1")
    assert free.batch is not None and tight.batch is not None and free.tpot_ms is not None
    assert free.tpot_ms > 50 and tight.tpot_ms is not None and tight.tpot_ms <= 50
    assert tight.replicas is not None and free.replicas is not None
    assert tight.batch < free.batch and tight.replicas == math.ceil(64 / tight.batch) > free.replicas
    none = rows_for("llama-3.1-8b-instruct", 8, tpot_ms=0.5)
    assert not any(r.eligible for r in none)
    assert all(r.reason for r in none)


@pytest.mark.parametrize("model_id", sorted(CAT.models))
def test_advises_every_catalog_model(model_id: str) -> None:
    rows = rows_for(model_id, 8)
    skus = {r.sku for r in rows}
    assert skus == set(CAT.skus)
    assert any(r.eligible for r in rows), model_id
    eligible = [r for r in rows if r.eligible]
    prices = [r.on_demand_per_hour or 0.0 for r in eligible]
    assert prices == sorted(prices)  # cheapest first
    assert all(not r.eligible for r in rows[len(eligible) :])
    model = AdvisorModel.from_spec(CAT.model(model_id))
    snippet = stack_snippet(
        eligible[0], AdvisorModel.from_spec(CAT.model(model_id)), AdvisorWorkload(1024, 512, 8), CAT
    )
    token = {"hfToken": "hf_" + "x" * 30} if model.gated else {}
    # the winner's snippet is a valid stack config (loader and rules)
    config = parse({**BASE_VALUES, **snippet, **token}, secret_keys=tuple(token))
    assert config.models[0].pool == config.gpu_pools[0].name


def test_mig_and_kaito_placements_are_offered() -> None:
    rows = rows_for("llama-3.1-8b-instruct", 8)
    on_a100 = {r.placement for r in rows if r.sku == "Standard_NC24ads_A100_v4"}
    assert {"tp 1", "MIG 1g.10gb", "MIG 3g.40gb", "KAITO 1 node x tp 1"} <= on_a100
    assert not any(r.runtime == "kaito" for r in rows if r.sku == "Standard_NC4as_T4_v3")  # not in KAITO
    retired = row(rows, "Standard_NC6s_v3", "tp 1")
    assert not retired.eligible and retired.reason is not None and "retired" in retired.reason


def test_cli_prints_the_ranking_and_writes_every_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "advice.json"
    argv = ["--model", "qwen2.5-7b-instruct", "--prompt-tokens", "1024", "--completion-tokens", "512"]
    assert cli.main([*argv, "--concurrency", "60", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Cheapest: Standard_NC24ads_A100_v4 vllm tp 1" in text
    assert "aks-llm:gpuPools:" in text and "catalog as of 2026-08-21 (UNVERIFIED)" in text
    doc = json.loads(out.read_text())
    assert len(doc["advice"][0]["rows"]) == len(rows_for("qwen2.5-7b-instruct", 60))
    assert doc["prices"]["region"] == "eastus"


def test_cli_custom_and_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arch = tmp_path / "arch.yaml"
    arch.write_text(
        "hfId: acme/tiny\nparameters: 1000000000\nlayers: 16\nattentionHeads: 16\nkvHeads: 4\nheadDim: 64\n"
        "contextLength: 8192\n"
    )
    argv = ["--prompt-tokens", "512", "--completion-tokens", "256", "--concurrency", "4"]
    assert cli.main(["--custom", str(arch), *argv]) == 0
    assert "custom:\n        hfId: acme/tiny" in capsys.readouterr().out
    assert cli.main(["--stack", "dev"]) == 0
    assert capsys.readouterr().out.count("Cheapest:") >= 1


LOAD = ["--prompt-tokens", "1", "--completion-tokens", "1", "--concurrency", "1"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--model", "llama-9"],
            "--prompt-tokens, --completion-tokens, one of --concurrency or --requests-per-second needed",
        ),
        (["--model", "llama-3.1-8b", *LOAD], "unknown model 'llama-3.1-8b'; did you mean"),
        (
            ["--model", "phi-4", "--prompt-tokens", "1", "--completion-tokens", "1", "--concurrency", "0"],
            "must be >= 1",
        ),
        (["--stack", "dev", "--concurrency", "3"], "--stack takes each model's workload from the stack"),
        (
            ["--model", "phi-4", *LOAD, "--region", "mars"],
            "--region 'mars' is not an Azure region",
        ),
    ],
)
def test_cli_refuses_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_break_even_without_a_throughput_uses_the_roofline() -> None:
    values = stack_values("prod")
    values["costComparison"] = {"apiPricePerMillionInputTokens": 2.5, "apiPricePerMillionOutputTokens": 10}
    config = parse(values)
    plans = plan_models(config, CAT)
    cost = estimate_cost(config, CAT, plans).to_dict()
    rows = {b["name"]: b for b in cost["breakEven"]}
    for plan in plans:
        est = replica_estimate(plan, CAT)
        assert est is not None and est.batch == plan.sizing.max_num_seqs
        row = rows[plan.config.name]
        assert row["throughputBasis"] == "estimated (roofline)"
        assert row["throughputTokensPerSecond"] == round(est.tokens_per_s, 1)
        assert any(
            n.startswith(f"{plan.config.name}: throughput estimated (roofline)") for n in cost["notes"]
        )
    assert "estimated (roofline)" in render_cost(cost)
    given = estimate_cost(parse(stack_values("prod")), CAT, plans).to_dict()["breakEven"]
    assert {b["throughputBasis"] for b in given} == {"config"}


def test_nap_sizes_on_the_cheapest_allowed_sku_that_holds_the_models() -> None:
    values = stack_values("nap")
    pool = {"name": "t4", "purpose": "batch", "skuFamilies": ["NCas_T4_v3"], "spot": {"limits": {"gpus": 4}}}
    values["nodeProvisioning"] = {**values["nodeProvisioning"], "nodePools": [pool]}
    model = {"name": "m", "model": "phi-4", "pool": "t4", "purpose": "batch"}
    values["models"] = [{**model, "scaleToZero": False, "replicas": {"min": 1, "max": 1}}]
    values.pop("costComparison", None)
    values.pop("quota", None)
    config = StackConfig.model_validate(values)
    # phi-4's 27.3 GiB of weights: no single T4 (14.1 GiB) holds them; of the NCas_T4_v3 family only
    # NC64as (4 x T4, tp 4, 4.352 USD/h) does, and the 4-GPU spot limit holds one node of it. The old
    # choice (least GPU memory: NC4as) refused the model.
    (plan,) = plan_models(config, CAT)
    assert (plan.sku.name, plan.sizing.fits, plan.sizing.gpus_per_replica) == (
        "Standard_NC64as_T4_v3",
        True,
        4,
    )
    assert sizing_sku(config.node_provisioning.node_pools[0], CAT) is not None
    assert sizing_sku(config.node_provisioning.node_pools[0], CAT).name == "Standard_NC4as_T4_v3"  # type: ignore[union-attr]
    # a 1-GPU limit keeps NC64as out: nothing launchable holds it, the smallest is kept (and refused)
    small = {**pool, "spot": {"limits": {"gpus": 1}}}
    values["nodeProvisioning"] = {**values["nodeProvisioning"], "nodePools": [small]}
    (plan,) = plan_models(StackConfig.model_validate(values), CAT)
    assert (plan.sku.name, plan.sizing.fits) == ("Standard_NC4as_T4_v3", False)


def _target_stack(workload: Mapping[str, object], pool_max: int = 20) -> dict[str, object]:
    pool = {"name": "a10", "vmSize": "Standard_NV36ads_A10_v5", "onDemand": {"min": 0, "max": pool_max}}
    model = {"name": "q", "model": "qwen2.5-7b-instruct", "pool": "a10", "workload": workload}
    return {
        **BASE_VALUES,
        "gpuPools": [pool],
        "models": [{**model, "scaleToZero": False, "replicas": {"min": 1}}],
    }


def test_stack_targets_cap_the_batch_and_a_rate_derives_the_replicas() -> None:
    work = {"p95PromptTokens": 1024, "p95CompletionTokens": 512, "tpotMs": 60, "peakRequestsPerSecond": 2.0}
    config = parse(_target_stack(work))
    (plan,) = plan_models(config, CAT)
    # on the A10 memory holds 35 sequences (test above); TPOT <= 60 ms holds fewer: the roofline's batch
    spec = CAT.model("qwen2.5-7b-instruct")
    shape = ModelShape.of(ModelArch.from_spec(spec), "bf16", spec.active_parameters, spec.hidden_size)
    hw = Hardware.of(CAT.sku("Standard_NV36ads_A10_v5"))
    best = best_batch(shape, hw, 1, 35, 1024, 512, tpot_s=0.060)
    assert best is not None and 1 < best.batch < 35
    assert plan.targets_met and plan.sizing.max_num_seqs == best.batch  # vLLM --max-num-seqs
    assert plan.replicas_max == math.ceil(2.0 / best.requests_per_s)
    assert plan.replicas_max > 1


def test_stack_targets_no_gpu_of_the_pool_meets_are_refused() -> None:
    # a decode step on the A10 reads 15.2 GB of weights at 600 GB/s x 0.6: about 42 ms, above 20 ms
    with pytest.raises(ConfigError) as info:
        parse(_target_stack({"tpotMs": 20}))
    (problem,) = info.value.problems
    assert problem.path == "models[0].workload"
    assert problem.message.startswith(
        "misses its latency targets on pool a10 (Standard_NV36ads_A10_v5): even at one sequence per replica "
        "the roofline estimates TPOT "
    )
    assert problem.accepted.startswith("a SKU that meets them, cheapest for the peak first: ")
    assert (
        "Standard_NV36ads_A10_v5" not in problem.accepted
        and "Standard_NC24ads_A100_v4 (tp 1" in problem.accepted
    )
    with pytest.raises(ConfigError, match="peakRequestsPerSecond and peakConcurrentRequests both given"):
        parse(_target_stack({"peakRequestsPerSecond": 1.0, "peakConcurrentRequests": 4}))


def test_a_schedule_above_the_rate_derived_maximum_names_the_rate() -> None:
    work = {"p95PromptTokens": 1024, "p95CompletionTokens": 512, "tpotMs": 60, "peakRequestsPerSecond": 2.0}
    values = _target_stack(work)
    models = values["models"]
    assert isinstance(models, list) and isinstance(models[0], dict)
    models[0]["schedule"] = {"minReplicas": 50}
    with pytest.raises(ConfigError) as info:
        parse(values)
    assert any("derived: ceil(peakRequestsPerSecond 2 / " in p.message for p in info.value.problems)
