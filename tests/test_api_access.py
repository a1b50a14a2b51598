"""The Kubernetes API is reachable by whoever runs `pulumi up`: the RFC 5737 documentation ranges the
committed stacks carry as placeholders are refused when deploying, and warned about at preview and in
the offline plan (which must keep planning). The deploy and preview workflows' runner is configurable
(tests/test_workflows.py checks the workflows; docs/api-access.md says which setup each stack needs).
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pulumi
import pytest

from planning.api_access import (
    DOCUMENTATION_NETWORKS,
    documentation_cidrs,
    documentation_ranges_warning,
)
from stack.loader import deployment_problems
from tests.conftest import ROOT, parse_values, planned, run_with

DOCS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


def test_the_documentation_ranges_are_exactly_rfc_5737s() -> None:
    assert [str(n) for n in DOCUMENTATION_NETWORKS] == list(DOCS)
    inside = [*DOCS, "192.0.2.7/32", "198.51.100.128/25", "203.0.113.255/32", "203.0.113.0/28"]
    assert documentation_cidrs(inside) == list(enumerate(inside))


@pytest.mark.parametrize(
    "cidr",
    [
        "192.0.1.0/24",  # the neighbours of each range
        "192.0.3.0/24",
        "198.51.99.0/24",
        "198.51.101.0/24",
        "203.0.112.0/24",
        "203.0.114.0/24",
        "192.0.0.0/24",  # IETF protocol assignments: non-global too, but not a documentation range
        "10.0.0.0/8",  # private: another rule's business (plan time)
        "100.64.0.0/10",  # shared address space
        "203.0.0.0/16",  # wider: holds real addresses besides the documentation /24
        "20.91.0.10/32",
        "2001:db8::/32",  # IPv6 documentation: IPv6 is another rule's business (plan time)
    ],
)
def test_other_ranges_are_not_documentation_ranges(cidr: str) -> None:
    assert documentation_cidrs([cidr]) == []


def test_python_calls_them_non_global_like_private_ranges_so_they_are_matched_exactly() -> None:
    """Why ``is_global`` cannot tell them apart: the documentation ranges, a private range and the
    shared address space are all non-global."""
    for cidr in (*DOCS, "10.0.0.0/8", "100.64.0.0/10"):
        assert not ipaddress.ip_network(cidr).is_global, cidr


def test_deploying_refuses_each_documentation_range_and_a_preview_does_not() -> None:
    config = parse_values(
        {
            "cluster": {
                "apiServer": {"authorizedIpRanges": ["20.91.0.0/24", "203.0.113.0/24", "198.51.100.9/32"]}
            }
        }
    )
    assert deployment_problems(config, deploying=False) == []
    problems = deployment_problems(config, deploying=True)
    assert [(p.path, p.value) for p in problems] == [
        ("cluster.apiServer.authorizedIpRanges[1]", "203.0.113.0/24"),
        ("cluster.apiServer.authorizedIpRanges[2]", "198.51.100.9/32"),
    ]
    assert "RFC 5737 documentation range" in problems[0].message
    assert "the machine running this `pulumi up` included" in problems[0].message
    assert (
        "privateCluster: true with a runner inside the network (docs/api-access.md)" in problems[0].accepted
    )
    warning = documentation_ranges_warning(config)
    assert warning is not None and "203.0.113.0/24, 198.51.100.9/32" in warning
    real = parse_values({"cluster": {"apiServer": {"authorizedIpRanges": ["20.91.0.0/24"]}}})
    assert deployment_problems(real, deploying=True) == [] and documentation_ranges_warning(real) is None
    private = parse_values({"cluster": {"apiServer": {"privateCluster": True}}})
    assert deployment_problems(private, deploying=True) == []


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_the_committed_stacks_plan_with_a_loud_warning(stack: str) -> None:
    run = planned(stack)[1]
    assert run.exit_code == 0
    first = run.outputs["notes"][0]
    assert first.startswith("WARNING: cluster.apiServer.authorizedIpRanges holds RFC 5737 documentation")
    assert "`pulumi up` refuses them" in first


def test_pulumi_up_refuses_the_committed_prod_stack_before_creating_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The program under the mocks as `pulumi up` runs it (not a dry run): exit 2, one line per range,
    nothing declared."""
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    run = run_with(tmp_path, (ROOT / "Pulumi.prod.yaml").read_text(), "prod")
    assert run.exit_code == 2 and run.resources == []
    err = capsys.readouterr().err
    assert "error: invalid stack config in" in err and "(2 problems)" in err
    assert "aks-llm:cluster.apiServer.authorizedIpRanges[0]: an RFC 5737 documentation range" in err
    assert "aks-llm:cluster.apiServer.authorizedIpRanges[1]: an RFC 5737 documentation range" in err
    assert "Traceback" not in err


def test_a_preview_logs_the_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """At preview the engine shows it as a warning diagnostic (the mocks route pulumi.log to logging)."""
    with caplog.at_level(logging.WARNING):
        run = run_with(tmp_path, (ROOT / "Pulumi.dev.yaml").read_text(), "dev")
    assert run.exit_code == 0
    assert any("RFC 5737 documentation ranges (203.0.113.0/24)" in r.getMessage() for r in caplog.records)
