"""``tools.verify``: its checks are pure functions over Kubernetes objects and HTTP responses. The objects
here are shaped by the real schemas (core objects validated with the Kubernetes 1.36 OpenAPI that
kubernetes-validate ships, ScaledObjects with KEDA's CRD in ../shared/crds, both through
tests/k8s_schemas.py) and built from a real plan (the prod stack's outputs and manifests); failures
are included. Nothing here reaches a cluster: what needs one is listed in docs/know-it-works.md.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from config.catalog import load_catalog
from tests.conftest import ROOT, parse_with, planned
from tests.k8s_schemas import manifest_errors, requires_crds
from tests.test_model_services import objects
from tools.verify_checks import (
    Check,
    ModelExpectation,
    StackExpectation,
    check_budget,
    check_completion,
    check_gpu_group,
    check_hf_token,
    check_model_pods,
    check_models_endpoint,
    check_scaled_objects,
    group_expectations,
    http_request,
    model_expectations,
    parse_stream,
    split_response,
    summary,
)

NS = "inference"


def _valid(doc: dict[str, Any]) -> dict[str, Any]:
    errors = manifest_errors(doc)
    assert not errors, errors
    return doc


def _config(stack: str, tmp_path: Path) -> Any:
    return parse_with(tmp_path, (ROOT / f"Pulumi.{stack}.yaml").read_text(), stack)


def node(name: str, labels: dict[str, str], allocatable: dict[str, str]) -> dict[str, Any]:
    return _valid(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "status": {
                "allocatable": {"cpu": "23660m", "memory": "225652696Ki", "pods": "250", **allocatable},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )


def pod(
    name: str,
    namespace: str,
    image: str,
    *,
    node_name: str = "",
    labels: dict[str, str] | None = None,
    ready: bool = True,
) -> dict[str, Any]:
    return _valid(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"nodeName": node_name, "containers": [{"name": name.rsplit("-", 1)[0], "image": image}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            },
        }
    )


DRIVER = "nvcr.io/nvidia/driver:580.95.05-ubuntu22.04"
PLUGIN = "nvcr.io/nvidia/k8s-device-plugin:v0.19.3"


# --- GPU node groups -------------------------------------------------------------------------------


def test_the_expectations_are_the_plans_node_groups(tmp_path: Path) -> None:
    groups = {g.name: g for g in group_expectations(_config("prod", tmp_path), load_catalog())}
    assert groups["a100"].resource == "nvidia.com/mig-3g.40gb" and groups["a100"].driver == "operator"
    assert groups["a100"].match == {"kubernetes.azure.com/agentpool": "a100"}
    assert groups["kaito/phi4"].resource == "nvidia.com/gpu" and groups["kaito/phi4"].driver == "managed"
    nap = {g.name: g for g in group_expectations(_config("nap", tmp_path), load_catalog())}
    assert nap["nodepool/serve-od"].match == {"karpenter.sh/nodepool": "serve-od"}


def test_an_operator_mig_node_with_its_slices_one_plugin_and_one_driver_passes(tmp_path: Path) -> None:
    (group,) = [g for g in group_expectations(_config("prod", tmp_path), load_catalog()) if g.name == "a100"]
    n = node("aks-a100-1", {"kubernetes.azure.com/agentpool": "a100"}, {"nvidia.com/mig-3g.40gb": "2"})
    pods = [
        pod("nvidia-driver-daemonset-x1", "gpu-operator", DRIVER, node_name="aks-a100-1"),
        pod("nvidia-device-plugin-daemonset-x1", "gpu-operator", PLUGIN, node_name="aks-a100-1"),
        pod("nvidia-device-plugin-daemonset-x2", "gpu-operator", PLUGIN, node_name="other"),
    ]
    (check,) = check_gpu_group(group, [n], pods)
    assert check.passed, check.line()
    assert "2 x nvidia.com/mig-3g.40gb" in check.detail


def test_missing_slices_a_second_plugin_and_a_driver_on_a_managed_node_fail(tmp_path: Path) -> None:
    groups = {g.name: g for g in group_expectations(_config("prod", tmp_path), load_catalog())}
    whole = node("aks-a100-2", {"kubernetes.azure.com/agentpool": "a100"}, {"nvidia.com/gpu": "1"})
    pods = [
        pod("nvidia-driver-daemonset-y", "gpu-operator", DRIVER, node_name="aks-a100-2"),
        pod("nvidia-device-plugin-daemonset-y", "gpu-operator", PLUGIN, node_name="aks-a100-2"),
        pod("nvidia-device-plugin-z", "nvidia-device-plugin", PLUGIN, node_name="aks-a100-2"),
    ]
    (check,) = check_gpu_group(groups["a100"], [whole], pods)
    assert not check.passed
    assert "advertises no nvidia.com/mig-3g.40gb" in check.detail and "2 device plugin pods" in check.detail
    assert "kubectl describe node aks-a100-2" in check.next_step
    kaito = node("aks-phi4-1", {"aks-llm/kaito-workload": "phi4"}, {"nvidia.com/gpu": "1"})
    extra_driver = [
        pod("nvidia-device-plugin-k", "kaito-workspace", PLUGIN, node_name="aks-phi4-1"),
        pod("nvidia-driver-daemonset-k", "gpu-operator", DRIVER, node_name="aks-phi4-1"),
    ]
    (check,) = check_gpu_group(groups["kaito/phi4"], [kaito], extra_driver)
    assert not check.passed and "1 driver pods (want 0: AKS's host driver only)" in check.detail


def test_a_group_at_zero_passes(tmp_path: Path) -> None:
    group = group_expectations(_config("dev", tmp_path), load_catalog())[0]
    (check,) = check_gpu_group(group, [], [])
    assert check.passed and "at zero" in check.detail


# --- models --------------------------------------------------------------------------------------


def _prod() -> tuple[list[ModelExpectation], Any]:
    run = planned("prod")[1]
    return model_expectations(run.outputs), run


def _vllm_pod(run: Any, name: str, *, ready: bool) -> dict[str, Any]:
    template = objects(run, "Deployment")["qwen7b"]["spec"]["template"]
    return _valid(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": template["metadata"]["labels"]},
            "spec": template["spec"],
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]},
        }
    )


def test_models_come_from_the_outputs_and_their_pods_are_found_by_the_real_labels() -> None:
    models, run = _prod()
    by = {m.name: m for m in models}
    assert set(by) == {"qwen7b", "phi4"}
    assert by["qwen7b"].served_name == "qwen7b" and by["qwen7b"].runtime == "vllm"
    assert check_model_pods(by["qwen7b"], NS, [_vllm_pod(run, "qwen7b-5d8f-abcde", ready=True)]).passed
    failing = check_model_pods(by["qwen7b"], NS, [_vllm_pod(run, "qwen7b-5d8f-abcde", ready=False)])
    assert not failing.passed and failing.detail == "0/1 Ready"
    assert "describe pods -l aks-llm/model=qwen7b" in failing.next_step


def test_a_model_at_zero_by_design_passes_only_with_something_to_wake_it() -> None:
    run = planned("nap")[1]
    by = {m.name: m for m in model_expectations(run.outputs)}
    assert check_model_pods(by["qwen7b"], NS, []).passed  # a schedule wakes it
    orphan = ModelExpectation("lonely", "vllm", "Deployment", 0, (), "lonely")
    check = check_model_pods(orphan, NS, [])
    assert not check.passed and "woken by nothing" in check.detail


def test_v1_models_must_list_the_served_name() -> None:
    models, _ = _prod()
    qwen = next(m for m in models if m.name == "qwen7b")
    body = json.dumps({"object": "list", "data": [{"id": "qwen7b", "object": "model", "owned_by": "vllm"}]})
    assert check_models_endpoint(qwen, 200, body.encode()).passed
    wrong = json.dumps({"object": "list", "data": [{"id": "Qwen/Qwen2.5-7B-Instruct", "object": "model"}]})
    check = check_models_endpoint(qwen, 200, wrong.encode())
    assert not check.passed and "--served-model-name" in check.next_step
    assert not check_models_endpoint(qwen, 503, b'{"error": "loading"}').passed


def _sse(*texts: str) -> bytes:
    events = [
        "data: "
        + json.dumps({"id": "cmpl-1", "object": "text_completion", "choices": [{"index": 0, "text": t}]})
        for t in texts
    ]
    return ("\n\n".join([*events, "data: [DONE]"]) + "\n\n").encode()


def test_a_streamed_completion_counts_tokens_and_its_time_to_first_token() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"
    stream = _sse("Hello", " there", "!")
    chunks = [(0.05, head), (0.31, stream[:60]), (0.40, stream[60:])]
    status, body = split_response(chunks)
    assert status == 200
    completion = parse_stream(body)
    assert completion.tokens == 3 and completion.text == "Hello there!"
    assert completion.ttft_seconds is not None and 0.3 <= completion.ttft_seconds <= 0.41
    qwen = ModelExpectation("qwen7b", "vllm", "Deployment", 1, (), "qwen7b")
    check = check_completion(qwen, status, completion)
    assert check.passed and "3 tokens, TTFT" in check.detail
    empty = parse_stream([(0.1, b"data: [DONE]\n\n")])
    assert not check_completion(qwen, 200, empty).passed
    assert not check_completion(qwen, 404, None, b'{"detail":"Not Found"}').passed


def test_requests_are_http_1_0_so_the_body_ends_at_close() -> None:
    request = http_request("POST", "/v1/completions", {"model": "m"})
    assert request.startswith(b"POST /v1/completions HTTP/1.0\r\n")
    assert request.endswith(b'\r\n\r\n{"model": "m"}') and b"Content-Length: 14" in request
    assert split_response([(0.1, b"garbage")]) == (0, [])


# --- KEDA, the HF token, the budget ----------------------------------------------------------------


def _scaled(run: Any, name: str, ready: str, reason: str = "ScaledObjectReady") -> dict[str, Any]:
    doc = copy.deepcopy(objects(run, "ScaledObject")[name])
    doc["status"] = {
        "conditions": [
            {"type": "Ready", "status": ready, "reason": reason, "message": "x"},
            {"type": "Active", "status": "False", "reason": "ScalerNotActive", "message": ""},
        ],
        "scaleTargetKind": "apps/v1.Deployment",
    }
    return doc


@requires_crds
def test_ready_scaled_objects_pass_and_an_unauthenticated_trigger_fails() -> None:
    models, run = _prod()
    ready = [_valid(_scaled(run, m.name, "True")) for m in models if m.scaled]
    assert all(c.passed for c in check_scaled_objects(models, ready, NS))
    broken = [_valid(_scaled(run, "qwen7b", "False", "ScaledObjectCheckFailed"))]
    checks = {c.name: c for c in check_scaled_objects(models, broken, NS)}
    assert (
        not checks["ScaledObject qwen7b"].passed
        and "ScaledObjectCheckFailed" in checks["ScaledObject qwen7b"].detail
    )
    assert "keda-operator" in checks["ScaledObject qwen7b"].next_step
    assert checks["ScaledObject phi4"].detail == "missing"


def test_the_hf_token_secret_is_checked_only_where_the_stack_has_one() -> None:
    expect = StackExpectation(NS, [], [], "hf-token", None)
    secret = _valid(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf-token"}, "data": {"HF_TOKEN": "aGZf"}}
    )
    token = check_hf_token(expect, secret)
    assert token is not None and token.passed
    missing = check_hf_token(expect, None)
    assert missing is not None and not missing.passed and "hf-token-sync" in missing.next_step
    assert check_hf_token(StackExpectation(NS, [], [], None, None), None) is None


def test_the_budget_check_says_what_needs_azure() -> None:
    assert check_budget("budget-llm-prod", None).passed
    assert "--azure" in check_budget("budget-llm-prod", None).detail
    assert not check_budget("budget-llm-prod", False).passed
    assert check_budget(None, None).passed


def test_exit_code_is_zero_only_when_everything_passed() -> None:
    assert summary([Check("a", True, "")]) == (0, "1 passed, 0 failed")
    assert summary([Check("a", True, ""), Check("b", False, "", "do x")])[0] == 1
    assert Check("b", False, "bad", "do x").line() == "FAIL  b: bad\n      next: do x"


# --- the CLI over a fake cluster -----------------------------------------------------------------


class FakeCluster:
    """What tools.verify_kube.Cluster returns, from the prod plan: one Ready pod per model."""

    def __init__(self, run: Any, *, served: str = "qwen7b") -> None:
        self.run, self.served = run, served
        self.requests: list[bytes] = []

    def nodes(self) -> list[dict[str, Any]]:
        return []

    def pods(self) -> list[dict[str, Any]]:
        kaito_labels = {"inferenceset.kaito.sh/created-by": "phi4", "kaito.sh/workspace": "phi4-x7k2w"}
        return [
            _vllm_pod(self.run, "qwen7b-5d8f-abcde", ready=True),
            pod("phi4-x7k2w-0", NS, "mcr.microsoft.com/aks/kaito/kaito-base:0.1", labels=kaito_labels),
        ]

    def scaled_objects(self, namespace: str) -> list[dict[str, Any]]:
        return [_scaled(self.run, m, "True") for m in ("qwen7b", "phi4")]

    def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return {"metadata": {"name": name}, "data": {"HF_TOKEN": "aGZf"}}

    def hpa_replicas(self, namespace: str, name: str) -> tuple[int, int] | None:
        return (1, 1)

    def http(self, namespace: str, pod: str, port: int, request: bytes) -> list[tuple[float, bytes]]:
        self.requests.append(request)
        if request.startswith(b"GET /v1/models"):
            model = self.served if pod.startswith("qwen7b") else "phi4"
            body = json.dumps({"object": "list", "data": [{"id": model, "object": "model"}]}).encode()
            return [(0.01, b"HTTP/1.1 200 OK\r\n\r\n" + body)]
        if b'"stream": true' in request:
            return [(0.02, b"HTTP/1.1 200 OK\r\n\r\n"), (0.2, _sse("Hi", "!"))]
        usage = {"choices": [{"text": "Hi"}], "usage": {"completion_tokens": 2}}
        return [(0.3, b"HTTP/1.1 200 OK\r\n\r\n" + json.dumps(usage).encode())]


def _main(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cluster: FakeCluster, *extra: str
) -> tuple[int, Any]:
    import tools.verify_kube

    monkeypatch.setattr(tools.verify_kube, "Cluster", lambda *a, **k: cluster)
    outputs = tmp_path / "outputs.json"
    # as a stack with a gated model's token (`pulumi config set --secret aks-llm:hfToken`) outputs it
    outputs.write_text(json.dumps({**cluster.run.outputs, "hfTokenSecret": "hf-token"}))
    report = tmp_path / "verify.json"
    from tools.verify import main

    argv = [
        "--stack",
        "prod",
        "--outputs",
        str(outputs),
        "--kubeconfig",
        "/dev/null",
        "--json",
        str(report),
        *extra,
    ]
    return main(argv), json.loads(report.read_text())


@requires_crds
def test_verify_passes_a_healthy_stack_and_runs_a_bounded_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = FakeCluster(planned("prod")[1])
    code, report = _main(monkeypatch, tmp_path, cluster, "--load", "4")
    out = capsys.readouterr().out
    assert code == 0, out
    names = [c["name"] for c in report["checks"]]
    for expected in (
        "model qwen7b pods",
        "model qwen7b /v1/models",
        "model qwen7b completion",
        "model qwen7b load",
    ):
        assert expected in names
    assert "ScaledObject phi4" in names and "HF token secret hf-token" in names and names[-1] == "budget"
    assert re.search(r"model qwen7b load: 4/4 answered", out)
    assert (
        sum(r.startswith(b"POST") and b'"stream": false' in r for r in cluster.requests) == 8
    )  # 4 per model


@requires_crds
def test_verify_fails_with_the_next_step_when_the_served_name_is_wrong(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _main(monkeypatch, tmp_path, FakeCluster(planned("prod")[1], served="other"))
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  model qwen7b /v1/models" in out and "next: callers send model='qwen7b'" in out
    (failed,) = [c for c in report["checks"] if not c["passed"]]
    assert failed["name"] == "model qwen7b /v1/models"


def test_the_kubernetes_client_is_imported_by_the_io_module_only() -> None:
    pattern = re.compile(r"^\s*(from kubernetes[ .]|import kubernetes\b)", re.M)
    users = sorted(
        str(p.relative_to(ROOT))
        for p in ROOT.rglob("*.py")
        if "venv" not in p.parts and pattern.search(p.read_text(encoding="utf-8", errors="replace"))
    )
    assert users == ["tools/verify_kube.py"]
