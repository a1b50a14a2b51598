"""The contract tier: vLLM's own code (its PyPI wheel, in a venv of its own) on every vLLM container the
program renders. Not part of the default suite (marker ``contract``); ``make contract`` builds the venv
(tests/contract/venv.sh) and runs it. See docs/contract-tier.md.

The venv is ``$AKS_LLM_VLLM_VENV``, else ``${XDG_CACHE_HOME:-~/.cache}/aks-llm/venv-vllm-<pin>``. Without
it the tests skip, unless ``AKS_LLM_CONTRACT_REQUIRED=1`` (``make contract``), where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from config import versions
from tests.contract.render import PLACEHOLDER_KEYS
from tests.contract.render import contract_input as render_input

pytestmark = pytest.mark.contract
HERE = Path(__file__).parent
PIN = versions.image("vllm").version.removeprefix("v")
contract_input = cache(render_input)  # plans every stack: once per session

# Refusals that come from vLLM's CPU platform, not from what the program renders: (text of the error,
# why it does not happen on the CUDA platform the program runs on). Reviewed; everything else fails.
# Empty at v0.31.0. (At v0.11.0 it held one: the CPU platform fell back to the V0 engine for any
# sliding-window model, engine/arg_utils.py:1530-1534, and V0 refused prefix caching with a sliding
# window, vllm/config/cache.py:192-195; v0.31.0 has no V0 engine.)
CPU_ONLY_REFUSALS: dict[str, str] = {}


def tier_venv() -> Path:
    explicit = os.environ.get("AKS_LLM_VLLM_VENV")
    if explicit:
        return Path(explicit)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "aks-llm" / f"venv-vllm-{PIN}"


@cache
def report(tmp: Path) -> dict[str, Any]:
    python = tier_venv() / "bin" / "python"
    if not (tier_venv() / ".installed").exists():
        if os.environ.get("AKS_LLM_CONTRACT_REQUIRED") == "1":
            pytest.fail(f"the contract tier's venv {tier_venv()} is missing: make contract builds it")
        pytest.skip(f"no contract-tier venv at {tier_venv()} (make contract)")
    form = os.environ.get("AKS_LLM_CONTRACT_ARGV", "positional")  # model-flag: the argv before the fix
    (tmp / "in.json").write_text(json.dumps(contract_input(form)))
    done = subprocess.run(
        [str(python), str(HERE / "vllm_check.py"), str(tmp / "in.json"), str(tmp / "out.json")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads((tmp / "out.json").read_text()))


@pytest.fixture(scope="module")
def tier(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return report(tmp_path_factory.mktemp("contract"))


def test_the_tier_runs_the_pinned_vllm(tier: dict[str, Any]) -> None:
    assert tier["vllm"] == PIN and tier["platform"] == "cpu"


def test_every_container_parses_and_builds_its_engine_config(tier: dict[str, Any]) -> None:
    """vLLM's parser, validation, engine args and engine config accept every rendered container, but
    for the reviewed CPU-only refusals."""
    failures, cpu_only = [], []
    for c in tier["containers"]:
        where = f"{c['stack']}/{c['deployment']}"
        if c["ok"]:
            continue
        if any(text in c["error"] for text in CPU_ONLY_REFUSALS):
            cpu_only.append(where)
            continue
        failures.append(f"{where}: {c['error']}\n{c['stderr'][-600:]}")
    assert not failures, "\n".join(failures)
    assert len(cpu_only) < len(tier["containers"]), "every container stopped at a CPU-only refusal"
    assert len(tier["containers"]) >= 15  # dev 1, prod 1, nap 2, variants 11


def test_the_engine_serves_what_the_program_sized(tier: dict[str, Any]) -> None:
    """The engine config carries the rendered figures: the positional model (not vLLM's default), the
    served name, the lengths, the batch, the memory fraction and the tensor parallelism. (From v0.11.1
    on `serve --model <id>` parses with a warning: the model must still be the first argument.)"""
    checked = 0
    for c in tier["containers"]:
        if not c["ok"]:
            continue
        args = c["args"]
        assert not args[0].startswith("-"), f"{c['stack']}/{c['deployment']}: the model is not positional"
        flags = dict(zip(args[1::2], args[2::2], strict=True))
        f = c["facts"]
        assert f["model_tag"] == args[0] and f["served_model_name"] == flags["--served-model-name"]
        assert f["max_model_len"] == int(flags["--max-model-len"])
        assert f["max_num_seqs"] == int(flags["--max-num-seqs"])
        assert f["gpu_memory_utilization"] == float(flags["--gpu-memory-utilization"])
        assert f["tensor_parallel_size"] == int(flags["--tensor-parallel-size"])
        assert f["port"] == int(flags["--port"]) and f["architectures"]
        checked += 1
    assert checked >= 8


def test_every_vllm_variable_exists_and_every_other_has_its_reader(tier: dict[str, Any]) -> None:
    missing = [name for name, e in tier["env"].items() if e.get("installed", True) and not e["found"]]
    assert not missing, {name: tier["env"][name] for name in missing}
    assert all(e["reader"] for e in tier["env"].values())


def test_every_metric_the_program_names_is_registered(tier: dict[str, Any]) -> None:
    wanted = contract_input()["metrics"]
    assert wanted and set(wanted) <= set(tier["metrics"]), sorted(set(wanted) - set(tier["metrics"]))


def test_the_sizing_facts_vllm_budgets_from(tier: dict[str, Any]) -> None:
    """What the sizing assumes of this release: the program always renders --gpu-memory-utilization (its
    own default 0.90, below vLLM's 0.92 default of vllm/config/cache.py:103 at v0.31.0) and a KV block of 16
    tokens on CUDA (CacheConfig.DEFAULT_BLOCK_SIZE, vllm/config/cache.py:71; the CPU platform uses 128)."""
    assert tier["defaults"] == {"gpu_memory_utilization": 0.92, "default_block_size": 16}


def test_the_api_keys_file_reaches_vllms_parser(tier: dict[str, Any]) -> None:
    """A model behind the gateway reads its keys from the mounted file (``--config``, a stand-in here):
    vLLM's own config loader turns it into ``--api-key`` (renderers/api_keys.py)."""
    keyed = [c for c in tier["containers"] if "--config" in c["args"]]
    assert keyed  # prod's qwen7b
    for c in keyed:
        assert c["ok"], c.get("error")
        assert c["facts"]["api_keys"] == PLACEHOLDER_KEYS  # each key, as a string, in order
