"""Merge a stack's config as the Pulumi CLI would: Pulumi.yaml defaults, then the stack file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import REDACTED, ConfigError, Problem
from config.strict_yaml import load_yaml

SECRET_PLACEHOLDER = "[secret]"


@dataclass(frozen=True)
class StackSettings:
    """The config map handed to the program, its secret keys and the file it came from."""

    project: str
    stack: str
    source: str
    config: dict[str, str]
    secret_keys: list[str]


def _as_config_string(value: Any) -> str:
    """The CLI passes scalars as text and objects/arrays as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


class StackFileError(Exception):
    """The stack file cannot be read as Pulumi stack config (missing, not YAML, no ``config:``)."""


def _read_yaml(path: Path, source: str | None = None) -> Any:
    """The file's YAML as the Pulumi CLI reads it (``config.strict_yaml``): a YAML problem is a
    ``ConfigError`` naming the file and key path; a file that cannot be read is a ``StackFileError``."""
    if path.is_dir():
        raise StackFileError(f"{path} is a directory, not a stack file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StackFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return load_yaml(data, source=source or str(path))


def load_stack_settings(root: Path, stack: str, config_file: Path | None = None) -> StackSettings:
    """Read ``Pulumi.yaml`` and the stack file (or ``config_file``) below ``root``."""
    project_doc = _read_yaml(root / "Pulumi.yaml", "Pulumi.yaml") or {}
    path = config_file or root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise StackFileError(f"no stack file {path} (stacks here: {', '.join(stack_names(root)) or 'none'})")
    source = path.name if config_file is None else str(config_file)
    return stack_settings(project_doc, _read_yaml(path, source), stack=stack, source=source)


def stack_settings(project_doc: Any, stack_doc: Any, *, stack: str, source: str) -> StackSettings:
    """Pure: the config map the CLI would hand the program, from the parsed Pulumi.yaml and stack file."""
    project = str(project_doc["name"])
    config: dict[str, str] = {}
    for key, decl in (project_doc.get("config") or {}).items():
        if isinstance(decl, dict) and "default" in decl:
            config[_full_key(project, key)] = _as_config_string(decl["default"])
        elif not isinstance(decl, dict):
            config[_full_key(project, key)] = _as_config_string(decl)
    if not isinstance(stack_doc, dict) or not isinstance(stack_doc.get("config"), dict):
        raise StackFileError(
            f"{source}: a stack file holds its settings under a top-level `config:` mapping, "
            f"e.g. `config:\n  {project}:location: swedencentral`"
        )
    secret_keys: list[str] = []
    bad: list[Problem] = []
    for key, value in stack_doc["config"].items():
        full = _full_key(project, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            if not is_ciphertext(value["secure"]):
                bad.append(_not_ciphertext(full, value["secure"]))
                continue
            config[full] = SECRET_PLACEHOLDER
            secret_keys.append(full)
        else:
            config[full] = _as_config_string(value)
    if bad:
        raise ConfigError(source, "", bad)
    return StackSettings(project=project, stack=stack, source=source, config=config, secret_keys=secret_keys)


def is_ciphertext(value: object) -> bool:
    """Whether ``value`` can be what ``pulumi config set --secret`` writes under ``secure:``: the
    ciphertext, a non-empty string (``v1:...`` with a passphrase, base64 with Pulumi Cloud or a KMS)."""
    return isinstance(value, str) and bool(value.strip())


def _not_ciphertext(key: str, value: object) -> Problem:
    shown = value if not isinstance(value, str) else value if not value.strip() else REDACTED
    return Problem(
        f"{key}.secure",
        shown,
        "a secure: value is the ciphertext Pulumi wrote, never empty, a number, a list or null; this one "
        "holds no secret",
        f"pulumi config set --secret {key} <value> (it writes the ciphertext), or remove the key",
    )


def stack_names(root: Path) -> list[str]:
    """Stacks that have a ``Pulumi.<stack>.yaml`` file below ``root``."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
