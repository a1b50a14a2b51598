"""Run the Pulumi program in-process under Pulumi's mocks and record what it declares."""

from __future__ import annotations

import base64
import json
import logging
import runpy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import settings as psettings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

from planning.stack_plan import StackPlan

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MASK = "[secret]"
MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# What a random:RandomString holds under mocks (the engine would draw it once, at create): a fixed
# stand-in, so the offline plan is deterministic. Globally unique names print with it, e.g.
# kv-llm-dev-000000; a real stack's suffix is random (components.name_suffix).
MOCK_RANDOM_CHAR = "0"
MOCK_KUBELET_OBJECT_ID = "principal-id-of-kubelet"  # the cluster's kubelet identity (AcrPull)
MOCK_CLUSTER_PRINCIPAL_ID = "principal-id-of-cluster"  # the cluster's system-assigned identity
# The cluster load balancer's managed outbound IP (AKS creates it in the node resource group).
MOCK_OUTBOUND_IP = "20.91.0.10"
MOCK_OUTBOUND_IP_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-nodes/providers/"
    "Microsoft.Network/publicIPAddresses/00000000-outbound"
)

_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: mock
  cluster: {server: "https://mock-aks.hcp.example.azmk8s.io:443"}
contexts:
- name: mock
  context: {cluster: mock, user: mock}
current-context: mock
users:
- name: mock
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      # as AKS writes it: devicecode (the program switches it to azurecli)
      args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]
"""


@dataclass(frozen=True)
class Recorded:
    """One resource as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)  # ignoreChanges, replaceOnChanges, ...


def normalise(value: Any) -> Any:
    """Mask secrets, turn resource references into URNs and integral floats into ints."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return MASK
        if sig == RESOURCE_SIG:
            return value.get("urn", "")
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN:
        return "[unknown]"
    return value


def _azure_name(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    if type_ == "azure-native:resources:ResourceGroup":
        return str(inputs.get("resourceGroupName", name))
    kind = type_.split(":")[-1]
    own = inputs.get(kind[:1].lower() + kind[1:] + "Name")  # e.g. queueName for a Queue
    if isinstance(own, str):
        return own
    for key in sorted(inputs):  # sorted: the engine's input order is not stable between runs
        val = inputs[key]
        if key.endswith("Name") and key != "resourceGroupName" and isinstance(val, str):
            return val
    return name


def mock_resource_id(type_: str, azure_name: str) -> str:
    """The id the mocks give an Azure resource (tests compare role scopes against it)."""
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/mock/{type_.split(':')[-1]}/{azure_name}"


class PlatformMocks(pmocks.Mocks):
    """Answers resource registrations and invokes with plausible Azure values."""

    def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        azure_name = _azure_name(args.typ, args.name, args.inputs)
        rid = mock_resource_id(args.typ, azure_name)
        state.setdefault("name", azure_name)
        if args.typ == "azure-native:containerservice:ManagedCluster":
            state["oidcIssuerProfile"] = {
                "enabled": True,
                "issuerURL": "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/mock/",
            }
            state["fqdn"] = "mock-aks.hcp.example.azmk8s.io"
            state["identityProfile"] = {
                "kubeletidentity": {
                    "clientId": "client-id-of-kubelet",
                    "objectId": MOCK_KUBELET_OBJECT_ID,
                    "resourceId": f"/subscriptions/{MOCK_SUBSCRIPTION}/mock/UserAssignedIdentity/kubelet",
                }
            }
            state["identity"] = {
                **dict(state.get("identity") or {}),
                "principalId": MOCK_CLUSTER_PRINCIPAL_ID,
            }
            network = dict(state.get("networkProfile") or {})
            network["loadBalancerProfile"] = {
                **dict(network.get("loadBalancerProfile") or {}),
                "effectiveOutboundIPs": [{"id": MOCK_OUTBOUND_IP_ID}],
            }
            state["networkProfile"] = network
        if args.typ == "random:index/randomString:RandomString":
            state["result"] = MOCK_RANDOM_CHAR * int(args.inputs.get("length", 0))
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            state["clientId"] = f"client-id-of-{azure_name}"
            state["principalId"] = f"principal-id-of-{azure_name}"
            state["tenantId"] = "00000000-0000-0000-0000-000000000001"
        if args.typ == "azure-native:keyvault:Vault":
            state.setdefault("properties", {})
            state["properties"] = {
                **state["properties"],
                "vaultUri": f"https://{azure_name}.vault.azure.net/",
            }
        if args.typ == "azure-native:monitor:AzureMonitorWorkspace":
            state["metrics"] = {
                "prometheusQueryEndpoint": f"https://{azure_name}.prometheus.monitor.azure.com"
            }
        return (rid if args.typ.startswith("azure-native:") else f"{args.name}-id", state)

    def call(self, args: pmocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            value = base64.b64encode(_KUBECONFIG.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}, []
        if args.token == "azure-native:network:getPublicIPAddress":
            return {"ipAddress": MOCK_OUTBOUND_IP, "name": args.args.get("publicIpAddressName")}, []
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "00000000-0000-0000-0000-00000000000c",
                "objectId": "00000000-0000-0000-0000-00000000000b",
                "subscriptionId": "00000000-0000-0000-0000-000000000000",
                "tenantId": "00000000-0000-0000-0000-000000000001",
            }, []
        return {}, []


def _aliases(request: Any, urn: str) -> list[str]:
    """Aliases the program set: URNs, or ``name``/``type``/``parent`` specs rendered as text; a spec
    with only a name (a rename under the same parent, ``components.child_names``) as the URN the engine
    derives from it (this URN with the old name). The SDKs' own type aliases (a bare older type token,
    e.g. ``azure-native:containerservice/v20240901:AgentPool`` for every API version) are left out: they
    name no change the program made."""
    out = [str(u) for u in request.aliasURNs]
    for alias in request.aliases:
        spec = json_format.MessageToDict(alias)
        body = spec.get("spec", spec)
        if "urn" not in spec and set(body) <= {"type", "parentUrn", "noParent"} and not body.get("parentUrn"):
            continue
        if "urn" not in spec and {k for k, v in body.items() if v} == {"name"}:
            out.append(f"{urn.rsplit('::', 1)[0]}::{body['name']}")
            continue
        out.append(spec.get("urn") or json.dumps(body, sort_keys=True))
    return out


def _options(request: Any, urn: str) -> dict[str, Any]:
    """The resource options the engine would act on (only those set), from the RegisterResourceRequest.

    ``dependencies`` holds every dependency the engine gets (explicit and those implied by inputs);
    ``dependsOn`` only the explicit ``depends_on`` ones (not implied by any input).
    """
    implied = {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
    options = {
        "ignoreChanges": list(request.ignoreChanges),
        "replaceOnChanges": list(request.replaceOnChanges),
        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
        "dependencies": sorted(request.dependencies),  # sorted: the engine's order is not stable
        "dependsOn": sorted(d for d in request.dependencies if d not in implied),
        "protect": bool(request.protect),
        "retainOnDelete": bool(request.retainOnDelete),
        "aliases": _aliases(request, urn),
        "provider": str(request.provider),  # "<provider urn>::<id>" for an explicit provider
    }
    return {k: v for k, v in options.items() if v}


class RecordingMonitor(pmocks.MockMonitor):
    """A mock monitor that keeps every registration with its parent and raw inputs."""

    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToDict(request.object)
            self.recorded.append(
                Recorded(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    inputs=normalise(raw),
                    options=_options(request, response.urn),
                )
            )
        return response


# The program's engine diagnostics (``pulumi.log``) under the mocks: kept on the run, for the caller to
# show, instead of Python logging's last-resort handler printing them bare to stderr.
ENGINE_LOG = logging.getLogger("aks_llm.engine")


class _Diagnostics(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class ProgramRun:
    """What one run of the program declared (and the warnings it logged to the engine)."""

    exit_code: int
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    plan: StackPlan | None = None  # the program's own plan (``__main__.plan``), when it got that far


def _resolve_outputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in raw.items():
        out = pulumi.Output.from_input(value)
        is_secret = _sync_await(out.is_secret())
        resolved[key] = MASK if is_secret else normalise(_sync_await(out.future()))
    return resolved


def run_program(
    program: Path,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: Sequence[str] = (),
) -> ProgramRun:
    """Run ``program`` (``__main__.py``) under mocks as ``pulumi preview`` would; never raises SystemExit."""
    psettings.set_root_resource(None)  # type: ignore[arg-type]
    set_all_config(dict(config), list(secret_keys))
    monitor = RecordingMonitor(PlatformMocks())
    pmocks.set_mocks(
        PlatformMocks(), project=project, stack=stack, preview=True, logger=ENGINE_LOG, monitor=monitor
    )
    diagnostics = _Diagnostics()
    ENGINE_LOG.addHandler(diagnostics)
    program_globals: dict[str, Any] = {}
    try:
        try:
            program_globals = runpy.run_path(str(program), run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            if code:
                return ProgramRun(exit_code=code, resources=list(monitor.recorded))
        _sync_await(wait_for_rpcs())
        root = psettings.get_root_resource()
        outputs = _resolve_outputs(getattr(root, "outputs", {}) or {})
        _sync_await(wait_for_rpcs())
    finally:
        ENGINE_LOG.removeHandler(diagnostics)
    resources = sorted(monitor.recorded, key=lambda r: r.urn)
    plan = program_globals.get("plan")
    return ProgramRun(
        exit_code=0,
        resources=resources,
        outputs=outputs,
        warnings=diagnostics.messages,
        plan=plan if isinstance(plan, StackPlan) else None,
    )
