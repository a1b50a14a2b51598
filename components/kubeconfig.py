"""The kubeconfig the Kubernetes provider uses, made non-interactive."""

from __future__ import annotations

from typing import Any

import yaml

LOGIN_MODE = "azurecli"


def with_azure_cli_login(kubeconfig: str, mode: str = LOGIN_MODE) -> str:
    """Point every kubelogin exec user at ``--login <mode>``.

    AKS writes its Entra ID kubeconfig (``format=exec``) with ``--login devicecode``, which waits for a
    person at a browser: on a CI runner `pulumi up` would hang at the first Kubernetes object. The
    Azure CLI login is the identity Pulumi's Azure provider already uses (``az login`` locally,
    ``azure/login`` with OIDC in CI).
    """
    doc: dict[str, Any] = yaml.safe_load(kubeconfig)
    for user in doc.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec")
        if not exec_ or "kubelogin" not in str(exec_.get("command", "")):
            continue
        args = list(exec_.get("args") or [])
        if "--login" in args:
            at = args.index("--login")
            args[at + 1 : at + 2] = [mode]
        elif "-l" in args:
            at = args.index("-l")
            args[at + 1 : at + 2] = [mode]
        else:
            args += ["--login", mode]
        exec_["args"] = args
    return yaml.safe_dump(doc, sort_keys=False)
