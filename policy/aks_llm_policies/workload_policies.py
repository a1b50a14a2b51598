"""Policies on what runs: GPU workloads land on GPU pools, images are pinned, no secret is written
into a manifest, every container has resource limits."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .capacity import GPU_TAINT, LABEL_POOL, NodeGroup, is_gpu_vm_size, node_groups
from .capacity_policies import stack_resources
from .credentials import credential_kind, is_reference, is_secret_name, secret_flags
from .images import DEFAULT_MOVING_TAGS, chart_version_problem, image_problem
from .values import JSON, UNKNOWN, dig, items, mapping, plain, text
from .workloads import (
    KAITO_INFERENCE_SET,
    KAITO_WORKSPACE,
    PodTemplate,
    describe_selection,
    has_node_selection,
    is_gpu_resource,
    object_name,
    pod_templates,
    selects,
    tolerates,
    untolerated,
    walk,
)

HELM_PREFIX = "kubernetes:helm.sh/"

# --- GPU workloads tolerate and select GPU pools ------------------------------------------------


def _pool_hint(groups: list[NodeGroup]) -> str:
    pools = sorted({g.group for g in groups if g.gpu})
    if not pools:
        return "the stack declares no GPU pool"
    return "select one with nodeSelector " + " or ".join(f"{LABEL_POOL}: {p}" for p in pools)


def _pod_problems(pod: PodTemplate, groups: list[NodeGroup]) -> list[str]:
    asked = ", ".join(sorted(pod.gpu_requests()))
    out = []
    if not tolerates(pod.tolerations, GPU_TAINT):
        out.append(
            f"{pod.owner} requests {asked} but does not tolerate {GPU_TAINT}: it stays Pending on "
            "tainted GPU nodes. Add the toleration {key: sku, operator: Equal, value: gpu, "
            "effect: NoSchedule}."
        )
    gpu = [g for g in groups if g.gpu]
    if not has_node_selection(pod.spec):
        out.append(
            f"{pod.owner} requests {asked} but selects no GPU pool (no nodeSelector or required node "
            f"affinity), so the autoscaler may grow any GPU pool for it; {_pool_hint(groups)}."
        )
        return out
    chosen = [g for g in gpu if selects(pod.spec, g)]
    if not chosen:
        out.append(
            f"{pod.owner} requests {asked} but its node selection ({describe_selection(pod.spec)}) "
            f"matches no GPU pool of the stack; {_pool_hint(groups)}."
        )
        return out
    also = [g.name for g in groups if not g.gpu and selects(pod.spec, g)]
    if also:
        out.append(
            f"{pod.owner} requests {asked} but its node selection ({describe_selection(pod.spec)}) also "
            f"matches non-GPU pool(s) {', '.join(also)}; {_pool_hint(groups)}."
        )
    if all(g.taints_known and untolerated(pod, g) for g in chosen):
        missing = "; ".join(f"{g.name}: {', '.join(str(t) for t in untolerated(pod, g))}" for g in chosen)
        out.append(
            f"{pod.owner} selects GPU pool(s) whose taints it does not tolerate ({missing}): it can "
            "never be scheduled. Add the missing tolerations."
        )
    return out


def _kaito_byo(resources: list[tuple[str, str, Any, str]]) -> bool:
    """Whether KAITO runs on bring-your-own nodes (its chart with node auto-provisioning disabled)."""
    return any(
        type_.startswith(HELM_PREFIX)
        and dig(props, "values", "featureGates", "disableNodeAutoProvisioning") is True
        for type_, _, props, _ in resources
    )


def _kaito_problems(type_: str, name: str, props: JSON, groups: list[NodeGroup], byo: bool) -> list[str]:
    if type_ == KAITO_WORKSPACE:
        resource, where = mapping(props.get("resource")), "resource"
        selector = resource.get("labelSelector")
    else:
        resource, where = mapping(dig(props, "spec", "template", "resource")), "spec.template.resource"
        selector = dig(props, "spec", "labelSelector")
    owner = object_name(type_, name, props)
    out = []
    sel_field = "resource.labelSelector" if type_ == KAITO_WORKSPACE else "spec.labelSelector"
    match_labels = mapping(dig(selector, "matchLabels"))
    if selector is not UNKNOWN and not match_labels and not items(dig(selector, "matchExpressions")):
        out.append(
            f"{owner} has no {sel_field}: KAITO cannot tell which nodes are its GPU nodes. Set "
            "matchLabels (e.g. apps: <model>)."
        )
    instance = resource.get("instanceType")
    if instance is UNKNOWN:
        return out
    if byo:
        if instance:
            out.append(
                f"{owner} sets {where}.instanceType {instance!r} but KAITO runs on your own nodes "
                "(disableNodeAutoProvisioning): leave it empty and select a GPU pool's labels."
            )
        if match_labels and not any(
            g.gpu and all(g.values_of(k) == {v} for k, v in match_labels.items()) for g in groups
        ):
            out.append(
                f"{owner} selects nodes labelled {match_labels} but no GPU pool of the stack carries "
                f"those labels; {_pool_hint(groups)} (its labels as matchLabels)."
            )
    elif not isinstance(instance, str) or not is_gpu_vm_size(instance):
        got = f"{instance!r}" if instance else "none"
        out.append(
            f"{owner} has {where}.instanceType {got}: with node auto-provisioning KAITO needs a GPU VM "
            "size (e.g. Standard_NC24ads_A100_v4) to create its tainted GPU nodes."
        )
    return out


def validate_gpu_workloads(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = stack_resources(args)
    groups = node_groups(resources)
    byo = _kaito_byo(resources)
    for type_, name, props, urn in resources:
        if type_ in (KAITO_WORKSPACE, KAITO_INFERENCE_SET):
            for problem in _kaito_problems(type_, name, mapping(props), groups, byo):
                report(problem, urn)
            continue  # KAITO schedules its own pods onto the nodes it selects
        for pod in pod_templates(type_, name, urn, mapping(props)):
            if pod.gpu_requests():
                for problem in _pod_problems(pod, groups):
                    report(problem, urn)


gpu_workloads_target_gpu_pools = StackValidationPolicy(
    name="gpu-workloads-target-gpu-pools",
    description="Workloads that request GPUs tolerate the GPU taint and select a GPU pool of the stack.",
    validate=validate_gpu_workloads,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        "Take nodeSelector and tolerations from sizing.node_selection.pool_scheduling(pool, sku) (KAITO: "
        "set labelSelector and instanceType)."
    ),
)


# --- No :latest images ----------------------------------------------------------------------------


def moving_tags(config: Any) -> tuple[str, ...]:
    raw = [t.lower() for t in items(mapping(plain(config)).get("movingTags")) if isinstance(t, str)]
    return tuple(raw) or DEFAULT_MOVING_TAGS


def _chart_value_problems(values: Any, tags: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(path, problem)`` for images a chart's values pin to a moving tag."""
    out = []
    for path, _, node in walk({"values": values}):
        if not isinstance(node, dict):
            continue
        image = node.get("image")
        if isinstance(image, str):
            problem = image_problem(image, tags, require_tag=False)
            if problem:
                out.append((f"{path}.image", f"image {image!r} {problem}"))
        tag_keys = ["tag", "imageTag"] + (["version"] if "image" in node or "repository" in node else [])
        for key in tag_keys:
            value = node.get(key)
            if isinstance(value, str) and value.lower() in tags:
                out.append((f"{path}.{key}", f"image tag {value!r} is a moving tag"))
    return out


def validate_images_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith("kubernetes:"):
        return
    props = mapping(plain(args.props))
    tags = moving_tags(args.get_config())
    if args.resource_type.startswith(HELM_PREFIX):
        chart = text(props.get("chart")) or args.name
        local = chart.startswith((".", "/"))
        problem = None if local else chart_version_problem(props.get("version"))
        if problem and props.get("version") is not UNKNOWN:
            report(f"Helm chart {chart} {problem}: pin version to one chart release.", None)
        for path, problem in _chart_value_problems(props.get("values"), tags):
            report(f"Helm chart {chart}: {problem} at {path}; pin a version tag.", None)
        return
    owner = object_name(args.resource_type, args.name, props)
    for path, key, value in walk(props):
        if key == "image" and isinstance(value, str):
            problem = image_problem(value, tags)
            if problem:
                report(f"{owner}: image {value!r} at {path} {problem}; pin a version tag or a digest.", None)


images_pinned = ResourceValidationPolicy(
    name="no-latest-images",
    description="Container images and Helm charts are pinned (no :latest, no untagged image, no chart "
    "without a version).",
    validate=validate_images_pinned,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={
            "movingTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_MOVING_TAGS),
                "description": "Tags that name no fixed build.",
            }
        }
    ),
    remediation_steps="Use a version tag (vllm/vllm-openai:v0.11.0) or a digest; set the chart version.",
)


# --- No secret in plain text ----------------------------------------------------------------------

# Fields meant to hold a secret: the program must mark them secret (the SDK hides the marker from
# policies, see credentials.py); a credential there is expected, not a leak.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "azure-native:keyvault:Secret": ("properties.value",),
    "kubernetes:core/v1:Secret": ("data", "stringData"),
    "pulumi:providers:kubernetes": ("kubeconfig",),
}
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
_ENV_ITEM = re.compile(r"(?i)env\w*\[\d+\]$")  # env[3], extraEnv[0], envVars[1] (charts)


def _in_secret_field(resource_type: str, path: str, key: object) -> bool:
    prefixes = SECRET_FIELDS.get(resource_type, ())
    if any(path == p or path.startswith((p + ".", p + "[")) for p in prefixes):
        return True
    return isinstance(key, str) and is_secret_name(key)


def _env_literals(props: JSON) -> list[tuple[str, str]]:
    """``(path, name)`` of environment variables named like a secret with a literal value."""
    out = []
    for path, _, value in walk(props):
        if not isinstance(value, dict) or not _ENV_ITEM.search(path.rsplit(".", 1)[-1]):
            continue
        name, literal = text(value.get("name")), value.get("value")
        if (
            name
            and is_secret_name(name)
            and isinstance(literal, str)
            and literal
            and not is_reference(literal)
        ):
            out.append((path, name))
    return out


def validate_no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    type_ = args.resource_type
    props = mapping(plain(args.props))
    owner = object_name(type_, args.name, props) if type_.startswith("kubernetes:") else args.name
    reported: set[str] = set()
    if type_.startswith("kubernetes:"):
        for path, name in _env_literals(props):
            reported.add(f"{path}.value")
            report(
                f"{owner}: environment variable {name} at {path} has a literal value, stored in plain text "
                "in the object for anyone who can read it. Use valueFrom.secretKeyRef (the hf-token "
                "Secret synced from Key Vault) instead.",
                None,
            )
        for pod in pod_templates(type_, args.name, args.urn, props):
            for label, container in pod.containers():
                argv = [
                    a
                    for a in items(container.get("command")) + items(container.get("args"))
                    if isinstance(a, str)
                ]
                for flag in secret_flags(argv):
                    report(
                        f"{owner}: {label} passes --{flag} a literal value in its command line. Pass "
                        f"$(ENV_VAR) from a secretKeyRef environment variable instead.",
                        None,
                    )
    if type_ == CONFIG_MAP:
        for field in ("data", "binaryData"):
            for key in mapping(props.get(field)):
                if is_secret_name(key):
                    report(
                        f"{owner}: key {key} of {field} is named like a secret; a ConfigMap is not "
                        "encrypted or access-controlled like a Secret. Use a Secret (or Key Vault).",
                        None,
                    )
    for path, key, value in walk(props):
        if isinstance(value, str) and path not in reported and not _in_secret_field(type_, path, key):
            kind = credential_kind(value)
            if kind:
                report(
                    f"{owner}: the value at {path} looks like {kind}. Keep it in Key Vault or a Pulumi "
                    "secret config value and reference it; never write it into a resource.",
                    None,
                )


no_plaintext_secrets = ResourceValidationPolicy(
    name="no-plaintext-secrets",
    description="No secret in plain text in declared resources (env literals, command lines, "
    "ConfigMaps, credential-shaped strings).",
    validate=validate_no_plaintext_secrets,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Store the secret with `pulumi config set --secret` or in Key Vault; reference it from pods "
        "through a Secret (secretKeyRef) or the Secrets Store CSI volume."
    ),
)


# --- Containers have resource limits --------------------------------------------------------------


def _container_problems(container: JSON, require_cpu_limit: bool) -> list[str]:
    resources = container.get("resources")
    if resources is UNKNOWN:
        return []
    limits, requests = mapping(dig(resources, "limits")), mapping(dig(resources, "requests"))
    out = []
    if "memory" not in limits:
        out.append("no memory limit (one leaking process can OOM the whole node)")
    if "cpu" not in requests and "cpu" not in limits:
        out.append("no CPU request (the scheduler packs it blind)")
    if require_cpu_limit and "cpu" not in limits:
        out.append("no CPU limit")
    for name, qty in requests.items():
        if is_gpu_resource(name) and limits.get(name) != qty:
            out.append(f"requests {name} without the same limit (Kubernetes needs both, equal)")
    return out


def validate_resource_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = mapping(plain(args.props))
    require_cpu_limit = mapping(plain(args.get_config())).get("requireCpuLimit") is True
    for pod in pod_templates(args.resource_type, args.name, args.urn, props):
        for label, container in pod.containers():
            problems = _container_problems(container, require_cpu_limit)
            if problems:
                report(f"{pod.owner}: {label} has {'; '.join(problems)}. Set resources.", None)


containers_have_resource_limits = ResourceValidationPolicy(
    name="containers-have-resource-limits",
    description="Every container declares a memory limit and a CPU request (GPUs as equal request and "
    "limit).",
    validate=validate_resource_limits,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(
        properties={
            "requireCpuLimit": {
                "type": "boolean",
                "default": False,
                "description": "Also require a CPU limit (off: CPU limits throttle tokenisation and "
                "request handling of inference servers).",
            }
        }
    ),
    remediation_steps="Set resources.requests.cpu/memory and resources.limits.memory on every container.",
)
