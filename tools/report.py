"""Plan sections drawn from the program's own outputs (one source of truth: the program)."""

from __future__ import annotations

from typing import Any

from components.outputs import StackOutputs
from tools.report_gpu import gpu_sections
from tools.report_nap import nap_sections


def sections(doc: dict[str, Any]) -> list[str]:
    """Extra plain-text sections of the offline plan, in order."""
    out: list[str] = []
    outputs: StackOutputs = doc["outputs"]
    notes = outputs.get("notes") or []
    if notes:
        out.append("Notes:\n" + "\n".join(f"  - {n}" for n in notes))
    out.extend(gpu_sections(doc))
    out.extend(nap_sections(doc))
    cost = doc.get("cost") or outputs.get("cost")
    if cost:
        from tools.cost_report import render_cost

        out.append(render_cost(cost))
    network = network_section(outputs)
    if network:
        out.append(network)
    addons = addons_section(outputs)
    if addons:
        out.append(addons)
    models = models_section(outputs)
    if models:
        out.append(models)
    gateway = gateway_section(outputs)
    if gateway:
        out.append(gateway)
    return out


def network_section(outputs: StackOutputs) -> str:
    """The stack's VNet: its subnets, what each must hold, and the outbound path."""
    net = outputs.get("network")
    if not net:
        return ""
    lines = [f"  VNet: {net['vnet']} ({', '.join(net['addressSpace'])})"]
    for s in net["subnets"]:
        mark = " (existing)" if s["existing"] else ""
        lines.append(
            f"  {s['subnet']}{mark}: {s['addressPrefix']}, {s['usable']} usable, {s['needed']} needed "
            f"({s['neededBy']})"
        )
    lines.append(
        f"  pod CIDR holds {net['podCidrHoldsNodes']} nodes (a /24 each); "
        f"the pools reach {net['nodesAtMostWithSurge']}"
    )
    lines.append(f"  egress: {net['note']}")
    return "Network:\n" + "\n".join(lines)


def models_section(outputs: StackOutputs) -> str:
    """How callers reach each model, what serves it and how far it scales."""
    models = outputs.get("models") or {}
    lines = []
    for name, m in sorted(models.items()):
        served = m.get("servedModelName") or "see GET /v1/models"
        if m["replicasMin"] > 0:
            zero = "never scales to zero"
        else:
            zero = "woken from zero by: " + (", ".join(m.get("wakeUp") or []) or "nothing yet (see Notes)")
        lines.append(
            f"  {name}: {m['url']} (model {served!r}); {m['runtime']} {m['kind']} on pool {m['pool']}; "
            f"replicas {m['replicasMin']}-{m['replicasMax']}; {zero}"
        )
        if m.get("coldStart"):
            lines.append(f"    cold start from zero nodes: {m['coldStart']['text']}")
        if m.get("weightsSource"):
            lines.append(f"    weights: {m['weightsSource']}")
        if m.get("coldStartUrl"):
            lines.append(
                f"    from zero: {m['coldStartUrl']} with Host: {m['coldStartHost']} (KEDA HTTP add-on)"
            )
    return "Models (in-cluster Services, port 80):\n" + "\n".join(lines) if lines else ""


def addons_section(outputs: StackOutputs) -> str:
    """KAITO (mode, version, caveat), the workload identities and where secrets and metrics live."""
    lines: list[str] = []
    kaito = outputs.get("kaito")
    if kaito:
        lines.append(f"  KAITO: {kaito['mode']}, version {kaito['version']}; {kaito['note']}")
    for name, client_id in sorted((outputs.get("identities") or {}).items()):
        lines.append(f"  identity {name}: client id {client_id}")
    if outputs.get("keyVaultName"):
        token = outputs.get("hfTokenSecret")
        where = f"synced to Secret {token} (key HF_TOKEN)" if token else "no HF token configured"
        lines.append(f"  Key Vault: {outputs['keyVaultName']}; {where}")
    if outputs.get("prometheusQueryEndpoint"):
        lines.append(f"  Prometheus (KEDA serverAddress): {outputs['prometheusQueryEndpoint']}")
    queue = outputs.get("asyncQueue")
    if queue:
        lines.append(f"  async queue: {queue['queue']} in Service Bus {queue['namespace']}")
        if queue.get("replyQueue"):
            lines.append(f"  async queue results: {queue['replyQueue']} (same namespace)")
        if queue.get("registry"):
            lines.append(f"  container registry (queue worker image): {queue['registry']}")
    worker = outputs.get("queueWorker")
    if worker:
        state = "deployed" if worker["deployed"] else "not deployed yet"
        lines.append(
            f"  queue worker -> {worker['model']}: {state}; "
            f"{worker['concurrency']} messages per pod, 0-{worker['replicasMax']} pods; waits up to "
            f"{worker['modelWaitSeconds']} s per delivery for a cold model, {worker['maxDeliveryCount']} "
            f"deliveries; cooldown {worker['cooldownSeconds']} s"
        )
    return "Add-ons:\n" + "\n".join(lines) if lines else ""


def gateway_section(outputs: StackOutputs) -> str:
    """How an application calls each model through the gateway: URL, key, limits (issue 23)."""
    gw = outputs.get("gateway")
    if not gw:
        return ""
    where = "internal load balancer" if gw["internal"] else "PUBLIC load balancer"
    at = f"{gw['hostname']} -> {gw['address']}" if gw.get("address") else f"{gw['hostname']} -> its address"
    lines = [
        f"  base URL: {gw['baseUrl']} ({where}; in your DNS: {at})",
        f"  TLS: Key Vault certificate {gw['tlsCertificate']} -> Secret {gw['namespace']}/{gw['tlsSecret']}"
        " (yours: put it in the vault once the first `pulumi up` has created it; the gateway serves when it"
        " is there)",
        f"  served by: AKS Istio add-on {gw['istioRevision']}, Gateway API CRDs {gw['gatewayApiCrds']}",
        f"  authentication: {gw['authentication']}",
    ]
    for consumer, secret in sorted(gw["apiKeySecrets"].items()):
        show = f"az keyvault secret show --vault-name <keyVaultName> --name {secret} --query value"
        lines.append(f"    {consumer}: Key Vault secret {secret} ({show})")
    for name, m in sorted(gw["models"].items()):
        via = " via the KEDA HTTP interceptor (held while it wakes)" if m["backend"] == "interceptor" else ""
        lines.append(
            f"  {name}: {m['baseUrl']} with header '{m['header']}' (or {m['pathBaseUrl']}){via}; "
            f"context {m['maxModelLen']} tokens, {m['maxNumSeqs']} sequences per replica, "
            f"{m['maxConcurrent']} at the replica maximum"
        )
    if gw["notBehindGateway"]:
        lines.append(
            f"  not behind the gateway (in-cluster Service only): {', '.join(gw['notBehindGateway'])}"
        )
    return "Gateway (how applications call the models):\n" + "\n".join(lines)
