"""Running the policy pack's policies offline, on resources as the Pulumi engine would hand them over.

The engine sends a resource's properties as a protobuf Struct (every number a float, secrets wrapped
in Pulumi's secret signature, unknown values as sentinel strings); pulumi-policy deserialises them
(dropping the secret marker) and wraps them in its unknown-checking proxy. ``engine_props`` does the
same to the inputs the mocks recorded, so each policy's ``validate`` sees what it would see under
``pulumi preview --policy-pack policy``, without starting the policy server.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import settings as psettings
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from tools.mocks import MASK, SECRET_SIG, SIG_KEY, PlatformMocks, Recorded, RecordingMonitor

# pytest puts policy/ on sys.path (pyproject: pythonpath), as Pulumi runs the pack from that directory.
POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
PROJECT = "aks-llm"


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret (the engine sends it wrapped; the SDK unwraps it)."""

    value: Any


@dataclass(frozen=True)
class Res:
    """A resource as the engine knows it: type, name, URN and inputs (camelCase)."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]

    def with_inputs(self, inputs: dict[str, Any]) -> Res:
        return Res(self.type, self.name, self.urn, inputs)


def urn(type_: str, name: str, stack: str = "prod") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def res(type_: str, name: str, inputs: Mapping[str, Any], stack: str = "prod") -> Res:
    return Res(type_, name, urn(type_, name, stack), copy.deepcopy(dict(inputs)))


def from_recorded(recorded: Iterable[Recorded]) -> list[Res]:
    return [Res(r.type, r.name, r.urn, copy.deepcopy(r.inputs)) for r in recorded]


def _wire(value: Any) -> Any:
    if isinstance(value, Secret):
        return {SIG_KEY: SECRET_SIG, "value": _wire(value.value)}
    if value == MASK:  # masked by the mocks' recording: a secret whose value the test never sees
        return {SIG_KEY: SECRET_SIG, "value": MASK}
    if value == "[unknown]":
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def engine_props(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """``inputs`` as pulumi-policy's servicer hands them to ``validate``."""
    struct = struct_pb2.Struct()
    struct.update(_wire(dict(inputs)))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def resource_args(r: Res, config: Mapping[str, Any] | None = None) -> ResourceValidationArgs:
    return ResourceValidationArgs(r.type, engine_props(r.inputs), r.urn, r.name, _options(), None, config)


def stack_args(resources: Iterable[Res], config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    policy_resources = [
        PolicyResource(r.type, engine_props(r.inputs), r.urn, r.name, _options(), None, None, [], {})
        for r in resources
    ]
    return StackValidationArgs(policy_resources, config)


Violation = tuple[str, str]  # (urn, message)


def violations(
    policy: Policy, resources: Iterable[Res], config: Mapping[str, Any] | None = None
) -> list[Violation]:
    """What ``policy`` reports: per resource (resource policies, as the engine calls them) or once for
    the stack; each violation with the URN it is attached to."""
    found: list[Violation] = []
    resources = list(resources)
    if isinstance(policy, ResourceValidationPolicy):
        for r in resources:

            def report(message: str, _urn: str | None = None, r: Res = r) -> None:
                found.append((r.urn, message))

            result = policy.validate(resource_args(r, config), report)
            assert result is None  # synchronous policies
    elif isinstance(policy, StackValidationPolicy):

        def report_stack(message: str, at: str | None = None) -> None:
            found.append((at or "", message))

        assert policy.validate(stack_args(resources, config), report_stack) is None
    else:  # pragma: no cover - the pack has only these two kinds
        raise TypeError(type(policy))
    return found


def messages(policy: Policy, resources: Iterable[Res], config: Mapping[str, Any] | None = None) -> list[str]:
    return [m for _, m in violations(policy, resources, config)]


def declare(build: Callable[[], None], stack: str = "prod") -> list[Res]:
    """Declare resources with the real SDK classes under mocks and return them as recorded."""
    psettings.set_root_resource(None)  # type: ignore[arg-type]
    mocks = PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pmocks.set_mocks(mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor)
    build()
    _sync_await(wait_for_rpcs())
    return from_recorded(monitor.recorded)
