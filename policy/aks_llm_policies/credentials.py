"""Recognising secrets in declared values: names that say "secret" and strings shaped like one.

The policy SDK (pulumi-policy 1.21.0, Python) hands ``validate`` the inputs with Pulumi's secret
marker already removed, so a policy cannot tell a value set with ``pulumi config set --secret`` from
a literal. What it can see, and what these helpers find, are secrets where no marker would help:
a token written into a pod's environment or arguments (plain text in the cluster's object, readable by
anyone who may read Deployments), a ConfigMap key named like a password, and a string shaped like a
known credential in a field that is not meant to hold one.
"""

from __future__ import annotations

import re
from itertools import pairwise

# Name parts that make an environment variable, ConfigMap key or flag a secret.
_SECRET_WORDS = frozenset(
    {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "APIKEY", "CREDENTIAL", "CREDENTIALS"}
)
_SECRET_PAIRS = frozenset(
    {
        ("API", "KEY"),
        ("ACCESS", "KEY"),
        ("PRIVATE", "KEY"),
        ("ACCOUNT", "KEY"),
        ("SHARED", "KEY"),
        ("CLIENT", "SECRET"),
        ("CONNECTION", "STRING"),
        ("SAS", "KEY"),
    }
)
# A name ending like these points at a secret (a file, a path, a Secret's name), it does not hold one.
_REFERENCE_SUFFIXES = frozenset({"FILE", "PATH", "DIR", "NAME", "REF", "ID", "URL", "URI", "ENDPOINT"})
_REFERENCE_PREFIXES = frozenset({"EXISTING"})

# Strings shaped like well-known credentials.
CREDENTIAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}")),
    ("an Azure shared access key", re.compile(r"SharedAccessKey=[A-Za-z0-9+/]{20,}={0,2}")),
    ("an OpenAI-style API key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b")),
)

# Flags of inference servers that take a secret as their value (vLLM --api-key, --hf-token...).
_SECRET_FLAG = re.compile(
    r"^--?(api-key|hf-token|token|password|secret|access-key|client-secret)(?:=(.*))?$", re.IGNORECASE
)


def _parts(name: str) -> list[str]:
    """``HF_TOKEN`` / ``hfToken`` / ``hf-token`` -> ``["HF", "TOKEN"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [p for p in re.split(r"[^A-Za-z0-9]+", spaced.upper()) if p]


def is_secret_name(name: str) -> bool:
    """Whether a variable or key named ``name`` holds a secret (``HF_TOKEN`` yes, ``HF_TOKEN_PATH``,
    ``TOKENIZERS_PARALLELISM`` and ``MAX_NUM_BATCHED_TOKENS`` no)."""
    parts = _parts(name)
    if not parts or parts[-1] in _REFERENCE_SUFFIXES or parts[0] in _REFERENCE_PREFIXES:
        return False
    if any(p in _SECRET_WORDS for p in parts):
        return True
    return any(pair in _SECRET_PAIRS for pair in pairwise(parts))


def credential_kind(value: str) -> str | None:
    """What kind of credential ``value`` contains, if it looks like one."""
    for kind, pattern in CREDENTIAL_PATTERNS:
        if pattern.search(value):
            return kind
    return None


def is_reference(value: str) -> bool:
    """A value Kubernetes expands from elsewhere (``$(VAR)``) or a shell reads from the env (``$VAR``)."""
    return value.startswith("$")


def secret_flags(args: list[str]) -> list[str]:
    """Secret-taking flags given a literal value in a container's ``command``/``args``."""
    found = []
    for i, arg in enumerate(args):
        match = _SECRET_FLAG.match(arg)
        if not match:
            continue
        value = match[2] if match[2] is not None else (args[i + 1] if i + 1 < len(args) else "")
        if value and not is_reference(value) and not value.startswith("-"):
            found.append(match[1])
    return found
