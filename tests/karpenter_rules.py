"""The CEL rules of Karpenter's NodePool CRD that JSON schema cannot check: restricted label keys.

``jsonschema`` ignores ``x-kubernetes-validations``; the API server evaluates them. The label rules
of ``spec.template.metadata.labels`` and ``spec.template.spec.requirements[].key`` are simple enough
to translate to Python (``self.all(x, ...)``, ``in [...]``, ``find(regex)``, ``endsWith``, ``!=``,
``||``, ``!``): this module reads them from the CRD in ``../shared/crds`` and evaluates them, so a
restricted label (``accelerator``, ``karpenter.sh/...``) is caught before ``pulumi up``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from tests.k8s_schemas import CRD_DIR

NODEPOOL_CRD = "karpenter.sh_nodepools.yaml"


def _find(value: str, pattern: str) -> str:
    match = re.search(pattern, value)
    return match.group(0) if match else ""


def _python(rule: str) -> str:
    """A CEL label rule as a Python expression over ``self``."""
    expr = rule.strip()
    all_form = re.fullmatch(r"self\.all\(x,\s*(.*)\)", expr, flags=re.S)
    if all_form:
        expr = f"all(({_python_body(all_form[1], 'x')}) for x in self)"
    else:
        expr = _python_body(expr, "self")
    return expr


def _python_body(body: str, var: str) -> str:
    out = re.sub(rf"\b{var}\.find\(", f"_find({var}, ", body)
    out = out.replace(".endsWith(", ".endswith(").replace("||", " or ").replace("&&", " and ")
    out = re.sub(r"!(?!=)", " not ", out)
    return out


def _rules_at(schema: dict[str, Any]) -> list[dict[str, str]]:
    return list(schema.get("x-kubernetes-validations", []))


@functools.cache
def label_rules() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(template label rules, requirement key rules) as (Python expression, message)."""
    crd = yaml.safe_load((CRD_DIR / NODEPOOL_CRD).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    template = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["template"]
    labels = template["properties"]["metadata"]["properties"]["labels"]
    key = template["properties"]["spec"]["properties"]["requirements"]["items"]["properties"]["key"]
    return (
        [(_python(r["rule"]), r["message"]) for r in _rules_at(labels)],
        [(_python(r["rule"]), r["message"]) for r in _rules_at(key)],
    )


def _evaluate(expr: str, value: Any) -> bool:
    # The expression comes from the CRD file translated above, not from user input; no builtins but all().
    return bool(eval(expr, {"__builtins__": {"all": all}, "_find": _find}, {"self": value}))


def nodepool_label_errors(manifest: dict[str, Any]) -> list[str]:
    """The messages of every label rule a NodePool manifest breaks (empty when it passes)."""
    label_exprs, key_exprs = label_rules()
    template = manifest["spec"]["template"]
    labels = template.get("metadata", {}).get("labels", {})
    errors = [f"labels: {msg}" for expr, msg in label_exprs if not _evaluate(expr, list(labels))]
    for req in template["spec"]["requirements"]:
        errors += [
            f"requirement {req['key']}: {msg}" for expr, msg in key_exprs if not _evaluate(expr, req["key"])
        ]
    return errors
