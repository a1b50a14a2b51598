"""The async queue's consumer through the real program under mocks: the worker's Deployment,
ScaledObject (validated against KEDA's CRD), NetworkPolicy and identity; its model's triggers; the
rules that refuse a queue nobody consumes; and the worker plan's numbers."""

from __future__ import annotations

from typing import Any

import pytest

from config.errors import ConfigError
from sizing.queue_worker import MIN_DELIVERIES
from tests.conftest import parse_values as parse
from tests.k8s_schemas import iter_docs, manifest_errors, requires_crds
from tests.test_model_services import full, objects, pod_spec
from tools.plan import kubernetes_manifests

IMAGE = "crllmmodels0000.azurecr.io/aks-llm-worker@sha256:" + "1" * 64
T4 = {"name": "t4", "vmSize": "Standard_NC4as_T4_v3", "purpose": "batch", "spot": {"min": 0, "max": 4}}


def batch(name: str) -> dict[str, Any]:
    return {"name": name, "model": "phi-4-mini-instruct", "pool": "t4", "purpose": "batch"}


def test_the_worker_is_pinned_small_locked_down_and_on_the_system_pool() -> None:
    run = full()
    deployment = objects(run, "Deployment")["queue-worker"]
    assert deployment["spec"]["replicas"] == 0  # KEDA wakes it
    labels = deployment["metadata"]["labels"]
    assert (
        labels["app.kubernetes.io/name"] == "queue-worker"
        and labels["app.kubernetes.io/part-of"] == "aks-llm"
    )
    spec = pod_spec(run, "queue-worker")
    (container,) = spec["containers"]
    assert container["image"] == IMAGE and container["imagePullPolicy"] == "Always"
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "192Mi"},
        "limits": {"cpu": "500m", "memory": "384Mi"},
    }
    ctx = container["securityContext"]
    assert ctx["runAsNonRoot"] and ctx["runAsUser"] == 10002 and ctx["readOnlyRootFilesystem"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]  # the health file
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["exec"]["command"] == ["python", "-m", "worker.health"]
    # the system pool: GPU pools are tainted sku=gpu (a CPU pod there would hold a GPU node)
    assert spec["nodeSelector"] == {"kubernetes.azure.com/mode": "system"}
    assert spec["tolerations"] == [
        {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert spec["serviceAccountName"] == "queue-worker" and spec["automountServiceAccountToken"] is False
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert template_labels["azure.workload.identity/use"] == "true"  # the webhook injects the token
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_URL"] == "http://nightly.inference.svc.cluster.local" and env["MODEL_NAME"] == "nightly"
    assert (env["SERVICEBUS_QUEUE"], env["SERVICEBUS_REPLY_QUEUE"]) == (
        "batch-inference",
        "batch-inference-results",
    )
    assert env["SERVICEBUS_NAMESPACE"].endswith(".servicebus.windows.net")
    assert env["MAX_DELIVERY_COUNT"] == "5" and env["WORKER_CONCURRENCY"] == "17"
    # a generation already at the model finishes on SIGTERM: 2 x 52 s -> 104, +30
    assert env["REQUEST_TIMEOUT_SECONDS"] == "104" and spec["terminationGracePeriodSeconds"] == 134
    assert not any("secret" in k.lower() or "key" in k.lower() for k in env)  # no secrets, ever


def test_the_worker_scales_from_zero_on_the_queue() -> None:
    spec = objects(full(), "ScaledObject")["queue-worker"]["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "queue-worker"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 1)  # nightly: 1 replica x 17 seqs
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "azure-servicebus" and trigger["authenticationRef"] == {
        "name": "keda-servicebus"
    }
    meta = trigger["metadata"]
    assert (meta["queueName"], meta["messageCount"], meta["activationMessageCount"]) == (
        "batch-inference",
        "17",
        "0",
    )
    # stays as long as one delivery may take (cold start + generation), whatever the queue's count says
    env = {e["name"]: e["value"] for e in pod_spec(full(), "queue-worker")["containers"][0]["env"]}
    assert spec["cooldownPeriod"] == int(env["MODEL_WAIT_SECONDS"]) + int(env["REQUEST_TIMEOUT_SECONDS"])


def test_the_worker_reaches_only_dns_its_model_and_service_bus() -> None:
    policy = objects(full(), "NetworkPolicy")["queue-worker"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy
    dns, model, azure = policy["egress"]
    assert dns["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
    ]
    assert model == {
        "to": [{"podSelector": {"matchLabels": {"aks-llm/model": "nightly"}}}],
        "ports": [{"port": 8000, "protocol": "TCP"}],
    }
    assert {p["port"] for p in azure["ports"]} == {5671, 443}  # AMQP over TLS; Entra ID over HTTPS


@requires_crds
def test_worker_and_queue_objects_validate_against_the_crds() -> None:
    docs = kubernetes_manifests(full().resources)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("ScaledObject", "queue-worker"), ("TriggerAuthentication", "keda-servicebus")} <= names
    mine = [
        d
        for d in docs
        if d["metadata"]["name"] in {"queue-worker", "keda-servicebus", "nightly"}
        and d["kind"] in {"ScaledObject", "TriggerAuthentication", "Deployment", "NetworkPolicy"}
    ]
    assert len(mine) >= 6
    failures = {name: errs for name, doc in iter_docs(mine) if (errs := manifest_errors(doc))}
    assert not failures, failures


def test_a_queue_without_a_batch_model_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse({"addons": {"asyncQueue": {"enabled": True}}})
    (problem,) = info.value.problems
    assert (
        problem.path == "addons.asyncQueue.enabled" and "nothing would consume the queue" in problem.message
    )


def test_two_batch_models_need_the_queue_to_name_one() -> None:
    fixed = {**batch("a"), "scaleToZero": False, "replicas": {"min": 1}}
    stack = {"gpuPools": [T4], "models": [fixed, batch("b")], "addons": {"asyncQueue": {"enabled": True}}}
    with pytest.raises(ConfigError) as info:
        parse(stack)
    problems = {p.path: p for p in info.value.problems}
    assert "a, b" in problems["addons.asyncQueue.model"].accepted
    # without a worker image nothing can wake b whichever model is named: an independent problem
    assert "nothing can wake it" in problems["models[1].scaleToZero"].message
    # with the worker deployed, whether b wakes depends on the model named: one root cause, said once
    # (issue 20: no cascades)
    with_worker = {**stack, "addons": {"asyncQueue": {"enabled": True, "worker": {"image": IMAGE}}}}
    with pytest.raises(ConfigError) as info:
        parse(with_worker)
    (problem,) = info.value.problems
    assert problem.path == "addons.asyncQueue.model" and "a, b" in problem.accepted
    named = {**stack, "addons": {"asyncQueue": {"enabled": True, "model": "b", "worker": {"image": IMAGE}}}}
    assert parse(named).addons.async_queue.model == "b"


def test_the_queue_refuses_a_serving_model_and_an_unknown_one() -> None:
    serving = {"name": "t4", "vmSize": "Standard_NC4as_T4_v3", "onDemand": {"min": 1, "max": 2}}
    with pytest.raises(ConfigError) as info:
        parse(
            {
                "gpuPools": [serving],
                "models": [
                    {"name": "chat", "model": "phi-4-mini-instruct", "pool": "t4", "replicas": {"min": 1}}
                ],
                "addons": {"asyncQueue": {"enabled": True, "model": "chat"}},
            }
        )
    assert any("purpose serving" in p.message for p in info.value.problems), info.value.problems
    with pytest.raises(ConfigError) as info:
        parse(
            {
                "gpuPools": [T4],
                "models": [batch("a")],
                "addons": {"asyncQueue": {"enabled": True, "model": "zz"}},
            }
        )
    assert any("no model of that name" in p.message for p in info.value.problems)


def test_max_delivery_count_covers_evictions_and_cold_starts() -> None:
    stack = {"gpuPools": [T4], "models": [{**batch("a"), "replicas": {"min": 1}, "scaleToZero": False}]}
    with pytest.raises(ConfigError) as info:
        parse({**stack, "addons": {"asyncQueue": {"enabled": True, "maxDeliveryCount": MIN_DELIVERIES - 1}}})
    (problem,) = info.value.problems
    assert problem.path == "addons.asyncQueue.maxDeliveryCount" and "evicted" in problem.message
    assert parse({**stack, "addons": {"asyncQueue": {"enabled": True, "maxDeliveryCount": 3}}})


def test_worker_settings_without_the_queue_are_refused_and_images_need_a_digest() -> None:
    with pytest.raises(ConfigError) as info:
        parse({"addons": {"asyncQueue": {"worker": {"image": IMAGE}}}})
    assert info.value.problems[0].path == "addons.asyncQueue.worker"
    stack = {"gpuPools": [T4], "models": [batch("a")]}
    with pytest.raises(ConfigError) as info:
        tagged = "crllmtest0000.azurecr.io/aks-llm-worker:v1"
        parse({**stack, "addons": {"asyncQueue": {"enabled": True, "worker": {"image": tagged}}}})
    assert info.value.problems[0].path == "addons.asyncQueue.worker.image"
    with pytest.raises(ConfigError):
        parse({**stack, "addons": {"asyncQueue": {"enabled": True, "replyQueueName": "batch-inference"}}})


def test_the_plan_reports_the_worker_and_whether_it_is_deployed() -> None:
    from tests.conftest import planned

    deployed = full().outputs["queueWorker"]
    assert deployed["deployed"] is True and deployed["image"] == IMAGE and deployed["model"] == "nightly"
    pending = planned("dev")[1].outputs["queueWorker"]
    assert pending["deployed"] is False and pending["image"].startswith("not set")
    # one delivery's wait: 900 s for a node from zero + phi-4-mini's startup budget
    assert pending["modelWaitSeconds"] > 900 and pending["cooldownSeconds"] == (
        pending["modelWaitSeconds"] + pending["requestTimeoutSeconds"]
    )
    assert "queueWorker" not in planned("prod")[1].outputs


def test_the_pulumi_program_never_imports_the_workers_sdks() -> None:
    """azure-servicebus and azure-identity are the worker's (worker/requirements.txt), not the program's."""
    import re as _re

    from tests.conftest import PROGRAM_PACKAGES, ROOT

    offenders = [
        str(path.relative_to(ROOT))
        for folder in (*PROGRAM_PACKAGES, "policy")
        for path in (ROOT / folder).rglob("*.py")
        if _re.search(r"^\s*(from|import) azure\.(servicebus|identity)", path.read_text(), _re.M)
    ]
    assert offenders == []
    assert "azure-servicebus" not in (ROOT / "requirements.txt").read_text()
