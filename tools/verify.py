"""Know it works: check a deployed stack after ``pulumi up`` (``make verify STACK=dev``).

    python -m tools.verify --stack dev [--kubeconfig PATH] [--outputs FILE] [--azure] [--load N]

Reads the stack's config (the GPU node groups the plan expects) and its ``pulumi up`` outputs (models,
namespace, HF token Secret, budget; ``pulumi stack output --json`` unless ``--outputs`` gives them),
gets the cluster's kubeconfig as the program does (``az aks get-credentials`` + kubelogin with the Azure
CLI login) unless ``--kubeconfig`` is given, then checks:

- each GPU node group's nodes advertise their GPU resource (whole GPUs or MIG slices) and run one
  device plugin and one driver source;
- every model's pods are Ready, or at zero by design with something that wakes it;
- ``GET /v1/models`` lists the served name and a short streamed completion returns tokens (TTFT shown),
  through a port-forward to one Ready pod;
- the KEDA ScaledObjects are Ready (their triggers authenticated);
- the HF token Secret is synced where the stack has one;
- the budget exists (Azure is asked only with ``--azure``: it needs Cost Management Reader);
- ``--load N``: N concurrent completions per serving model, throughput and the HPA's replicas.

Prints one PASS/FAIL line per check (a failure with its next step), writes ``--json`` if asked, exits 0
only when every check passed (2: the stack file or its outputs could not be read).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from config.catalog import load_catalog
from config.errors import EXIT_CODE, ConfigError
from facts.metrics import KEDA_HPA_PREFIX
from sizing.workloads import KAITO_PORT, VLLM_PORT
from tools.verify_checks import (
    Check,
    LoadResult,
    ModelExpectation,
    StackExpectation,
    check_budget,
    check_completion,
    check_gpu_group,
    check_hf_token,
    check_load,
    check_model_pods,
    check_models_endpoint,
    check_scaled_objects,
    completion_request,
    group_expectations,
    http_request,
    model_expectations,
    parse_stream,
    pod_ready,
    selects,
    split_response,
    summary,
    usage_tokens,
)

ROOT = Path(__file__).resolve().parent.parent
COMPLETION_TOKENS = 16
MAX_LOAD = 256


def expectation(stack: str, outputs: dict[str, Any], config_file: Path | None) -> StackExpectation:
    from tools.plan import stack_config
    from tools.stack_config import load_stack_settings

    config = stack_config(load_stack_settings(ROOT, stack, config_file))
    return StackExpectation(
        namespace=str(outputs.get("inferenceNamespace") or config.inference.namespace),
        groups=group_expectations(config, load_catalog()),
        models=model_expectations(outputs),
        hf_token_secret=outputs.get("hfTokenSecret"),
        budget_name=outputs.get("budgetName"),
    )


def _port(model: ModelExpectation) -> int:
    return VLLM_PORT if model.runtime == "vllm" else KAITO_PORT


def _serving_checks(
    cluster: Any, expect: StackExpectation, model: ModelExpectation, pods: list[Any]
) -> list[Check]:
    ready = [
        p for p in pods if selects(model.pod_selector, p["metadata"].get("labels") or {}) and pod_ready(p)
    ]
    if not ready:
        return []  # the pod check already says why (or that the model is at zero by design)
    pod, port = ready[0]["metadata"]["name"], _port(model)
    status, body = split_response(
        cluster.http(expect.namespace, pod, port, http_request("GET", "/v1/models"))
    )
    listing = b"".join(d for _, d in body)
    checks = [check_models_endpoint(model, status, listing)]
    served = model.served_name or _first_id(listing)
    request = http_request(
        "POST", "/v1/completions", completion_request(served, COMPLETION_TOKENS, stream=True)
    )
    status, body = split_response(cluster.http(expect.namespace, pod, port, request))
    completion = parse_stream(body) if status == 200 else None
    checks.append(check_completion(model, status, completion, b"".join(d for _, d in body)))
    return checks


def _first_id(listing: bytes) -> str:
    try:
        return str(json.loads(listing)["data"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _load(
    cluster: Any, expect: StackExpectation, model: ModelExpectation, pods: list[Any], count: int
) -> Check:
    ready = [
        p["metadata"]["name"]
        for p in pods
        if selects(model.pod_selector, p["metadata"].get("labels") or {}) and pod_ready(p)
    ]
    hpa = KEDA_HPA_PREFIX + model.name
    before = cluster.hpa_replicas(expect.namespace, hpa) if model.scaled else None
    body = http_request(
        "POST", "/v1/completions", completion_request(model.served_name or "", 64, stream=False)
    )

    def one(index: int) -> tuple[int, int]:
        status, chunks = split_response(
            cluster.http(expect.namespace, ready[index % len(ready)], _port(model), body)
        )
        return status, usage_tokens(b"".join(d for _, d in chunks))

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(count, 32)) as pool:
        results = list(pool.map(one, range(count)))
    seconds = time.monotonic() - start
    after = cluster.hpa_replicas(expect.namespace, hpa) if model.scaled else None
    ok = [tokens for status, tokens in results if status == 200]
    return check_load(model, LoadResult(count, len(ok), sum(ok), seconds, before, after))


def run_checks(
    cluster: Any, expect: StackExpectation, *, load: int = 0, budget_found: bool | None = None
) -> list[Check]:
    nodes, pods = cluster.nodes(), cluster.pods()
    checks: list[Check] = []
    for group in expect.groups:
        checks += check_gpu_group(group, nodes, pods)
    model_pods = [p for p in pods if p["metadata"].get("namespace") == expect.namespace]
    for model in expect.models:
        checks.append(check_model_pods(model, expect.namespace, model_pods))
        checks += _serving_checks(cluster, expect, model, model_pods)
        if load and any(
            pod_ready(p) and selects(model.pod_selector, p["metadata"].get("labels") or {})
            for p in model_pods
        ):
            checks.append(_load(cluster, expect, model, model_pods, load))
    checks += check_scaled_objects(expect.models, cluster.scaled_objects(expect.namespace), expect.namespace)
    token = check_hf_token(
        expect, cluster.secret(expect.namespace, expect.hf_token_secret) if expect.hf_token_secret else None
    )
    if token is not None:
        checks.append(token)
    checks.append(check_budget(expect.budget_name, budget_found))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.verify", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path, help="the stack file (default: Pulumi.<stack>.yaml)")
    parser.add_argument("--outputs", type=Path, help="`pulumi stack output --json` saved to a file")
    parser.add_argument(
        "--kubeconfig", type=Path, help="default: az aks get-credentials for the stack's cluster"
    )
    parser.add_argument("--context", help="kubeconfig context (default: its current one)")
    parser.add_argument("--azure", action="store_true", help="ask Azure whether the budget exists")
    parser.add_argument(
        "--load", type=int, default=0, metavar="N", help=f"N concurrent completions per model (<= {MAX_LOAD})"
    )
    parser.add_argument("--json", type=Path, help="write the checks as JSON here")
    args = parser.parse_args(argv)
    if not 0 <= args.load <= MAX_LOAD:
        parser.error(f"--load takes 0 to {MAX_LOAD}")
    try:
        from tools.verify_kube import Cluster, budget_exists, fetch_kubeconfig, stack_outputs

        outputs = json.loads(args.outputs.read_text()) if args.outputs else stack_outputs(args.stack)
        expect = expectation(args.stack, outputs, args.config_file)
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_CODE
    except (OSError, ValueError) as error:
        print(f"verify: cannot read the stack's outputs: {error}", file=sys.stderr)
        return EXIT_CODE
    kubeconfig = args.kubeconfig or fetch_kubeconfig(outputs["resourceGroupName"], outputs["clusterName"])
    budget_found = (
        budget_exists(outputs["resourceGroupName"], expect.budget_name)
        if args.azure and expect.budget_name
        else None
    )
    checks = run_checks(Cluster(kubeconfig, args.context), expect, load=args.load, budget_found=budget_found)
    for check in checks:
        print(check.line())
    code, line = summary(checks)
    print(line)
    if args.json:
        args.json.write_text(
            json.dumps({"stack": args.stack, "checks": [asdict(c) for c in checks]}, indent=2) + "\n"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
