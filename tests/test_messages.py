"""Every message exact, never cascading (issue 20 item 2): one problem per root cause, on the key the user
wrote, saying what is accepted in words (no internal class name, no bare regular expression)."""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import config.schema as schema
from config.errors import ConfigError, Problem
from config.pattern_text import PATTERN_TEXT
from stack.loader import _inner_model, parse_stack_config
from tests.conftest import ROOT

DEV: dict[str, Any] = {
    k.split(":", 1)[1]: v for k, v in yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"].items()
}


def problems(change: Callable[[dict[str, Any]], None]) -> list[Problem]:
    """The problems of the dev stack after ``change`` (values handed over as the CLI does: JSON text)."""
    config = copy.deepcopy(DEV)
    change(config)
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    try:
        parse_stack_config(raw, source="Pulumi.dev.yaml")
    except ConfigError as error:
        return list(error.problems)
    raise AssertionError("accepted, but should be refused")


def only(change: Callable[[dict[str, Any]], None]) -> Problem:
    (problem,) = problems(change)
    return problem


def test_a_model_that_does_not_fit_is_not_also_a_slot_shortfall() -> None:
    """Before: a second problem, "the models on pool t4 need 6001 GPU slots ... (6000 replicas + 1 rollout
    surge)", derived from a model that does not fit at all."""

    def change(c: dict[str, Any]) -> None:
        c["models"][0]["model"] = "qwen2.5-72b-instruct"
        c["models"][0]["workload"]["peakConcurrentRequests"] = 6000

    problem = only(change)
    assert problem.path == "models[0]" and problem.message.startswith("does not fit on pool t4")


def test_a_queue_naming_an_unknown_model_is_reported_on_the_queue_only() -> None:
    """Before: also "models[0].scaleToZero: model phi4mini ... nothing can wake it"."""
    problem = only(lambda c: c["addons"]["asyncQueue"].update(model="nope"))
    assert problem.path == "addons.asyncQueue.model" and problem.accepted == "one of phi4mini"


def test_a_version_written_as_a_number_says_to_quote_it_and_lists_the_versions() -> None:
    """Before: "expected a valid string (got 1.36)"."""
    problem = only(lambda c: c["cluster"].update(kubernetesVersion=1.36))
    assert problem.path == "cluster.kubernetesVersion"
    assert problem.message == 'YAML reads 1.36 as a number, but this key takes text: quote it ("1.36")'
    assert problem.accepted.startswith('a quoted minor AKS creates on 2026-12-01: "1.35", "1.36", "1.37"')


@pytest.mark.parametrize(
    ("change", "path", "value"),
    [
        (lambda c: c["cluster"].update(kubernetesVersion="1.3"), "cluster.kubernetesVersion", "1.3"),
        (lambda c: c["gpuPools"][0]["onDemand"].update(min=3), "gpuPools[0].onDemand.min", 3),
        (
            lambda c: c["cluster"]["network"].update(dnsServiceIp="10.9.0.10"),
            "cluster.network.dnsServiceIp",
            None,
        ),
        (
            lambda c: c["models"][0]["workload"].update(maxModelLen=300),
            "models[0].workload.maxModelLen",
            300,
        ),
        (lambda c: c["models"][0].update(schedule={"days": "5-1"}), "models[0].schedule.days", "5-1"),
        (lambda c: c["budget"].update(thresholds=[50, 50]), "budget.thresholds", [50, 50]),
    ],
)
def test_a_check_of_a_mapping_names_the_nested_key_and_its_value(
    change: Callable[[dict[str, Any]], None], path: str, value: object
) -> None:
    """Before: the parent's path with the whole mapping as "got" (e.g. ``cluster: kubernetesVersion '1.3'
    is not like 1.33 ... (got {'kubernetesVersion': '1.3', 'tier': 'Free', ...})``)."""
    if path == "cluster.network.dnsServiceIp":
        change = _with_network(change)
        value = "10.9.0.10"
    problem = only(change)
    assert (problem.path, problem.value) == (path, value)


def _with_network(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def wrapped(c: dict[str, Any]) -> None:
        c["cluster"].setdefault("network", {})
        change(c)

    return wrapped


def test_a_check_of_a_whole_mapping_quotes_no_mapping() -> None:
    def change(c: dict[str, Any]) -> None:
        del c["gpuPools"][0]["onDemand"], c["gpuPools"][0]["spot"]

    config = copy.deepcopy(DEV)
    change(config)
    with pytest.raises(ConfigError) as info:
        parse_stack_config({k: json.dumps(v) for k, v in config.items()}, source="S")
    assert "gpuPools[0]: a GPU pool needs onDemand and/or spot capacity\n" in info.value.render()


def _fields(model: type[BaseModel], prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    for field in model.model_fields.values():
        path = (*prefix, field.alias)
        yield path
        inner = _inner_model(field.annotation)
        if inner is not None and "dict[" not in str(field.annotation):
            yield from _fields(inner, (*path, 0) if "list[" in str(field.annotation) else path)


def _set(config: dict[str, Any], path: tuple[object, ...], value: object) -> bool:
    node: Any = config
    for part, after in itertools.pairwise(path):
        if isinstance(part, int):
            if not isinstance(node, list) or len(node) <= part:
                return False
            node = node[part]
        else:
            if not isinstance(node, dict):
                return False
            node = node.setdefault(part, [] if isinstance(after, int) else {})
    if not isinstance(node, dict):
        return False
    node[path[-1]] = value
    return True


CLASS_NAMES = [n for n, o in vars(schema).items() if inspect.isclass(o) and issubclass(o, BaseModel)]
REGEX = re.compile(r"\^|\$\)|\]\{|\\s|\[0-9\]|\(\?")


@pytest.mark.parametrize("value", [5, 1.5, "x y", [1], {"a": 1}, True, -1])
def test_no_message_names_an_internal_class_or_shows_only_a_regex(value: object) -> None:
    """Every key of the schema (lists at their first item) set to a wrong value: what the user reads names no
    pydantic model class and never gives a regular expression as the only accepted text."""
    for path in _fields(schema.StackConfig):
        config = copy.deepcopy(DEV)
        if not _set(config, path, value):
            continue
        raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
        try:
            parse_stack_config(raw, source="S", secret_keys=["hfToken"])
        except ConfigError as error:
            text = error.render()
            assert not [c for c in CLASS_NAMES if re.search(rf"\b{c}\b", text)], (path, text)
            assert not REGEX.search(text), (path, text)


def test_every_pattern_of_the_schema_has_words() -> None:
    patterns: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                if key == "pattern":
                    patterns.add(str(child))
                else:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema.StackConfig.model_json_schema(by_alias=True))
    assert patterns - set(PATTERN_TEXT) == set()


def test_a_region_written_as_words_is_refused_with_an_example() -> None:
    """Before: "accepted: text matching ^[a-z][a-z0-9]{2,30}$"."""
    problem = only(lambda c: c.update(location="Sweden Central"))
    assert problem.accepted == "an Azure region name such as swedencentral (lowercase, no spaces)"


def test_a_model_key_given_a_scalar_lists_its_keys() -> None:
    """Before: "expected a valid dictionary or instance of KedaHttpAddonConfig (got 5)"."""
    problem = only(lambda c: c["addons"].update(keda={"httpAddon": 5}))
    assert problem.path == "addons.keda.httpAddon" and problem.message == "expected a mapping of keys"
    assert problem.accepted == (
        "a mapping with some of the keys chartVersion, coldStartTimeoutSeconds, enabled, "
        "responseHeaderTimeoutSeconds"
    )


def test_a_bad_plan_date_variable_is_a_clean_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: a ValueError traceback from inside the program, exit 1."""
    from config.plan_date import PLAN_DATE_ENV
    from tools.plan import main

    monkeypatch.setenv(PLAN_DATE_ENV, "2026-13-01")
    assert main(["--stack", "dev"]) == 2
    assert capsys.readouterr().err == (
        "error: AKS_LLM_PLAN_DATE='2026-13-01' is not a calendar date YYYY-MM-DD, e.g. 2026-12-01; unset it "
        "to plan as of today (UTC)\n"
    )
    # the program itself (pulumi preview) refuses it as a config error, exit 2, no traceback
    with pytest.raises(ConfigError) as info:
        parse_stack_config({"location": "swedencentral"}, source="Pulumi.dev.yaml")
    assert info.value.problems[0].path == PLAN_DATE_ENV


def test_a_bad_date_flag_is_named_as_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """Before: "--date: AKS_LLM_PLAN_DATE='2026-02-30' is not a date like 2026-12-01"."""
    from tools.plan import main

    assert main(["--stack", "dev", "--date", "2026-02-30"]) == 2
    assert (
        capsys.readouterr().err
        == "error: --date '2026-02-30' is not a calendar date YYYY-MM-DD, e.g. 2026-12-01\n"
    )


PROD: dict[str, Any] = {
    k.split(":", 1)[1]: v
    for k, v in yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"].items()
}


def test_a_mig_slice_too_small_suggests_the_larger_profiles_not_the_pools_own_sku() -> None:
    """Before: "a SKU where it fits, cheapest first: Standard_NV36ads_A10_v5 ..., Standard_NC24ads_A100_v4"
    (the pool's own SKU, which it already runs on)."""
    config = copy.deepcopy(PROD)
    config["gpuPools"][0]["mig"] = "1g.10gb"
    with pytest.raises(ConfigError) as info:
        parse_stack_config({k: json.dumps(v) for k, v in config.items()}, source="Pulumi.prod.yaml")
    (problem,) = info.value.problems
    assert problem.accepted.startswith(
        "on this pool: a larger MIG profile where it fits: 3g.40gb, 4g.40gb, 7g.80gb;"
    )
    assert "Standard_NC24ads_A100_v4" not in problem.accepted


def test_a_sku_suggestion_never_proposes_a_retired_sku() -> None:
    """Before: "did you mean Standard_NC6s_v3, ..." (retired 2025-09-30) for Standard_NC6s_v4."""
    problem = only(lambda c: c["gpuPools"][0].update(vmSize="Standard_NC6s_v4"))
    assert problem.accepted.startswith("did you mean") and "Standard_NC6s_v3" not in problem.accepted
