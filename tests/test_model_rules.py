"""Every model refusal: the numbers in the message and what would be accepted, from the pure loader and
rules; one refusal (and the accepted cases) through the real program: exit 2, nothing registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import rules_refusal, run_with

HEAD = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
"""
TOKEN = """  aks-llm:hfToken:
    secure: v1:AAAAAAAAAAAAAAAAAAAAAAAA
"""


def stack(pool: str, model: str, extra: str = "") -> str:
    return HEAD + extra + f"  aks-llm:gpuPools:\n    - {pool}\n  aks-llm:models:\n    - {model}\n"


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    """The rules' refusal of ``text``: the pure loader and rules, no program run (the program's side:
    ``test_the_program_exits_2_with_the_rules_message``)."""
    err = rules_refusal(tmp_path, text)
    assert "Traceback" not in err
    return err


def test_the_program_exits_2_with_the_rules_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One refusal through the real program: exit 2, nothing registered, exactly the rules' message."""
    text = stack(T4, f"{{name: p, model: phi-4-mini-instruct, pool: t4, quantization: fp8, {FIXED}}}")
    run = run_with(tmp_path, text)
    err = capsys.readouterr().err
    assert run.exit_code == 2, err
    assert run.resources == []
    assert rules_refusal(tmp_path, text) in err
    assert "vLLM's FP8 kernels need compute capability 8.0 or newer" in err


T4 = "{name: t4, vmSize: Standard_NC4as_T4_v3, purpose: batch, onDemand: {min: 0, max: 1}}"
A10 = "{name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 0, max: 1}}"
A100_MIG = "{name: mig, vmSize: Standard_NC24ads_A100_v4, driver: operator, mig: 1g.10gb, onDemand: {max: 2}}"
FIXED = "replicas: {min: 1, max: 1}, scaleToZero: false"


def test_weights_plus_one_full_sequence_that_do_not_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        tmp_path, capsys, stack(A10, f"{{name: q, model: qwen2.5-32b-instruct, pool: a10, {FIXED}}}")
    )
    # 32,763,876,352 x 2 B = 61.0 GiB of weights alone exceed the A10's 21.59 GiB CUDA total x 0.90
    # = 19.4 GiB (and so would FP8's 30.5 GiB): no shorter context or quantization helps, so the only
    # advice is the SKUs where it fits, cheapest for the peak first with their placement and price
    assert "aks-llm:models[0]: does not fit on pool a10 (Standard_NV36ads_A10_v5)" in err
    assert (
        "weights 61.0 GiB + overhead 2.3 GiB + KV of one 3,072-token sequence 0.8 GiB > 19.4 GiB usable"
        " on 1 \N{MULTIPLICATION SIGN} A10 (21.59 GiB CUDA total, derived \N{MULTIPLICATION SIGN} 0.90)"
    ) in err
    # (the advisor's ranking: cheapest for the workload's peak first, with the placement; unpriced last)
    assert (
        "accepted: a SKU where it fits, cheapest for the peak first (python -m tools.advise): "
        "Standard_NC24ads_A100_v4 (tp 1, 1 node: 3.673 USD/h), Standard_NC40ads_H100_v5 (tp 1, 1 node: "
        "6.98 USD/h), Standard_NC48ads_A100_v4 (tp 2, 1 node: 7.346 USD/h)"
    ) in err
    assert err.index("Standard_ND96isr_H100_v5 (tp 8, 1 node: 98.32 USD/h)") < err.index("unpriced")
    assert "maxModelLen" not in err.split("accepted:")[1] and "quantization" not in err.split("accepted:")[1]


def test_requested_max_num_seqs_the_kv_cache_cannot_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = f"{{name: p, model: phi-4-mini-instruct, pool: t4, workload: {{maxNumSeqs: 64}}, {FIXED}}}"
    err = refused(tmp_path, capsys, stack(T4, model))
    # room: T4 14.10 GiB x 0.9 - 7.145 - 2.3 = 3.245 GiB / (1,536 x 131,072 B = 0.1875 GiB) = 17
    # sequences of 1,536 tokens, not 64
    assert "maxNumSeqs 64 needs 12.0 GiB of KV for 1,536-token sequences but 3.2 GiB is left per GPU" in err
    assert "(room for 17: set maxNumSeqs <= 17, or leave it unset to derive it)" in err
    # remedies that work on this pool come first; the T4 cannot run FP8, so no quantization advice
    assert "accepted: on this pool: a smaller maxNumSeqs (or leave it unset to derive it)" in err
    assert "quantization" not in err


def test_mig_slice_too_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = f"{{name: q, model: qwen2.5-7b-instruct, pool: mig, {FIXED}}}"
    err = refused(tmp_path, capsys, stack(A100_MIG, model))
    # 14.2 GiB of weights on a 1g.10gb slice (8.41 GiB derived: 10 decimal GB - 0.9 GiB; x 0.9 = 7.6)
    assert "does not fit on pool mig (Standard_NC24ads_A100_v4, MIG 1g.10gb)" in err
    assert (
        "weights 14.2 GiB" in err and "7.6 GiB usable on 1 \N{MULTIPLICATION SIGN} MIG 1g.10gb slice" in err
    )
    assert "(8.41 GiB, derived \N{MULTIPLICATION SIGN} 0.90)" in err


@pytest.mark.parametrize(
    ("sku", "gpu", "cc"),
    [
        ("Standard_NC4as_T4_v3", "T4", "7.5"),
        ("Standard_NC16as_T4_v3", "T4", "7.5"),
        ("Standard_NC6s_v3", "V100", "7.0"),
    ],
)
def test_kaito_on_a_sku_kaito_no_longer_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sku: str, gpu: str, cc: str
) -> None:
    pool = f"{{name: old, vmSize: {sku}, onDemand: {{min: 0, max: 1}}}}"
    err = refused(
        tmp_path,
        capsys,
        stack(
            pool,
            f"{{name: m, model: phi-4-mini-instruct, runtime: kaito, pool: old, {FIXED}}}",
            "  aks-llm:addons: {kaito: {mode: helm}}\n",  # KAITO 0.12.0 (0.6.0 still took T4/V100)
        ),
    )
    assert f"aks-llm:models[0].runtime: KAITO does not accept {sku} ({gpu}, compute capability {cc})" in err
    assert (
        "accepted: runtime: vllm on pool old (vLLM serves float16 there), or a pool with an A10/A100/H100"
        in err
    )
    assert "Standard_NV36ads_A10_v5" in err and "Standard_NC4as_T4_v3," not in err.split("accepted:")[-1]


def test_gated_model_without_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(
        tmp_path,
        capsys,
        stack(
            A10, "{name: l, model: llama-3.1-8b-instruct, pool: a10, replicas: {min: 1}, scaleToZero: false}"
        ),
    )
    assert (
        "aks-llm:models[0].model: meta-llama/Llama-3.1-8B-Instruct is a gated Hugging Face model: its "
        "weights download only with a Hugging Face token, and no aks-llm:hfToken is configured "
        "(got 'llama-3.1-8b-instruct')"
    ) in err
    assert "accepted: pulumi config set --secret aks-llm:hfToken hf_..." in err


def test_gated_custom_model_without_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    custom = (
        "{name: c, pool: a10, replicas: {min: 1}, scaleToZero: false, custom: {hfId: acme/gated-3b, "
        "parameters: 3000000000, layers: 28, attentionHeads: 24, kvHeads: 8, headDim: 128, "
        "contextLength: 8192, gated: true}}"
    )
    err = refused(tmp_path, capsys, stack(A10, custom))
    assert "aks-llm:models[0].custom.gated: acme/gated-3b is a gated Hugging Face model" in err


def test_a_gated_model_with_a_token_is_accepted(tmp_path: Path) -> None:
    model = "{name: l, model: llama-3.1-8b-instruct, pool: a10, replicas: {min: 1}, scaleToZero: false}"
    a10 = A10.replace("max: 1", "max: 2")  # 1 replica + 1 rollout surge (sizing.slots)
    assert run_with(tmp_path, stack(a10, model, TOKEN)).exit_code == 0


def test_pre_warm_above_the_derived_maximum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # prod's qwen7b before this check: peak 96 / max-num-seqs 148 (3g.40gb at 36.35 GiB) -> 1 replica,
    # but pre-warm 2
    pool = (
        "{name: a100, vmSize: Standard_NC24ads_A100_v4, driver: operator, mig: 3g.40gb, "
        "onDemand: {min: 1, max: 3}}"
    )
    model = (
        "{name: qwen7b, model: qwen2.5-7b-instruct, pool: a100, replicas: {min: 1}, scaleToZero: false, "
        "workload: {p95PromptTokens: 1536, p95CompletionTokens: 512, peakConcurrentRequests: 96}, "
        "schedule: {minReplicas: 2}}"
    )
    err = refused(tmp_path, capsys, stack(pool, model))
    assert (
        "aks-llm:models[0].schedule.minReplicas: pre-warms 2 replicas in business hours, but the "
        "autoscaler's maximum is 1 (derived: ceil(peakConcurrentRequests 96 / max-num-seqs 148))"
    ) in err
    assert (
        "accepted: schedule.minReplicas <= 1, replicas.max >= 2, or a higher workload.peakConcurrentRequests"
        in err
    )


def test_pre_warm_above_an_explicit_maximum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = "{name: p, model: phi-4-mini-instruct, pool: a10, replicas: {max: 2}, schedule: {minReplicas: 3}}"
    err = refused(tmp_path, capsys, stack(A10, model))
    assert "maximum is 2 (replicas.max)" in err


def test_scale_to_zero_with_a_minimum_is_a_contradiction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        tmp_path, capsys, stack(A10, "{name: p, model: phi-4-mini-instruct, pool: a10, replicas: {min: 2}}")
    )
    assert "aks-llm:models[0].replicas.min: scaleToZero: true lets the model scale to 0 replicas" in err
    assert "accepted: replicas.min: 0 with scaleToZero: true, or scaleToZero: false to keep 2" in err


def test_no_scale_to_zero_with_a_zero_minimum_is_a_contradiction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        tmp_path, capsys, stack(A10, "{name: p, model: phi-4-mini-instruct, pool: a10, scaleToZero: false}")
    )
    assert "aks-llm:models[0].scaleToZero: scaleToZero: false keeps at least one replica running" in err


def test_maximum_below_minimum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = "{name: p, model: phi-4-mini-instruct, pool: a10, replicas: {min: 3, max: 2}, scaleToZero: false}"
    err = refused(tmp_path, capsys, stack(A10, model))
    assert "aks-llm:models[0].replicas.max: the autoscaler's maximum is below replicas.min (3) (got 2)" in err


def test_quantization_is_not_a_kaito_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = f"{{name: p, model: phi-4-mini-instruct, runtime: kaito, pool: a10, quantization: fp8, {FIXED}}}"
    err = refused(tmp_path, capsys, stack(A10, model))
    assert "aks-llm:models[0].quantization: KAITO serves its preset's own weights" in err


def test_awq_needs_a_quantized_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = f"{{name: q, model: qwen2.5-7b-instruct, pool: a10, quantization: awq, {FIXED}}}"
    err = refused(tmp_path, capsys, stack(A10, model))
    assert (
        "AWQ needs a checkpoint quantized with it, and catalog model qwen2.5-7b-instruct is stored as bf16"
        in (err)
    )
    # GPTQ on the AWQ checkpoint: quantized, but with another method.
    model = f"{{name: q, model: qwen2.5-7b-instruct-awq, pool: a10, quantization: gptq, {FIXED}}}"
    err = refused(tmp_path, capsys, stack(A10, model))
    assert "catalog model qwen2.5-7b-instruct-awq is stored as awq" in err


def test_fp8_needs_ampere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = f"{{name: p, model: phi-4-mini-instruct, pool: t4, quantization: fp8, {FIXED}}}"
    err = refused(tmp_path, capsys, stack(T4, model))
    assert "vLLM's FP8 kernels need compute capability 8.0 or newer; T4 on Standard_NC4as_T4_v3 is 7.5" in err


def test_autoscaled_kaito_model_needs_the_inference_set_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    addons = "  aks-llm:addons:\n    kaito: {mode: helm, featureGates: {inferenceSet: false}}\n"
    model = (
        "{name: p, model: phi-4-mini-instruct, runtime: kaito, pool: a10, replicas: {min: 1, max: 3}, "
        "scaleToZero: false}"
    )
    err = refused(tmp_path, capsys, stack(A10, model, addons))
    assert "aks-llm:models[0].replicas: an autoscaled KAITO model is an InferenceSet" in err
    # a fixed single replica is a Workspace: accepted with the gate off
    fixed = f"{{name: p, model: phi-4-mini-instruct, runtime: kaito, pool: a10, {FIXED}}}"
    assert run_with(tmp_path, stack(A10, fixed, addons)).exit_code == 0


def test_kaito_on_its_own_mig_nodes_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    addons = "  aks-llm:addons:\n    kaito: {mode: helm, nodeProvisioner: none}\n"
    model = f"{{name: p, model: phi-4-mini-instruct, runtime: kaito, pool: mig, {FIXED}}}"
    err = refused(tmp_path, capsys, stack(A100_MIG, model, addons))
    assert "aks-llm:models[0].pool: with nodeProvisioner: none KAITO runs on pool mig's own nodes" in err


def test_schedule_needs_an_iana_time_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = "{name: p, model: phi-4-mini-instruct, pool: a10, schedule: {timezone: CET+1, minReplicas: 1}}"
    err = refused(tmp_path, capsys, stack(A10, model))
    assert "aks-llm:models[0].schedule.timezone: not an IANA time zone" in err and "(got 'CET+1')" in err


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "Europe/Stockholmm"])
def test_schedule_zones_come_from_the_tzdata_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], zone: str
) -> None:
    """``localtime`` (a system database's link to the machine's own zone) and ``Factory`` (no place)
    pass ``zoneinfo`` on a machine with /usr/share/zoneinfo; the pinned tzdata list refuses them on
    every machine, and a near miss gets the nearest real names."""
    model = (
        f"{{name: p, model: phi-4-mini-instruct, pool: a10, schedule: {{timezone: {zone}, minReplicas: 1}}}}"
    )
    err = refused(tmp_path, capsys, stack(A10, model))
    assert "schedule.timezone: not an IANA time zone" in err and f"(got {zone!r})" in err
    if zone == "Europe/Stockholmm":
        assert "did you mean Europe/Stockholm" in err
