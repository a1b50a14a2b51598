"""Read the project's Pulumi config namespace into a validated ``StackConfig``.

``parse_stack_config`` is pure (raw key/value pairs in, ``StackConfig`` or ``ConfigError`` out) so it
can be tested without Pulumi; ``load_stack_config`` reads the values the Pulumi runtime holds.
"""

from __future__ import annotations

import json
import os
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from config.catalog import closest_names, load_catalog
from config.errors import (
    REDACTED,
    WHOLE_MAPPING,
    ConfigError,
    KeyValueError,
    Problem,
    join_path,
    looks_secret,
)
from config.pattern_text import pattern_text
from config.plan_date import PLAN_DATE_ENV, PlanDateError, plan_date
from config.schema import StackConfig
from config.strict_yaml import MAX_DEPTH  # lists and mappings inside one config value, as the file loader
from facts.aks_versions import creatable_minors
from planning.api_access import documentation_ranges_at_deploy, documentation_ranges_warning
from planning.stack_plan import StackPlan
from rules.check import checked_plan

PROJECT = "aks-llm"
SOURCE_ENV = "AKS_LLM_CONFIG_SOURCE"
SECRET_KEYS = frozenset({"hfToken"})


def config_source(stack: str) -> str:
    """The file a user edits for this stack (the offline plan may point elsewhere)."""
    return os.environ.get(SOURCE_ENV) or f"Pulumi.{stack}.yaml"


def _decode(key: str, raw: object) -> object:
    """Pulumi hands structured values over as JSON text and scalars as plain strings. Python's
    ``json`` reads ``NaN``, ``Infinity`` and ``1e999`` as non-finite floats: the schema refuses them
    at their key path (``allow_inf_nan=False``). Nesting too deep for the parser is a ``ValueError``."""
    if not isinstance(raw, str):
        return raw
    field = StackConfig.model_fields.get(_snake(key))
    wants_text = field is not None and _accepts_str(field.annotation)
    try:
        decoded = json.loads(raw)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        return raw
    if wants_text and not isinstance(decoded, str) and not isinstance(decoded, dict | list):
        return raw
    return decoded


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def _accepts_str(annotation: object) -> bool:
    if annotation is str or annotation is SecretStr:  # hfToken: a token of digits stays text
        return True
    return any(_accepts_str(a) for a in typing.get_args(annotation))


def _model_at(loc: Iterable[object]) -> type[BaseModel] | None:
    """The config model class found at a pydantic error location (aliases), for 'accepted keys'."""
    model: type[BaseModel] | None = StackConfig
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return model
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, dict, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def _unknown_key_accepted(loc: tuple[Any, ...]) -> str:
    """The keys the mapping at ``loc[:-1]`` accepts, with the closest to the unknown one."""
    parent = _model_at(loc[:-1])
    keys = sorted(f.alias or name for name, f in parent.model_fields.items()) if parent else []
    near = closest_names(str(loc[-1]), keys)
    return ", ".join(keys) + (f"; did you mean {near[0]}?" if near else "")


def _mapping_expected(loc: tuple[Any, ...], kind: str, message: str) -> tuple[str, str]:
    """(message, accepted) where a mapping was expected: the keys of the model there, if one."""
    inner = _model_at(loc)
    message = "expected a mapping of keys" if inner is not None or kind == "dict_type" else message
    if inner is not None and kind != "dict_type":
        keys = sorted(f.alias or name for name, f in inner.model_fields.items())
        return message, "a mapping with some of the keys " + ", ".join(keys)
    return message, "a mapping (key: value lines, or {key: value})"


def _problem_from(error: Mapping[str, Any], on: date) -> Problem:
    loc = tuple(error["loc"])
    path = join_path(loc)
    kind = error["type"]
    value = error.get("input")
    message = str(error["msg"])
    accepted = ""
    if kind == "extra_forbidden":
        message, accepted = "unknown key", _unknown_key_accepted(loc)
    elif kind == "missing":
        message, value = "required key is missing", None
    elif kind.startswith("value_error"):
        message = message.removeprefix("Value error, ")
        blamed = error.get("ctx", {}).get("error")
        if isinstance(blamed, KeyValueError):  # a mapping's check that names one of its keys
            path = join_path((*loc, blamed.key))
            value = value.get(blamed.key) if isinstance(value, dict) else None
        elif isinstance(value, dict):  # a check of the whole mapping: its message names the keys
            value = WHOLE_MAPPING
    elif kind in _BOUNDS:
        ctx = error.get("ctx", {})
        op, key = _BOUNDS[kind]
        message = "out of range"
        accepted = f"a number {op} {ctx.get(key)}"
    elif kind == "string_pattern_mismatch":
        message = "not in the accepted form"
        accepted = pattern_text(error.get("ctx", {}).get("pattern"))
    elif kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        message = f'YAML reads {value!r} as a number, but this key takes text: quote it ("{value}")'
        accepted = _accepted_text(path, on)
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message, accepted = _mapping_expected(loc, kind, message)
    elif kind == "finite_number":
        message = "not a finite number"
        accepted = "a finite number within the key's range (no NaN or infinity)"
    elif kind.endswith("_type"):
        message = message.replace("Input should be", "expected")
    elif kind == "literal_error":
        accepted = message.removeprefix("Input should be ")
        message = "not an accepted value"
    if not loc:  # a whole-config check: its input is every key, never worth (or safe) printing
        value = None
    return Problem(path=path, value=redact(value), message=message, accepted=accepted)


def _accepted_text(path: str, on: date) -> str:
    """What a text key accepts, where a refusal can say more than "text" (the versions on the plan date)."""
    if path == "cluster.kubernetesVersion":
        minors = ", ".join(f'"{m}"' for m in creatable_minors(on)) or "none in the calendar"
        return f'a quoted minor AKS creates on {on}: {minors} (or a patch such as "1.36.2")'
    return "quoted text"


def _depth(value: object, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests at most ``limit`` lists/mappings (scalars add no level; iterative)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        current, level = stack.pop()
        if not isinstance(current, dict | list):
            continue
        if level > limit:
            return False
        children = current.values() if isinstance(current, dict) else current
        stack.extend((v, level + 1) for v in children)
    return True


_SECRET_KEY_SHAPES = {"hftoken", "huggingfacetoken", "hftok", "hfkey", "hfapikey", "hfsecret", "token"}


def _secret_shaped(key: str) -> bool:
    """A key a user would write for the Hugging Face token: ``hf_token``, ``HFToken``, ``hf-token``..."""
    squashed = "".join(c for c in key.lower() if c.isalnum())
    return squashed in _SECRET_KEY_SHAPES or ("token" in squashed and "hf" in squashed)


def secret_problems(
    raw: Mapping[str, object], namespace: str = PROJECT, secret_keys: Iterable[str] = ()
) -> list[Problem]:
    """Near-miss secret keys (at any depth) and token-shaped text outside the secret key.

    A near-miss key (``hf_token``, ``HFToken``, ``addons.hfToken``, ``models[0].hfToken``) would be
    refused as unknown with its value shown; a token pasted into another key would reach the
    resources' inputs, tags or the plan. Both are refused here, the value never shown.
    """
    fix = f"pulumi config set --secret {namespace}:hfToken <token> (and remove this key)"
    secrets = set(secret_keys)
    problems: list[Problem] = []
    stack: list[tuple[str, object, bool]] = [
        (k, v, True) for k, v in sorted(raw.items(), key=lambda kv: kv[0], reverse=True)
    ]
    while stack:
        path, value, top = stack.pop()
        name = path.rsplit(".", 1)[-1].split("[")[0] if not top else path
        if (not top or name not in SECRET_KEYS) and _secret_shaped(name):
            problems.append(
                Problem(path, REDACTED, "the Hugging Face token is read from one key only: hfToken", fix)
            )
            continue
        if top and (name in SECRET_KEYS or name in secrets):  # a secret's value is never looked at
            continue
        if isinstance(value, str) and looks_secret(value):
            problems.append(
                Problem(
                    path,
                    REDACTED,
                    "this looks like a token or key; a plain config value is stored and shown in clear",
                    "a secret only under hfToken, set with " + fix.split(" (")[0],
                )
            )
        elif isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                if looks_secret(str(k)):
                    problems.append(Problem(path, REDACTED, "a key that looks like a token", "a plain key"))
                    continue
                stack.append((f"{path}.{k}", v, False))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v, False) for i, v in reversed(list(enumerate(value))))
    return problems


def redact(value: object) -> object:
    """``value`` with every secret key's value (at any depth) replaced: error lines never show it."""
    if isinstance(value, dict):
        return {k: "<redacted>" if k in SECRET_KEYS else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def misspelt_namespace_keys(keys: Iterable[str], namespace: str = PROJECT) -> list[Problem]:
    """Full config keys whose namespace is almost the project's (``aksllm:models``): silently ignored
    by Pulumi and by the program, so they are refused instead."""
    problems = []
    for key in sorted(keys):
        ns, sep, name = key.partition(":")
        if sep and ns != namespace and closest_names(ns, [namespace]):
            problems.append(
                Problem(
                    key,
                    "<not read>",
                    f"namespace {ns!r} is not this project's, so nothing reads this key",
                    f"{namespace}:{name}",
                )
            )
    return problems


def read_plan_date(source: str) -> date:
    """The plan's date (``config.plan_date.plan_date``); a bad ``AKS_LLM_PLAN_DATE`` is a ``ConfigError``
    naming it (`pulumi preview` with a bad date: said once, no traceback)."""
    try:
        return plan_date()
    except PlanDateError as exc:
        problem = Problem(
            PLAN_DATE_ENV, os.environ.get(PLAN_DATE_ENV), str(exc), "a date like 2026-12-01, or unset"
        )
        raise ConfigError(source, "", [problem]) from None


def parse_stack_config(
    raw: Mapping[str, object],
    *,
    source: str,
    secret_keys: Iterable[str] = (),
    namespace: str = PROJECT,
    other_keys: Iterable[str] = (),
    on: date | None = None,
) -> StackConfig:
    """The validated config of ``parse_stack_plan`` (same arguments; raise ``ConfigError``)."""
    plan = parse_stack_plan(
        raw, source=source, secret_keys=secret_keys, namespace=namespace, other_keys=other_keys, on=on
    )
    return plan.config


def parse_stack_plan(
    raw: Mapping[str, object],
    *,
    source: str,
    secret_keys: Iterable[str] = (),
    namespace: str = PROJECT,
    other_keys: Iterable[str] = (),
    on: date | None = None,
    stack: str | None = None,
) -> StackPlan:
    """Validate the namespace's keys (without the ``project:`` prefix) and plan the stack once; raise
    ``ConfigError``. ``other_keys`` are the full keys of other namespaces (checked for a misspelt project
    name); ``on`` is the plan's date the rules judge and the plan keeps (``config.plan_date.plan_date``
    when not given); ``stack`` is the Pulumi stack's name (the budget's resource groups in the cost
    estimate). The rules run in two phases (``rules.check.checked_plan``): the reference rules on
    the config, then, on the plan, every other one."""
    day = read_plan_date(source) if on is None else on
    misspelt = misspelt_namespace_keys(other_keys, namespace)
    if misspelt:
        raise ConfigError(source, "", misspelt)
    secrets = set(secret_keys)
    plain_secrets = sorted(k for k in SECRET_KEYS & raw.keys() if k not in secrets)
    if plain_secrets:
        problems = [
            Problem(
                path=key,
                value="<redacted>",
                message="a secret stored as plain config",
                accepted=f"pulumi config set --secret {namespace}:{key} <value>",
            )
            for key in plain_secrets
        ]
        raise ConfigError(source, namespace, problems)
    decoded: dict[str, object] = {}
    bad: list[Problem] = []
    for key, value in raw.items():
        try:
            decoded[key] = _decode(key, value)
        except ValueError as exc:
            bad.append(Problem(key, None, f"cannot be read: {exc}", "a flatter JSON value"))
            continue
        if not _depth(decoded[key]):
            bad.append(Problem(key, None, f"nested deeper than {MAX_DEPTH} levels", "a flatter value"))
    if bad:
        raise ConfigError(source, namespace, bad)
    leaked = secret_problems(decoded, namespace, secrets)
    if leaked:
        raise ConfigError(source, namespace, leaked)
    try:
        config = StackConfig.model_validate(decoded)
    except ValidationError as exc:
        problems = [_problem_from(e, day) for e in exc.errors(include_url=False)]
        problems = [
            Problem(p.path, "<redacted>", p.message, p.accepted)
            if p.path.split(".")[0].split("[")[0] in SECRET_KEYS | secrets
            else p
            for p in problems
        ]
        raise ConfigError(source, namespace, problems) from None
    plan, rule_problems = checked_plan(config, load_catalog(), on=day, stack=stack)
    if plan is None or rule_problems:
        raise ConfigError(source, namespace, rule_problems)
    return plan


def runtime_config(namespace: str = PROJECT) -> tuple[dict[str, object], list[str], list[str]]:
    """The namespace's keys, its secret keys, and the other namespaces' full keys, as the Pulumi
    runtime holds them (CLI or mocks)."""
    from pulumi.runtime import config as rc

    merged: dict[str, object] = dict(rc.get_config_env())
    merged.update(rc.CONFIG.get())
    prefix = namespace + ":"
    values = {k[len(prefix) :]: v for k, v in merged.items() if k.startswith(prefix)}
    secret = [k for k in values if rc.is_config_secret(prefix + k)]
    secret += [k[len(prefix) :] for k in rc.get_config_secret_keys_env() if k.startswith(prefix)]
    others = [k for k in merged if not k.startswith(prefix)]
    return values, sorted(set(secret)), others


def deployment_problems(config: StackConfig, *, deploying: bool) -> list[Problem]:
    """What only a deployment (``pulumi up``, not a preview or the offline plan) refuses: settings that
    plan fine as placeholders but would fail against the real cloud (the documentation IP ranges)."""
    return documentation_ranges_at_deploy(config) if deploying else []


def load_stack_plan(stack: str, namespace: str = PROJECT, *, on: date | None = None) -> StackPlan:
    """Read and validate the running stack's config and plan it (judged on the plan's date ``on``); raise
    ``ConfigError`` on a bad value, and on what ``deployment_problems`` refuses when this run deploys. A
    preview warns about those instead."""
    import pulumi

    values, secret, others = runtime_config(namespace)
    source = config_source(stack)
    plan = parse_stack_plan(
        values,
        source=source,
        secret_keys=secret,
        namespace=namespace,
        other_keys=others,
        on=on,
        stack=stack,
    )
    config = plan.config
    problems = deployment_problems(config, deploying=not pulumi.runtime.is_dry_run())
    if problems:
        raise ConfigError(source, namespace, problems)
    warning = documentation_ranges_warning(config)
    if warning is not None:
        pulumi.log.warn(warning)
    return plan
