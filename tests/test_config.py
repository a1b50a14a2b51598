"""Stack config validation: the schema, the catalog rules, and the one-message error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import ConfigError, join_path
from config.schema import StackConfig
from stack.loader import _secret_shaped, parse_stack_config
from tests.conftest import ROOT, run_with

SOURCE = "Pulumi.test.yaml"


def stack_values(stack: str) -> dict[str, Any]:
    """The project namespace of a committed stack file, as plain data."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in doc.items() if k.startswith("aks-llm:")}


def parse(values: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> StackConfig:
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return parse_stack_config(raw, source=SOURCE, secret_keys=secret_keys)


def problems_of(values: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(values)
    return info.value


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_committed_stacks_are_valid(stack: str) -> None:
    cfg = parse(stack_values(stack))
    assert cfg.location == "swedencentral"


def test_scalars_come_as_text_like_the_cli_passes_them() -> None:
    cfg = parse_stack_config({"location": "westeurope", "prefix": "ab1"}, source=SOURCE)
    assert cfg.prefix == "ab1"


def test_unknown_key_names_file_path_value_and_suggestion() -> None:
    values = stack_values("dev")
    values["cluster"]["systemPool"]["vmsize"] = "Standard_D4ds_v5"
    err = problems_of(values)
    text = err.render()
    assert "Pulumi.test.yaml: aks-llm:cluster.systemPool.vmsize: unknown key" in text
    assert "did you mean vmSize?" in text
    assert "'Standard_D4ds_v5'" in text


def test_unknown_gpu_sku_suggests_the_closest_catalog_names() -> None:
    values = stack_values("dev")
    values["gpuPools"] = [{"name": "gpu", "vmSize": "Standard_NC4as_T4", "onDemand": {"max": 1}}]
    values.pop("models", None)
    values["addons"]["asyncQueue"] = {"enabled": False}  # no batch model left to consume it
    err = problems_of(values)
    (problem,) = err.problems
    assert problem.path == "gpuPools[0].vmSize"
    assert "Standard_NC4as_T4_v3" in problem.accepted.split("?")[0]


def test_retired_sku_is_refused() -> None:
    values = stack_values("dev")
    values["gpuPools"] = [{"name": "gpu", "vmSize": "Standard_NC6s_v3", "onDemand": {"max": 1}}]
    values.pop("models", None)
    values["addons"]["asyncQueue"] = {"enabled": False}  # no batch model left to consume it
    (problem,) = problems_of(values).problems
    assert "retired" in problem.message and "2025-09-30" in problem.message


def test_unknown_model_and_pool_are_reported_together() -> None:
    values = stack_values("dev")
    values["gpuPools"] = [{"name": "gpu", "vmSize": "Standard_NC24ads_A100_v4", "onDemand": {"max": 1}}]
    values["models"] = [{"name": "chat", "model": "llama-3.1-8b-instruc", "pool": "gpuu"}]
    paths = {p.path: p for p in problems_of(values).problems}
    assert "llama-3.1-8b-instruct" in paths["models[0].model"].accepted
    assert paths["models[0].pool"].accepted == "did you mean gpu? one of gpu"  # not "gpu? gpu"


def test_api_server_must_not_be_open_by_accident() -> None:
    values = stack_values("dev")
    values["cluster"]["apiServer"] = {}
    (problem,) = problems_of(values).problems
    assert problem.path == "cluster.apiServer" and "open to the internet" in problem.message


def test_secret_in_plain_config_is_refused_and_not_echoed() -> None:
    values = stack_values("dev")
    values["hfToken"] = "hf_supersecretvalue"
    err = problems_of(values)
    assert "hf_supersecretvalue" not in err.render()
    assert "pulumi config set --secret aks-llm:hfToken" in err.render()


# --- hypothesis: any single bad value anywhere is refused with its path -------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(node, dict):
        out.append((prefix, node))
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, (*prefix, i)))
    else:
        out.append((prefix, node))
    return out


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _wrong_type(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.sampled_from(["yes", 1, [True]])
    if isinstance(value, int | float):
        return st.sampled_from(["many", [value], {"n": value}, True])
    if isinstance(value, str):
        return st.sampled_from([7, True, [value], {"v": value}])
    return st.just("not-a-structure")


FREE_FORM_MAPS = {"tags", "families", "skus", "modelThroughput"}  # keys are the user's (tags, SKUs, models)
BASES = {stack: stack_values(stack) for stack in ("dev", "prod", "nap")}
# Unknown keys; one shaped like the Hugging Face token's (``hftok``) is refused as that instead.
_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzXYZ", min_size=3, max_size=12).filter(
    lambda k: not _secret_shaped(k)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), stack=st.sampled_from(sorted(BASES)))
def test_any_wrongly_typed_value_is_refused_with_its_path(data: st.DataObject, stack: str) -> None:
    doc = copy.deepcopy(BASES[stack])
    # Top-level scalars reach the program as text whatever YAML type they had (the CLI's contract),
    # so wrong types are generated inside the structured keys, where they survive.
    leaves = [(p, v) for p, v in _paths(doc) if len(p) > 1 and not isinstance(v, dict)]
    path, value = data.draw(st.sampled_from(leaves))
    bad = data.draw(_wrong_type(value))
    _set(doc, path, bad)
    err = problems_of(doc)
    target = join_path(path)
    assert any(target.startswith(p.path) or p.path.startswith(target) for p in err.problems), err.render()
    assert err.render().startswith(f"error: invalid stack config in {SOURCE}")


@settings(max_examples=60, deadline=None)
@given(data=st.data(), stack=st.sampled_from(sorted(BASES)), key=_KEYS)
def test_any_unknown_key_is_refused_with_the_accepted_keys(data: st.DataObject, stack: str, key: str) -> None:
    doc = copy.deepcopy(BASES[stack])
    objects = [p for p, v in _paths(doc) if isinstance(v, dict) and not (p and p[-1] in FREE_FORM_MAPS)]
    path = data.draw(st.sampled_from(objects))
    node: Any = doc
    for part in path:
        node = node[part]
    if key in node or "token" in key.lower():  # a token-like key has its own message (stack.loader)
        return
    node[key] = "surprise"
    err = problems_of(doc)
    target = join_path((*path, key))
    matching = [p for p in err.problems if p.path == target]
    assert matching and matching[0].message == "unknown key", err.render()
    assert matching[0].accepted


# --- through the real program: exit 2, one message, nothing registered ---------------------------


def test_bad_config_stops_the_program_before_any_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(
        tmp_path,
        "config:\n  aks-llm:location: swedencentral\n  aks-llm:cluster:\n    tier: Gold\n",
    )
    assert run.exit_code == 2
    assert run.resources == []
    err = capsys.readouterr().err
    assert "Pulumi.test.yaml: aks-llm:cluster.tier: not an accepted value (got 'Gold')" in err
    assert "'Standard', 'Free' or 'Premium'" in err
    assert "Traceback" not in err


def test_repeated_names_are_reported_at_the_second_use() -> None:
    values = stack_values("dev")
    values["models"] = [values["models"][0], dict(values["models"][0])]
    (problem,) = problems_of(values).problems
    assert (problem.path, problem.value) == ("models[1].name", "phi4mini")
    assert "already used by models[0]" in problem.message


def test_the_token_never_appears_in_any_error_line() -> None:
    """Whole-config errors (a missing key) and nested values are redacted, not only the hfToken key."""
    token = "hf_NEVERPRINTME0123456789"
    with pytest.raises(ConfigError) as info:
        parse_stack_config({"hfToken": token, "prefix": "llm"}, source=SOURCE, secret_keys=("hfToken",))
    text = info.value.render()
    assert "aks-llm:location: required key is missing (got nothing)" in text
    assert token not in text
    values = stack_values("dev")
    values["cluster"]["nope"] = {"hfToken": token}
    with pytest.raises(ConfigError) as info:
        parse(values | {"hfToken": token}, secret_keys=("hfToken",))
    assert token not in info.value.render()
