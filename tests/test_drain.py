"""Graceful drain of vLLM replicas: the rendered preStop hook run for real against a metrics endpoint,
its bound, the grace period above it, and every cap that must be at least as long."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.schema import ModelConfig
from sizing import drain
from tests.conftest import one, planned, run_with
from tools.plan import kubernetes_manifests

# What vLLM v0.31.0 serves on /metrics (prometheus_client text; vllm/v1/metrics/loggers.py:480-525 gauges,
# labels model_name and engine).
METRICS = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{{engine="0",model_name="m"}} {running}
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{{engine="0",model_name="m"}} 0.0
"""


class _Server:
    """A local /metrics whose running gauge follows ``values`` (the last one repeats)."""

    def __init__(self, values: list[float]) -> None:
        self.values, self.hits = values, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                value = outer.values[min(outer.hits, len(outer.values) - 1)]
                outer.hits += 1
                body = METRICS.format(running=value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/metrics"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    s = _Server(request.param)
    yield s
    s.close()


def _deployment(stack: str = "dev") -> dict[str, Any]:
    run = planned(stack)[1]
    (deployment,) = [m for m in kubernetes_manifests(run.resources) if m["kind"] == "Deployment"]
    return deployment


def _prestop() -> list[str]:
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    command: list[str] = container["lifecycle"]["preStop"]["exec"]["command"]
    return command


def _run_hook(settle: int, bound: int, url: str, poll: str = "0.05") -> tuple[int, float]:
    """The rendered hook, with test timings and URL, under this machine's python3 (the image's)."""
    python, flag, script, *_ = _prestop()
    assert (python, flag) == ("python3", "-c")
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, str(settle), str(bound), url, poll], check=False, timeout=60
    )
    return done.returncode, time.monotonic() - start


def test_the_rendered_hook_polls_running_requests_on_localhost_after_a_settle_sleep() -> None:
    python, flag, _script, settle, bound, url, poll = _prestop()
    # dev's phi4mini: p95 512 completion tokens at 10 tokens/s -> 52 s bound; 15 s settle; port 8000
    assert (python, flag, settle, bound, url, poll) == (
        "python3",
        "-c",
        "15",
        "52",
        "http://127.0.0.1:8000/metrics",
        "2",
    )
    spec = _deployment()["spec"]["template"]["spec"]
    # grace period above the hook: 15 + 52 + 30 s shutdown = 97 -> 120 s
    assert spec["terminationGracePeriodSeconds"] == 120 > int(settle) + int(bound)


@pytest.mark.parametrize("server", [[3.0, 2.0, 1.0, 0.0]], indirect=True)
def test_the_hook_returns_once_running_requests_reach_zero(server: _Server) -> None:
    code, took = _run_hook(0, 30, server.url)
    assert code == 0 and server.hits == 4  # polled until the gauge read 0, then returned at once
    assert took < 10


@pytest.mark.parametrize("server", [[5.0]], indirect=True)
def test_the_hook_is_bounded_when_requests_never_finish(server: _Server) -> None:
    code, took = _run_hook(0, 1, server.url)
    assert code == 0 and 1.0 <= took < 5 and server.hits > 3


def test_the_hook_returns_when_the_server_is_gone() -> None:
    code, took = _run_hook(0, 30, "http://127.0.0.1:9/metrics")  # discard port: nothing listens
    assert code == 0 and took < 10


def _model(tokens: int) -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "name": "m",
            "model": "phi-4-mini-instruct",
            "pool": "p",
            "workload": {"p95CompletionTokens": tokens},
        }
    )


def test_grace_period_is_settle_plus_bound_plus_shutdown() -> None:
    assert drain.termination_grace_seconds(_model(512)) == 120  # 15 + 52 + 30 = 97 -> 120
    assert drain.termination_grace_seconds(_model(6000)) == 660  # 15 + 600 + 30 = 645 -> 660
    assert drain.termination_grace_seconds(_model(10)) == 60  # the floor
    assert drain.duration_seconds("1h30m") == 5400 and drain.karpenter_duration(660) == "11m"
    assert drain.karpenter_duration(645) == "645s"


LONG = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}AUTOSCALER}
  aks-llm:gpuPools:
    - {name: a10, vmSize: Standard_NV36ads_A10_v5, purpose: batch, onDemand: {min: 0, max: 2}}
  aks-llm:models:
    - {name: essay, model: phi-4-mini-instruct, pool: a10, purpose: batch, replicas: {min: 1, max: 1},
       scaleToZero: false, workload: {p95CompletionTokens: 6000}}
"""


def test_a_drain_longer_than_the_autoscalers_cap_is_refused_with_the_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_with(tmp_path, LONG.replace("AUTOSCALER", ""))
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert (
        "aks-llm:cluster.autoscaler.maxGracefulTerminationSec: model essay (models[0]) needs a 660 s" in err
    )
    assert "15 s settle + 600 s for running requests" in err and "at most 600 s on scale-down" in err
    assert "accepted: maxGracefulTerminationSec: 660 or more" in err
    raised = run_with(tmp_path, LONG.replace("AUTOSCALER", ", autoscaler: {maxGracefulTerminationSec: 660}"))
    assert raised.exit_code == 0
    cluster = one(raised, "azure-native:containerservice:ManagedCluster").inputs
    assert cluster["autoScalerProfile"]["maxGracefulTerminationSec"] == "660"
    (pool,) = [r.inputs for r in raised.resources if r.type == "azure-native:containerservice:AgentPool"]
    # one A10 per node: one 660 s replica per node -> 11 min < AKS's 30 min default, which stays
    assert pool["upgradeSettings"]["drainTimeoutInMinutes"] == 30


@pytest.mark.parametrize("stack", ["dev", "prod"])  # NAP clusters run no cluster autoscaler profile
def test_the_default_cap_is_emitted(stack: str) -> None:
    cluster = one(planned(stack)[1], "azure-native:containerservice:ManagedCluster").inputs
    assert cluster["autoScalerProfile"]["maxGracefulTerminationSec"] == "600"


def test_upgrade_drain_timeout_is_raised_for_many_slow_replicas_per_node() -> None:
    from config.schema import StackConfig

    config = StackConfig.model_validate(
        {
            "location": "swedencentral",
            "cluster": {"apiServer": {"privateCluster": True}},
            "gpuPools": [{"name": "p", "vmSize": "Standard_NC96ads_A100_v4", "onDemand": {"max": 1}}],
            "models": [
                {
                    "name": "m",
                    "model": "phi-4-mini-instruct",
                    "pool": "p",
                    "workload": {"p95CompletionTokens": 6000},
                }
            ],
        }
    )
    # 4 GPUs per node, each a 660 s replica drained one after another (PDB maxUnavailable 1): 44 min
    assert drain.upgrade_drain_timeout_minutes(config, config.gpu_pools[0], 4) == 44


NAP_LONG = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:nodeProvisioning:
    mode: nap
    nodePools:
      - {name: serve, skus: [Standard_NC24ads_A100_v4], onDemand: {limits: {gpus: 2}}TGP}
  aks-llm:models:
    - {name: essay, model: qwen2.5-7b-instruct, pool: serve, replicas: {min: 1, max: 1}, scaleToZero: false,
       workload: {p95CompletionTokens: 8000}}
"""


def test_nodepool_termination_grace_period_is_raised_or_an_explicit_short_one_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 8,000 tokens: 15 + 800 + 30 = 845 -> 870 s grace, above the NodePool's 10m default
    run = run_with(tmp_path, NAP_LONG.replace("TGP", ""))
    assert run.exit_code == 0
    (nodepool,) = [m for m in kubernetes_manifests(run.resources) if m["kind"] == "NodePool"]
    assert nodepool["spec"]["template"]["spec"]["terminationGracePeriod"] == "870s"
    refused = run_with(tmp_path, NAP_LONG.replace("TGP", ", terminationGracePeriod: 10m"))
    assert refused.exit_code == 2
    err = capsys.readouterr().err
    assert (
        "aks-llm:nodeProvisioning.nodePools[0].terminationGracePeriod: model essay (models[0]) needs a 870 s"
        in err
    )
    assert "Karpenter deletes its pods 600 s after a node starts draining" in err
    assert "accepted: terminationGracePeriod: 870s or more" in err
