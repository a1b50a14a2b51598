"""The vLLM container's command line, asserted directly (the contract tier, tests/contract, runs vLLM's own
parser on it): ``vllm serve <hf id> --flags``. From vLLM 0.11.1 on, ``serve --model <id>`` only logs a
warning and serves vLLM's default model, so a parser run alone would not catch the old form."""

from __future__ import annotations

import pytest

from config.catalog import load_catalog
from renderers.vllm import VLLM_COMMAND
from tests.conftest import planned
from tests.contract.render import vllm_containers


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_the_model_is_the_positional_argument_of_vllm_serve(stack: str) -> None:
    run = planned(stack)[1]
    hf_ids = {m.hf_id for m in load_catalog().models.values()}
    containers = vllm_containers(run)
    assert containers
    for c in containers:
        assert c["command"] == ["vllm", "serve"] == list(VLLM_COMMAND)
        model, *flags = c["args"]
        assert model in hf_ids, c["args"]
        assert "--model" not in flags and not any(f.startswith("--model=") for f in flags)
        assert all(f.startswith("--") for f in flags[::2]), flags  # flag/value pairs after the model
