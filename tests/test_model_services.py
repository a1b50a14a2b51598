"""Model services through the real program: vLLM Deployments, KAITO InferenceSets and Workspaces,
their Services, policies, model cache, KEDA scaling and the metrics KEDA reads."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.catalog import load_catalog
from config.schema import KaitoConfig, StackConfig
from sizing.node_selection import pool_scheduling
from sizing.workloads import VLLM_DIGEST, VLLM_VERSION
from tests.conftest import ROOT, by_type, parse_with, planned, rules_refusal, run_with
from tests.k8s_schemas import iter_docs, manifest_errors, requires_crds
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests, main, run_stack
from tools.stack_config import load_stack_settings

AGENT_POOL = "azure-native:containerservice:AgentPool"
NS = "inference"

# Everything on: a token, the HTTP add-on, the queue; a serving and a batch vLLM model, a gated
# KAITO InferenceSet that scales to zero, and a fixed KAITO Workspace.
FULL = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:hfToken:
    secure: v1:AAAAAAAAAAAAAAAAAAAAAAAA
  aks-llm:addons:
    kaito: {mode: helm}
    keda: {httpAddon: {enabled: true}}
    asyncQueue: {enabled: true, worker: {image: "crllmmodels0000.azurecr.io/aks-llm-worker@sha256:%s"}}
  aks-llm:inference: {callerNamespaces: [web]}
  aks-llm:gpuPools:
    - {name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 1, max: 3}}
    - {name: t4, vmSize: Standard_NC4as_T4_v3, purpose: batch, spot: {min: 0, max: 2}}
  aks-llm:models:
    - {name: chat, model: llama-3.1-8b-instruct, pool: a10}
    - {name: nightly, model: phi-4-mini-instruct, pool: t4, purpose: batch}
    - name: mistral
      model: mistral-7b-instruct
      runtime: kaito
      pool: a10
      replicas: {max: 2}
      schedule: {timezone: America/New_York, start: "20:00", end: "02:00", days: "1-5", minReplicas: 1}
    - {name: fixed, model: phi-4-mini-instruct, runtime: kaito, pool: a10, replicas: {min: 1, max: 1},
       scaleToZero: false}
""" % ("1" * 64)


@cache
def full() -> ProgramRun:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.models.yaml"
        path.write_text(FULL)
        return run_stack(ROOT, "models", path)[1]


def objects(run: ProgramRun, kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in kubernetes_manifests(run.resources) if m["kind"] == kind}


def pod_spec(run: ProgramRun, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = objects(run, "Deployment")[name]["spec"]["template"]["spec"]
    return spec


def config_of(stack: str) -> StackConfig:
    settings = load_stack_settings(ROOT, stack)
    values = {k.split(":", 1)[1]: yaml.safe_load(v) for k, v in settings.config.items()}
    return StackConfig.model_validate(values)


def triggers(run: ProgramRun, name: str) -> dict[str, dict[str, Any]]:
    return {t["type"]: t for t in objects(run, "ScaledObject")[name]["spec"]["triggers"]}


# --- vLLM ---------------------------------------------------------------------------------------------


def test_vllm_deployment_is_pinned_sized_and_placed_on_its_pool() -> None:
    run = planned("dev")[1]
    spec = pod_spec(run, "phi4mini")
    (container,) = spec["containers"]
    assert container["image"] == f"docker.io/vllm/vllm-openai:{VLLM_VERSION}@{VLLM_DIGEST}"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", VLLM_DIGEST)
    assert container["command"] == ["vllm", "serve"]
    cfg = config_of("dev")
    catalog = load_catalog()
    pool = cfg.gpu_pools[0]
    scheduling = pool_scheduling(pool, catalog.skus[pool.vm_size])
    assert spec["nodeSelector"] == scheduling.node_selector == {"aks-llm/gpu-pool": "t4"}
    assert spec["tolerations"] == scheduling.tolerations  # sku=gpu, and spot (the pool has spot)
    # a T4 node (4 vCPU, 28 GiB): (4,000 x 0.9 - 1,000) m = 2,600m; (28,672 x 0.85 - 4,096) MiB = 19 GiB
    assert container["resources"]["requests"] == {"cpu": "2600m", "memory": "19Gi", "nvidia.com/gpu": "1"}
    assert container["resources"]["limits"] == container["resources"]["requests"]
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]


def test_vllm_pod_is_as_tight_as_the_gpu_allows() -> None:
    spec = pod_spec(planned("dev")[1], "phi4mini")
    (container,) = spec["containers"]
    ctx = container["securityContext"]
    assert ctx["runAsNonRoot"] and ctx["runAsUser"] > 10000 and ctx["readOnlyRootFilesystem"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["securityContext"]["runAsNonRoot"] and spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "inference"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    # every writable path is a volume: the cache, /dev/shm in memory, /tmp and HOME
    assert mounts == {"/models": "model-cache", "/dev/shm": "shm", "/tmp": "tmp", "/home/vllm": "home"}
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert volumes["model-cache"]["persistentVolumeClaim"] == {"claimName": "phi4mini-model-cache"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HF_HOME"] == "/models" and env["HOME"] == "/home/vllm"
    assert not [e for e in container["env"] if "valueFrom" in e]  # no secret as an environment variable


def test_probes_are_sized_to_the_models_load_time() -> None:
    (container,) = pod_spec(planned("dev")[1], "phi4mini")["containers"]
    startup = container["startupProbe"]
    # 7.15 GiB at 40 MiB/s = 183 s download + 300 s engine start = 483 s, x 1.5 = 724 s -> 780 s
    assert startup["httpGet"] == {"path": "/health", "port": "http"}
    assert startup["periodSeconds"] * startup["failureThreshold"] == 780
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_service_pdb_and_model_cache() -> None:
    run = planned("prod")[1]
    service = objects(run, "Service")["qwen7b"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["selector"] == {"aks-llm/model": "qwen7b"}
    labels = objects(run, "Deployment")["qwen7b"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {
        f"app.kubernetes.io/{k}"
        for k in ("name", "instance", "component", "part-of", "managed-by", "version")
    } <= set(labels)
    pdb = objects(run, "PodDisruptionBudget")["qwen7b"]["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"] == {"aks-llm/model": "qwen7b"}
    pvc = objects(run, "PersistentVolumeClaim")["qwen7b-model-cache"]["spec"]
    assert pvc["accessModes"] == ["ReadWriteMany"] and pvc["resources"]["requests"] == {"storage": "100Gi"}
    storage = objects(run, "StorageClass")[pvc["storageClassName"]]
    assert storage["provisioner"] == "file.csi.azure.com"
    assert storage["parameters"]["protocol"] == "nfs" and storage["parameters"]["skuName"] == "Premium_LRS"


def test_mig_model_requests_its_slice_and_pre_warms_by_cron() -> None:
    run = planned("prod")[1]
    (container,) = pod_spec(run, "qwen7b")["containers"]
    # half an NC24ads_A100_v4 (two 3g.40gb slices per node): (21,600 - 1,000) x 0.5 m; 183 GiB x 0.5
    assert container["resources"]["limits"] == {
        "cpu": "10300m",
        "memory": "91Gi",
        "nvidia.com/mig-3g.40gb": "1",
    }
    spec = objects(run, "ScaledObject")["qwen7b"]["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "qwen7b"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 3)
    cron = triggers(run, "qwen7b")["cron"]["metadata"]
    assert cron == {
        "timezone": "Europe/Stockholm",
        "start": "0 7 * * 1-5",
        "end": "0 19 * * 1-5",
        "desiredReplicas": "2",
    }


def test_scale_to_zero_batch_model_scales_on_the_queue_with_a_cooldown_past_the_longest_generation() -> None:
    run = full()  # the worker is deployed: the queue wakes its model from zero
    spec = objects(run, "ScaledObject")["nightly"]["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 1)
    assert objects(run, "Deployment")["nightly"]["spec"]["replicas"] == 0
    # p95 512 completion tokens at >= 10 tokens/s: 52 s; cooldown max(300, 2 x 52 -> 120, the cold
    # start's low end 388 s -> 390) = 390 s: a replica is not removed sooner than it comes back
    assert spec["cooldownPeriod"] == 390 >= 2 * 52
    assert (
        spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
            "stabilizationWindowSeconds"
        ]
        == 390
    )
    assert pod_spec(run, "nightly")["terminationGracePeriodSeconds"] == 120


def test_dev_serves_one_replica_until_its_queue_worker_exists() -> None:
    """dev has no worker image yet: nothing could wake phi4mini from zero, so it keeps one replica (the
    first `pulumi up` serves); no queue trigger (nothing would consume the queue, and one message would
    keep the GPU awake until its TTL), no worker, and a note saying how to finish the setup."""
    run = planned("dev")[1]
    spec = objects(run, "ScaledObject")["phi4mini"]["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 1)
    assert objects(run, "Deployment")["phi4mini"]["spec"]["replicas"] == 1
    assert not {"azure-servicebus", "kubernetes-workload"} & set(triggers(run, "phi4mini"))
    assert "queue-worker" not in objects(run, "Deployment")
    model = run.outputs["models"]["phi4mini"]
    assert (model["replicasMin"], model["scaleToZero"], model["wakeUp"]) == (1, False, [])
    assert any("worker is not deployed yet" in note for note in run.outputs["notes"])


def test_a_batch_model_fed_by_the_queue_wakes_on_it_and_stays_up_while_worker_pods_exist() -> None:
    # with the worker deployed, its model wakes on the queue and stays up while worker pods exist
    batch = triggers(full(), "nightly")
    queue = batch["azure-servicebus"]
    assert queue["metadata"]["queueName"] == "batch-inference" and queue["metadata"]["messageCount"] == "17"
    assert queue["metadata"]["activationMessageCount"] == "0"
    assert queue["authenticationRef"] == {"name": "keda-servicebus"}
    pods = batch["kubernetes-workload"]["metadata"]
    assert (
        pods["podSelector"] == "app.kubernetes.io/name=queue-worker,app.kubernetes.io/component=queue-worker"
    )
    assert (pods["value"], pods["activationValue"]) == ("1.0", "0")
    assert full().outputs["models"]["nightly"]["wakeUp"] == ["queue"]
    # no other model carries a queue trigger: only the worker's model is fed by the queue
    for name in ("chat", "mistral"):
        assert not {"azure-servicebus", "kubernetes-workload"} & set(triggers(full(), name)), name


def test_prometheus_trigger_reads_managed_prometheus_through_workload_identity(
    stack_run: tuple[str, ProgramRun],
) -> None:
    stack, run = stack_run
    endpoint = run.outputs["prometheusQueryEndpoint"]
    for name in run.outputs["models"]:
        trigger = triggers(run, name)["prometheus"]
        assert trigger["metadata"]["serverAddress"] == endpoint
        assert trigger["authenticationRef"] == {"name": "keda-prometheus"}
        # running + waiting over the model's pods (recorded by the rule group: tests/test_load_rule.py),
        # one series, averaged per replica; any request active
        assert trigger["metadata"]["query"] == (
            f'sum(aks_llm_model:vllm_requests_running_waiting:sum{{namespace="inference",aks_llm_model="{name}"}})'
        )
        assert (trigger["metricType"], trigger["metadata"]["activationThreshold"]) == ("AverageValue", "0")
    # qwen7b: 90 % of a 148-sequence batch per replica (3g.40gb at 36.35 GiB) -> 133
    if stack == "prod":
        assert triggers(run, "qwen7b")["prometheus"]["metadata"]["threshold"] == "133"


def test_gated_vllm_model_reads_the_token_as_a_file_from_key_vault() -> None:
    spec = pod_spec(full(), "chat")
    (container,) = spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["HF_TOKEN_PATH"] == {"name": "HF_TOKEN_PATH", "value": "/mnt/secrets-store/hf-token"}
    assert "HF_TOKEN" not in env and not [e for e in container["env"] if "valueFrom" in e]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["hf-token"]["csi"]["volumeAttributes"] == {"secretProviderClass": "hf-token"}
    assert {"name": "hf-token", "mountPath": "/mnt/secrets-store", "readOnly": True} in container[
        "volumeMounts"
    ]
    # an ungated model mounts nothing of the token
    assert "hf-token" not in {v["name"] for v in pod_spec(full(), "nightly")["volumes"]}


def test_http_addon_fronts_serving_vllm_models_through_one_scaled_object() -> None:
    run = full()
    http = objects(run, "HTTPScaledObject")
    assert set(http) == {"chat-http"}  # serving vLLM only: not the batch model, not KAITO
    chat = http["chat-http"]
    assert chat["metadata"]["annotations"] == {"httpscaledobject.keda.sh/skip-scaledobject-creation": "true"}
    assert chat["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "chat",
        "service": "chat",
        "port": 80,
    }
    # Derived, not configured: the high end of llama-3.1-8b's cold start on an A10 node from zero:
    # node 600 + image 292.6 + 14.96 GiB from its 100 GiB Files share at 66 MiB/s (232.1) + server
    # 300 = 1424.7 s, in whole minutes.
    assert chat["spec"]["timeouts"]["conditionWait"] == "1440s"
    assert "chat.inference.svc.cluster.local" in chat["spec"]["hosts"]
    push = triggers(run, "chat")["external-push"]["metadata"]
    assert push == {
        "scalerAddress": "keda-add-ons-http-external-scaler.keda:9090",
        "httpScaledObject": "chat-http",
    }
    assert objects(run, "ScaledObject")["chat"]["spec"]["minReplicaCount"] == 0
    model = run.outputs["models"]["chat"]
    assert model["wakeUp"] == ["http"]
    assert model["coldStartUrl"] == "http://keda-add-ons-http-interceptor-proxy.keda.svc.cluster.local:8080"
    assert model["coldStartHost"] == "chat.inference.svc.cluster.local"


def test_network_policy_admits_callers_scraper_and_interceptor_only() -> None:
    policy = objects(full(), "NetworkPolicy")["chat"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"aks-llm/model": "chat"}}
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": 8000, "protocol": "TCP"}]
    namespaces = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in ingress["from"]
        if "namespaceSelector" in p
    }
    assert namespaces == {"kube-system", "keda", "web"}
    assert {"podSelector": {}} in ingress["from"]
    egress_ports = [p["port"] for rule in policy["egress"] for p in rule.get("ports", [])]
    assert sorted(egress_ports) == [53, 53, 443]
    # the batch model is not behind the interceptor
    batch = objects(full(), "NetworkPolicy")["nightly"]["spec"]["ingress"][0]["from"]
    assert "keda" not in str(batch)


# --- KAITO ----------------------------------------------------------------------------------------------


def test_kaito_inference_set_is_scaled_by_keda_never_its_statefulset() -> None:
    run = planned("prod")[1]  # KAITO chart 0.12.0: the InferenceSet exists there
    inference_set = objects(run, "InferenceSet")["phi4"]
    assert inference_set["apiVersion"] == "kaito.sh/v1beta1"
    spec = inference_set["spec"]
    assert spec["template"]["resource"] == {"instanceType": "Standard_NC24ads_A100_v4"}
    assert spec["template"]["inference"] == {"preset": {"name": "phi-4"}, "config": "phi4-inference-config"}
    assert spec["nodeCountLimit"] == 3  # 3 replicas x 1 node: KAITO's nodes escape the pools' limits
    assert spec["replicas"] == 1
    scaled = objects(run, "ScaledObject")["phi4"]["spec"]
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "kaito.sh/v1beta1",
        "kind": "InferenceSet",
        "name": "phi4",
    }
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (1, 3)
    assert triggers(run, "phi4")["cron"]["metadata"]["desiredReplicas"] == "2"
    assert "StatefulSet" not in str(objects(run, "ScaledObject"))


def test_kaito_objects_carry_the_kaito_release_they_run_under() -> None:
    """A helm install carries its chart version; the managed add-on is KAITO 0.6.0
    (ai-toolchain-operator.md line 31), which is what its objects are rendered for."""
    from planning.stack_plan import kaito_release

    def kaito_version(config: StackConfig) -> str:
        return kaito_release(config).version

    run = planned("prod")[1]
    for kind in ("InferenceSet", "ConfigMap", "Service", "NetworkPolicy"):
        name = "phi4-inference-config" if kind == "ConfigMap" else "phi4"
        assert objects(run, kind)[name]["metadata"]["labels"]["app.kubernetes.io/version"] == "0.12.0"
    prod = config_of("prod")
    assert kaito_version(prod) == "0.12.0"
    managed = prod.model_copy(update={"addons": prod.addons.model_copy(update={"kaito": KaitoConfig()})})
    assert kaito_version(managed) == "0.6.0"
    kaito = KaitoConfig.model_validate({"mode": "helm", "chartVersion": "0.11.0"})
    helm = prod.model_copy(update={"addons": prod.addons.model_copy(update={"kaito": kaito})})
    assert kaito_version(helm) == "0.11.0"


def test_kaito_nodes_are_kaitos_alone(stack_run: tuple[str, ProgramRun]) -> None:
    """KAITO labels the nodes it provisions with its labelSelector: no agent pool node carries that
    set (KAITO never adopts them) and no vLLM pod selects KAITO's labels (vLLM never lands there)."""
    _, run = stack_run
    selectors = [m["spec"]["labelSelector"]["matchLabels"] for m in objects(run, "InferenceSet").values()]
    selectors += [m["resource"]["labelSelector"]["matchLabels"] for m in objects(run, "Workspace").values()]
    pool_labels = [r.inputs["nodeLabels"] for r in by_type(run, AGENT_POOL)]
    for selector in selectors:
        assert selector and all(not selector.items() <= labels.items() for labels in pool_labels)
        for deployment in objects(run, "Deployment").values():
            node_selector = deployment["spec"]["template"]["spec"].get("nodeSelector", {})
            assert not set(node_selector) & set(selector)


def test_gated_kaito_model_gets_the_model_access_secret() -> None:
    preset = objects(full(), "InferenceSet")["mistral"]["spec"]["template"]["inference"]["preset"]
    assert preset == {"name": "mistral-7b-instruct", "presetOptions": {"modelAccessSecret": "hf-token"}}


def test_kaito_scaled_to_zero_wakes_on_its_schedule_across_midnight() -> None:
    run = full()
    scaled = objects(run, "ScaledObject")["mistral"]["spec"]
    assert scaled["minReplicaCount"] == 0 and objects(run, "InferenceSet")["mistral"]["spec"]["replicas"] == 0
    cron = triggers(run, "mistral")["cron"]["metadata"]
    # 20:00 Monday-Friday to 02:00 the next morning (Tuesday-Saturday)
    assert (cron["start"], cron["end"]) == ("0 20 * * 1-5", "0 2 * * 2,3,4,5,6")
    assert run.outputs["models"]["mistral"]["wakeUp"] == ["schedule"]


def test_fixed_kaito_model_is_a_workspace_with_top_level_fields() -> None:
    run = full()
    (workspace,) = [r for r in run.resources if r.type == "kubernetes:kaito.sh/v1beta1:Workspace"]
    # pulumi-kubernetes#2363: CustomResource would drop these; the subclass sends them
    assert {"resource", "inference"} <= set(workspace.inputs) and "spec" not in workspace.inputs
    assert workspace.inputs["resource"] == {
        "instanceType": "Standard_NV36ads_A10_v5",
        "labelSelector": {
            "matchLabels": {
                "aks-llm/kaito-pool": "a10",
                "aks-llm/kaito-workload": "fixed",
                # KAITO (chart) nodes get the AKS driver: the program's device plugin, no GPU Operator
                "aks-llm/gpu-driver": "managed",
                "nvidia.com/gpu.deploy.operands": "false",
            }
        },
    }
    assert workspace.inputs["metadata"]["annotations"] == {"kaito.sh/disable-benchmark": "true"}
    assert "fixed" not in objects(run, "ScaledObject")  # KEDA cannot scale a Workspace
    service = objects(run, "Service")["fixed"]["spec"]
    assert service["selector"] == {"kaito.sh/workspace": "fixed-ws", "apps.kubernetes.io/pod-index": "0"}
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": 5000, "protocol": "TCP"}]
    assert run.outputs["models"]["fixed"]["kind"] == "Workspace"


def test_kaito_service_selects_every_replicas_leader() -> None:
    service = objects(planned("prod")[1], "Service")["phi4"]["spec"]
    assert service["selector"] == {
        "inferenceset.kaito.sh/created-by": "phi4",
        "apps.kubernetes.io/pod-index": "0",
    }
    assert service["ports"][0]["port"] == 80 and service["ports"][0]["targetPort"] == 5000


def test_kaito_on_its_own_nodes_selects_the_pool(tmp_path: Path) -> None:
    text = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:addons: {kaito: {mode: helm, nodeProvisioner: none}}
  aks-llm:gpuPools: [{name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 1, max: 2}}]
  aks-llm:models:
    - {name: p, model: phi-4-mini-instruct, runtime: kaito, pool: a10, replicas: {min: 1, max: 2},
       scaleToZero: false}
"""
    run = run_with(tmp_path, text)
    spec = objects(run, "InferenceSet")["p"]["spec"]
    assert spec["template"]["resource"] == {}  # no instanceType: bring-your-own nodes
    assert spec["labelSelector"]["matchLabels"] == {"aks-llm/gpu-pool": "a10"}


# --- metrics: what KEDA queries is what ama-metrics scrapes -------------------------------------------------


def _relabel(target: dict[str, str], configs: list[dict[str, Any]]) -> dict[str, str] | None:
    """Prometheus relabelling (keep/replace, anchored regexes), enough for the jobs we declare."""
    labels = dict(target)
    for c in configs:
        value = ";".join(labels.get(s, "") for s in c["source_labels"])
        match = re.fullmatch(c.get("regex", "(.*)"), value)
        if c.get("action", "replace") == "keep":
            if not match:
                return None
        elif match:
            labels[c["target_label"]] = match.expand(c.get("replacement", "$1").replace("$1", r"\1"))
    return labels


def _pod_target(pod_labels: dict[str, str], port_name: str, port_number: int) -> dict[str, str]:
    """The discovery labels of one pod container port (Prometheus sets an empty name for an unnamed
    port)."""
    meta = {
        f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v for k, v in pod_labels.items()
    }
    return {
        **meta,
        "__meta_kubernetes_pod_container_port_name": port_name,
        "__meta_kubernetes_pod_container_port_number": str(port_number),
        "__meta_kubernetes_namespace": NS,
    }


def _scraped_model(
    run: ProgramRun, pod_labels: dict[str, str], port_name: str = "http", port_number: int = 8000
) -> str | None:
    config = yaml.safe_load(
        objects(run, "ConfigMap")["ama-metrics-prometheus-config"]["data"]["prometheus-config"]
    )
    found = []
    for job in config["scrape_configs"]:
        if job["job_name"] == "aks-llm-dcgm-exporter":  # the GPU Operator's namespace (test_alerts.py)
            continue
        assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": [NS]}}]
        labels = _relabel(_pod_target(pod_labels, port_name, port_number), job["relabel_configs"])
        if labels is not None:
            found.append(labels["aks_llm_model"])
    assert len(found) <= 1, "a pod is scraped by two jobs"
    return found[0] if found else None


def test_vllm_pods_are_scraped_with_the_label_the_trigger_queries() -> None:
    run = planned("prod")[1]
    pod_labels = objects(run, "Deployment")["qwen7b"]["spec"]["template"]["metadata"]["labels"]
    assert _scraped_model(run, pod_labels) == "qwen7b"
    assert 'aks_llm_model="qwen7b"' in triggers(run, "qwen7b")["prometheus"]["metadata"]["query"]
    assert _scraped_model(run, pod_labels, port_name="other") is None


def test_kaito_leader_pods_are_scraped_as_their_model() -> None:
    run = full()

    def kaito(labels: dict[str, str]) -> str | None:
        # KAITO's inference container declares port 5000 without a name (preset_inferences.go)
        return _scraped_model(run, labels, port_name="", port_number=5000)

    # what KAITO puts on an InferenceSet replica's pods, and on a Workspace's pods
    inference_set_pod = {"kaito.sh/workspace": "mistral-x7k2w", "inferenceset.kaito.sh/created-by": "mistral"}
    assert kaito({**inference_set_pod, "apps.kubernetes.io/pod-index": "0"}) == "mistral"
    assert kaito({**inference_set_pod, "apps.kubernetes.io/pod-index": "1"}) is None  # Ray worker
    assert kaito({"kaito.sh/workspace": "fixed-ws", "apps.kubernetes.io/pod-index": "0"}) == "fixed"
    # an unrelated pod on the same port, and a KAITO pod's other ports, are not scraped
    assert kaito({"app.kubernetes.io/name": "hf-token-sync", "apps.kubernetes.io/pod-index": "0"}) is None
    leader = {**inference_set_pod, "apps.kubernetes.io/pod-index": "0"}
    assert _scraped_model(run, leader, port_name="", port_number=6379) is None
    assert _scraped_model(run, {"app.kubernetes.io/name": "hf-token-sync"}) is None
    service = objects(run, "Service")["mistral"]["spec"]["selector"]
    assert service.items() <= {**inference_set_pod, "apps.kubernetes.io/pod-index": "0"}.items()


# --- outputs, notes, plan, validation -----------------------------------------------------------------


def test_outputs_tell_callers_where_each_model_is(stack_run: tuple[str, ProgramRun]) -> None:
    stack, run = stack_run
    models = run.outputs["models"]
    assert set(models) == {m["name"] for m in run.outputs["sizing"]}
    for name, model in models.items():
        assert model["url"] == f"http://{name}.inference.svc.cluster.local"
        assert model["servedModelName"] == name
    if stack == "prod":
        assert models["phi4"]["kind"] == "InferenceSet" and models["qwen7b"]["kind"] == "Deployment"
        assert (models["qwen7b"]["replicasMin"], models["qwen7b"]["replicasMax"]) == (1, 3)


LONELY = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools: [{name: a10, vmSize: Standard_NV36ads_A10_v5, onDemand: {min: 0, max: 2}}]
  aks-llm:models:
    - {name: lonely, model: phi-4-mini-instruct, pool: a10}
    - {name: kaito0, model: phi-4-mini-instruct, runtime: kaito, pool: a10, replicas: {min: 0, max: 1}}
"""


def test_a_model_nothing_can_wake_from_zero_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = rules_refusal(tmp_path, LONELY)  # the pure rules; the program's exit 2: test_model_rules
    assert (
        "aks-llm:models[0].scaleToZero: model lonely (vllm, serving) scales to zero and nothing can wake it"
        in err
    )
    assert "its only trigger (Prometheus) reads none" in err
    assert (
        "a schedule (its business-hours pre-warm), addons.keda.httpAddon.enabled: true (it holds the "
        "first request) to wake it, or scaleToZero: false with replicas.min >= 1"
    ) in err
    assert "aks-llm:models[1].scaleToZero: model kaito0 (kaito, serving) scales to zero" in err
    # the HTTP add-on wakes the vLLM model; only a schedule (or a floor) can wake a KAITO model
    addon = "  aks-llm:addons: {kaito: {mode: helm}, keda: {httpAddon: {enabled: true}}}\n"
    http = LONELY.replace("  aks-llm:models:", addon + "  aks-llm:models:")
    err = rules_refusal(tmp_path, http)
    assert "lonely" not in err and "models[1].scaleToZero" in err
    woken = http.replace(
        "replicas: {min: 0, max: 1}}",
        'replicas: {min: 0, max: 1}, schedule: {start: "08:00", end: "18:00", minReplicas: 1}}',
    )
    assert run_with(tmp_path, woken).exit_code == 0


QUEUED = """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:addons: {asyncQueue: {enabled: true}}
  aks-llm:gpuPools: [{name: t4, vmSize: Standard_NC4as_T4_v3, purpose: batch, spot: {min: 0, max: 2}}]
  aks-llm:models:
    - {name: nightly, model: phi-4-mini-instruct, pool: t4, purpose: batch}
"""


def test_a_batch_model_the_queue_cannot_wake_before_its_worker_exists_is_refused(tmp_path: Path) -> None:
    """The queue wakes its model only through the worker's triggers: with no worker image there are
    none, and the model's Prometheus trigger reads no series at zero (what dev did before)."""
    err = rules_refusal(tmp_path, QUEUED)
    assert (
        "aks-llm:models[0].scaleToZero: model nightly (vllm, batch) scales to zero and nothing can wake"
        in err
    )
    assert "addons.asyncQueue.worker.image is unset, so no worker is deployed" in err
    assert "the async queue's worker (addons.asyncQueue with worker.image set)" in err
    assert "(e.g. until the worker image exists: docs/async-queue.md)" in err
    assert err.count("aks-llm:models[0]") == 1  # one message for the one root cause
    # the worker's image, a schedule or a floor each make it servable
    image = "crllm0000.azurecr.io/aks-llm-worker@sha256:" + "1" * 64
    queue = "{asyncQueue: {enabled: true}}"
    worker = QUEUED.replace(queue, queue[:-2] + f', worker: {{image: "{image}"}}}}}}')
    model = "purpose: batch}\n"
    floor = QUEUED.replace(model, "purpose: batch, replicas: {min: 1}, scaleToZero: false}\n")
    hours = 'schedule: {start: "08:00", end: "18:00", minReplicas: 1}'
    schedule = QUEUED.replace(model, f"purpose: batch, {hours}}}\n")
    for ok in (worker, floor, schedule):
        assert ok != QUEUED
        parse_with(tmp_path, ok)


def test_plan_prints_the_models_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert "Models (in-cluster Services, port 80):" in out
    assert (
        "qwen7b: http://qwen7b.inference.svc.cluster.local (model 'qwen7b'); vllm Deployment on pool a100;"
        in out
    )
    assert "replicas 1-3; never scales to zero" in out
    assert "gpu-mem-util" in out and "KV GiB/GPU" in out and "replicas min" in out


@requires_crds
def test_every_manifest_of_the_model_stack_validates() -> None:
    run = full()
    assert run.exit_code == 0
    docs = kubernetes_manifests(run.resources)
    kinds = {d["kind"] for d in docs}
    assert {
        "InferenceSet",
        "Workspace",
        "ScaledObject",
        "HTTPScaledObject",
        "Deployment",
        "NetworkPolicy",
    } <= kinds
    failures = {name: errs for name, doc in iter_docs(docs) if (errs := manifest_errors(doc))}
    assert not failures, failures


def test_every_urn_is_unique_with_several_models() -> None:
    urns = [r.urn for r in full().resources]
    assert len(urns) == len(set(urns))


def test_model_objects_wait_for_the_namespace_and_their_cache() -> None:
    run = planned("dev")[1]
    deps = {
        r.name: {d.rsplit("::", 1)[-1] for d in r.options.get("dependencies", [])}
        for r in run.resources
        if r.type.startswith("kubernetes:") and r.name.startswith("platform-models-phi4mini-")
    }
    assert deps and all("platform-addons-inference-namespace" in d for d in deps.values()), deps
    model = "platform-models-phi4mini"
    assert f"{model}-model-cache" in deps[f"{model}-deployment"]
    assert f"{model}-deployment" in deps[f"{model}-scaled-object"]
