"""Tags put on every Azure resource of a stack."""

from __future__ import annotations

from collections.abc import Mapping


def stack_tags(project: str, stack: str, user_tags: Mapping[str, str]) -> dict[str, str]:
    """The project's standard tags, then the stack's own (which may override them)."""
    return {"project": project, "stack": stack, "managed-by": "pulumi", **dict(user_tags)}


def k8s_labels(name: str, component: str, **extra: str) -> dict[str, str]:
    """The app.kubernetes.io labels every Kubernetes object of the platform carries (``extra``:
    further app.kubernetes.io keys, e.g. ``instance`` or ``version``)."""
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "aks-llm",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    labels.update({f"app.kubernetes.io/{key}": value for key, value in extra.items()})
    return labels
