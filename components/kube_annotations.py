"""Annotations the Pulumi Kubernetes provider reads on the objects it creates."""

from __future__ import annotations

# `pulumi up` does not wait for the object to become ready (pulumi-kubernetes' await logic would block
# until a Deployment is ready, a Service has endpoints or a Job completes): for what KEDA scales from zero,
# what takes longer than an `up` should (a first model start, a seed), or what waits on a person (a
# certificate put in the vault after the first `up`).
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
