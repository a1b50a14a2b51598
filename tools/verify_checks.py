"""The checks of ``python -m tools.verify`` as pure functions over Kubernetes objects (plain dicts, as the
API returns them) and HTTP responses; ``tools/verify_kube.py`` fetches them, ``tools/verify.py`` runs
the checks and prints them. What each check expects comes from the stack's config (GPU node groups:
``sizing.node_groups``) and its ``pulumi up`` outputs (the models' summaries).

Each check returns a ``Check``: a pass/fail line and, on failure, the next step to take.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from config.catalog import Catalog
from config.schema import StackConfig
from facts.platform import LABEL_DRIVER
from sizing.node_groups import container_function, node_groups
from sizing.workloads import (
    KAITO_INFERENCESET_POD_LABEL,
    KAITO_WORKSPACE_POD_LABEL,
    KAITO_WORKSPACE_SUFFIX,
    MODEL_LABEL,
)

Obj = Mapping[str, Any]
# The labels that tell which node group a node belongs to (AKS agent pool, NAP NodePool, KAITO model).
GROUP_KEYS = ("kubernetes.azure.com/agentpool", "karpenter.sh/nodepool", "aks-llm/kaito-workload")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    next_step: str = ""

    def line(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.detail}"
        return head if self.passed or not self.next_step else f"{head}\n      next: {self.next_step}"


# --- what the stack should have ----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupExpectation:
    """GPU nodes of one node group: how to recognise them, the resource they advertise, the driver."""

    name: str
    match: Mapping[str, str]
    resource: str  # nvidia.com/gpu or nvidia.com/mig-<profile>
    driver: str  # "managed" (AKS on the host) or "operator" (the GPU Operator's DaemonSet)


@dataclass(frozen=True)
class ModelExpectation:
    """One model, from its ``pulumi up`` summary (``outputs.models[<name>]``)."""

    name: str
    runtime: str
    kind: str  # Deployment, InferenceSet or Workspace
    floor: int
    wake_up: tuple[str, ...]
    served_name: str | None
    scaled: bool = True

    @property
    def pod_selector(self) -> dict[str, str]:
        if self.runtime == "vllm":
            return {MODEL_LABEL: self.name}
        if self.kind == "Workspace":
            return {KAITO_WORKSPACE_POD_LABEL: self.name + KAITO_WORKSPACE_SUFFIX}
        return {KAITO_INFERENCESET_POD_LABEL: self.name}


@dataclass(frozen=True)
class StackExpectation:
    namespace: str
    groups: Sequence[GroupExpectation]
    models: Sequence[ModelExpectation]
    hf_token_secret: str | None
    budget_name: str | None
    gated_models: Sequence[str] = field(default_factory=tuple)


def group_expectations(config: StackConfig, catalog: Catalog) -> list[GroupExpectation]:
    """The stack's GPU node groups as the plan sees them."""
    out = []
    for group in node_groups(config, catalog):
        if not group.gpu:
            continue
        resource = next(k for k in group.allocatable if k.startswith("nvidia.com/"))
        match = {k: group.labels[k] for k in GROUP_KEYS if k in group.labels}
        out.append(GroupExpectation(group.name, match, resource, group.labels.get(LABEL_DRIVER, "managed")))
    return out


def model_expectations(outputs: Mapping[str, Any]) -> list[ModelExpectation]:
    """The models of ``pulumi stack output --json``."""
    return [
        ModelExpectation(
            name=name,
            runtime=m["runtime"],
            kind=m["kind"],
            floor=int(m["replicasMin"]),
            wake_up=tuple(m.get("wakeUp") or ()),
            served_name=m.get("servedModelName"),
            scaled=m["kind"] != "Workspace",
        )
        for name, m in sorted((outputs.get("models") or {}).items())
    ]


# --- helpers over objects ------------------------------------------------------------------------


def _labels(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _condition(obj: Obj, kind: str) -> Obj | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def pod_ready(pod: Obj) -> bool:
    condition = _condition(pod, "Ready")
    return condition is not None and condition.get("status") == "True"


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def pod_functions(pod: Obj) -> set[str]:
    """The GPU functions (driver, device-plugin, ...) a pod's containers carry (sizing.node_groups)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    return {fn for c in containers if (fn := container_function(c)) is not None}


# --- the checks ------------------------------------------------------------------------------------


def check_gpu_group(group: GroupExpectation, nodes: Sequence[Obj], pods: Sequence[Obj]) -> list[Check]:
    """Each node of the group advertises its GPU resource and runs one device plugin and one driver
    source (the operator's driver pod on operator nodes; none on managed-driver nodes, where AKS
    installs it on the host). A group with no node (scaled to zero) passes."""
    mine = [n for n in nodes if selects(group.match, _labels(n))]
    name = f"GPU nodes {group.name}"
    if not mine:
        return [Check(name, True, "no node now (the group is at zero; a GPU pod brings one)")]
    checks = []
    for node in mine:
        node_name = _name(node)
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        count = int(str(allocatable.get(group.resource, "0")) or 0)
        on_node = [p for p in pods if (p.get("spec") or {}).get("nodeName") == node_name]
        plugins = [p for p in on_node if "device-plugin" in pod_functions(p)]
        drivers = [p for p in on_node if "driver" in pod_functions(p)]
        want_drivers = 1 if group.driver == "operator" else 0
        problems = []
        if count < 1:
            problems.append(f"advertises no {group.resource} (allocatable {dict(allocatable)})")
        if len(plugins) != 1:
            problems.append(f"{len(plugins)} device plugin pods (want 1)")
        if len(drivers) != want_drivers:
            source = "the GPU Operator's driver pod" if want_drivers else "AKS's host driver only"
            problems.append(f"{len(drivers)} driver pods (want {want_drivers}: {source})")
        if problems:
            checks.append(
                Check(
                    f"{name} {node_name}",
                    False,
                    "; ".join(problems),
                    f"kubectl describe node {node_name}; kubectl get pods -A -o wide "
                    f"--field-selector spec.nodeName={node_name} (device plugin and driver pods, their logs)",
                )
            )
        else:
            checks.append(
                Check(f"{name} {node_name}", True, f"{count} x {group.resource}, one device plugin")
            )
    return checks


def check_model_pods(model: ModelExpectation, namespace: str, pods: Sequence[Obj]) -> Check:
    """The model's pods are Ready, or none exist because the model sits at zero by design (and then
    something wakes it)."""
    mine = [p for p in pods if selects(model.pod_selector, _labels(p))]
    ready = [p for p in mine if pod_ready(p)]
    name = f"model {model.name} pods"
    if ready:
        return Check(name, True, f"{len(ready)}/{len(mine)} Ready")
    if not mine and model.floor == 0:
        woken = ", ".join(model.wake_up) or "nothing"
        return Check(
            name, bool(model.wake_up), f"at zero by design; woken by {woken}", "set a schedule or the queue"
        )
    selector = ",".join(f"{k}={v}" for k, v in model.pod_selector.items())
    return Check(
        name,
        False,
        f"0/{len(mine)} Ready",
        f"kubectl -n {namespace} describe pods -l {selector} (events: image pull, GPU capacity, "
        "model download)",
    )


def check_models_endpoint(model: ModelExpectation, status: int, body: bytes) -> Check:
    """GET /v1/models lists the model's served name (a KAITO Workspace: any model)."""
    name = f"model {model.name} /v1/models"
    if status != 200:
        return Check(
            name,
            False,
            f"HTTP {status}",
            f"kubectl -n <namespace> logs -l <the model's pods> ({_short(body)})",
        )
    try:
        ids = [str(m.get("id")) for m in json.loads(body).get("data") or []]
    except (ValueError, AttributeError):
        return Check(name, False, f"not an OpenAI model list: {_short(body)}", "is the port the model's API?")
    if model.served_name is None:
        return Check(name, bool(ids), f"serves {ids}", "the server lists no model: read its logs")
    found = model.served_name in ids
    return Check(
        name, found, f"serves {ids}", f"callers send model={model.served_name!r}: check --served-model-name"
    )


@dataclass(frozen=True)
class Completion:
    tokens: int
    ttft_seconds: float | None
    total_seconds: float
    text: str


def parse_stream(chunks: Iterable[tuple[float, bytes]]) -> Completion:
    """A streamed /v1/completions response (server-sent events): ``chunks`` are (seconds since the
    request, bytes) as they arrived. TTFT is the time of the first event carrying text."""
    buffer, tokens, ttft, text, last = b"", 0, None, [], 0.0
    for at, data in chunks:
        last = at
        buffer += data
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            for line in event.splitlines():
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    continue
                try:
                    choices = json.loads(payload).get("choices") or []
                except ValueError:
                    continue
                piece = "".join(
                    str(c.get("text") or (c.get("delta") or {}).get("content") or "") for c in choices
                )
                if piece:
                    tokens += 1
                    text.append(piece)
                    ttft = at if ttft is None else ttft
    return Completion(tokens, ttft, last, "".join(text))


def check_completion(
    model: ModelExpectation, status: int, completion: Completion | None, body: bytes = b""
) -> Check:
    name = f"model {model.name} completion"
    if status != 200 or completion is None:
        return Check(
            name, False, f"HTTP {status}: {_short(body)}", "read the model's logs; is it still loading?"
        )
    if completion.tokens == 0:
        return Check(name, False, "no tokens streamed", "read the model's logs")
    ttft = f"{completion.ttft_seconds * 1000:.0f} ms" if completion.ttft_seconds is not None else "?"
    return Check(
        name, True, f"{completion.tokens} tokens, TTFT {ttft}, total {completion.total_seconds:.2f} s"
    )


def check_scaled_objects(
    models: Sequence[ModelExpectation], scaled_objects: Sequence[Obj], namespace: str
) -> list[Check]:
    """Each scaled model's ScaledObject is Ready (KEDA read its triggers: the workload identity reached
    Managed Prometheus, and Service Bus where the queue scales it)."""
    by_name = {_name(s): s for s in scaled_objects}
    checks = []
    for model in models:
        if not model.scaled:
            continue
        name = f"ScaledObject {model.name}"
        obj = by_name.get(model.name)
        if obj is None:
            checks.append(Check(name, False, "missing", "run `pulumi up` again and read its output"))
            continue
        ready = _condition(obj, "Ready")
        if ready is not None and ready.get("status") == "True":
            active = _condition(obj, "Active")
            state = "active" if active is not None and active.get("status") == "True" else "idle"
            checks.append(Check(name, True, f"Ready, {state}"))
        else:
            reason = f"{ready.get('reason')}: {ready.get('message')}" if ready else "no Ready condition yet"
            checks.append(
                Check(
                    name,
                    False,
                    reason,
                    f"kubectl -n {namespace} describe scaledobject {model.name}; kubectl -n kube-system "
                    "logs -l app=keda-operator (trigger authentication: workload identity, its role on "
                    "the workspace or queue)",
                )
            )
    return checks


def check_hf_token(expect: StackExpectation, secret: Obj | None) -> Check | None:
    """The Hugging Face token Secret exists with its key where a gated model needs it (None: not needed)."""
    if expect.hf_token_secret is None:
        return None
    name = f"HF token secret {expect.hf_token_secret}"
    data = (secret or {}).get("data") or {}
    if secret is not None and data:
        return Check(name, True, f"synced ({', '.join(sorted(data))})")
    return Check(
        name,
        False,
        "missing" if secret is None else "empty",
        f"kubectl -n {expect.namespace} describe pods -l app.kubernetes.io/name=hf-token-sync (the CSI "
        "mount of the Key Vault secret: the identity's Key Vault Secrets User role, the vault firewall)",
    )


def check_budget(budget_name: str | None, found: bool | None) -> Check:
    """The budget: in the stack's outputs; ``found`` is what Azure says (None: not asked, needs Azure
    credentials with Cost Management Reader)."""
    if budget_name is None:
        return Check("budget", True, "none configured")
    if found is None:
        return Check("budget", True, f"{budget_name} in the stack's outputs (Azure not asked: --azure)")
    return Check(
        "budget",
        found,
        f"{budget_name} {'exists' if found else 'not found'} in Azure",
        "az consumption budget list -g <resource group>; run `pulumi up` again",
    )


def _short(body: bytes, limit: int = 160) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def summary(checks: Sequence[Check]) -> tuple[int, str]:
    """Exit code (0 only when every check passed) and the closing line."""
    failed = [c for c in checks if not c.passed]
    return (1 if failed else 0), f"{len(checks) - len(failed)} passed, {len(failed)} failed"


# --- HTTP over a byte stream (the port-forward carries raw bytes) ---------------------------------


def http_request(method: str, path: str, body: Obj | None = None) -> bytes:
    """An HTTP/1.0 request (the server closes the connection at the end and sends no chunked
    encoding, so the response is the bytes up to EOF)."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.0", "Host: localhost", "Accept: */*"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def split_response(chunks: Sequence[tuple[float, bytes]]) -> tuple[int, list[tuple[float, bytes]]]:
    """The status code and the body's chunks (with their arrival times) of a raw HTTP response; status
    0 when no status line came back."""
    raw, body, status = b"", [], 0
    for at, data in chunks:
        if status:
            body.append((at, data))
            continue
        raw += data
        if b"\r\n\r\n" in raw:
            head, rest = raw.split(b"\r\n\r\n", 1)
            parts = head.split(b"\r\n", 1)[0].split()
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            if rest:
                body.append((at, rest))
    return status, body


def completion_request(model: str, max_tokens: int, *, stream: bool) -> Obj:
    return {
        "model": model,
        "prompt": "Say hello in five words.",
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    }


@dataclass(frozen=True)
class LoadResult:
    requests: int
    ok: int
    completion_tokens: int
    seconds: float
    replicas_before: tuple[int, int] | None
    replicas_after: tuple[int, int] | None


def check_load(model: ModelExpectation, result: LoadResult) -> Check:
    """A bounded burst: all requests answered; throughput and the HPA's (current, desired) replicas
    before and after (the scaling reaction, if any, within the burst)."""
    rate = result.completion_tokens / result.seconds if result.seconds else 0.0
    detail = (
        f"{result.ok}/{result.requests} answered in {result.seconds:.1f} s, {rate:.0f} completion tokens/s; "
        f"HPA (current, desired) {result.replicas_before} -> {result.replicas_after}"
    )
    return Check(
        f"model {model.name} load",
        result.ok == result.requests,
        detail,
        "read the model's logs (timeouts, 503)",
    )


def usage_tokens(body: bytes) -> int:
    """``usage.completion_tokens`` of a non-streamed completion (0 when absent)."""
    try:
        return int((json.loads(body).get("usage") or {}).get("completion_tokens") or 0)
    except (ValueError, AttributeError):
        return 0
