"""`--diff`: the pure plan comparison, its Markdown, and two real plans compared by the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tools.diff import MISSING, InputChange, diff_plans, input_changes, render_markdown
from tools.plan import main

# Components new since the child-name convention's release (issue 23): no previous name to alias.
NEW_SINCE_RELEASE = (
    "platform-cluster-network",
    "platform-addons-private-endpoints",
    "platform-gateway",  # issue 23's gateway; its workload identity's children carry the usual aliases
    "platform-addons-key-vault-model-",  # the consumers' API keys
    "platform-addons-inference-api-keys",  # their sync into the inference namespace
)
ALIASED_NEW = "platform-gateway-identity"


def test_input_changes_are_dotted_leaf_paths() -> None:
    before = {"a": {"b": 1, "gone": True}, "list": [1, {"x": "y"}], "same": [1, 2], "t": 1}
    after = {"a": {"b": 2, "new": "v"}, "list": [1, {"x": "z"}, 3], "same": [1, 2], "t": "1"}
    assert input_changes(before, after) == [
        InputChange("a.b", 1, 2),
        InputChange("a.gone", True, MISSING),
        InputChange("a.new", MISSING, "v"),
        InputChange("list[1].x", "y", "z"),
        InputChange("list[2]", MISSING, 3),
        InputChange("t", 1, "1"),
    ]
    assert input_changes({"k": [1]}, {"k": [1]}) == []


def _doc(resources: list[dict[str, Any]], monthly: float | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"stack": "s", "resources": resources, "outputs": {}}
    if monthly is not None:
        doc["cost"] = {
            "currency": "USD",
            "pricesLine": "prices as of X",
            "complete": True,
            "hourly": {"idleFloor": {"total": monthly / 730}, "atMax": {"total": 2 * monthly / 730}},
            "monthly": {"total": monthly, "idleFloorAllMonth": monthly},
            "rows": [
                {
                    "name": "p",
                    "kind": "pool",
                    "capacity": "onDemand",
                    "sku": "S",
                    "minNodes": 0,
                    "maxNodes": int(monthly),
                    "monthly": monthly,
                }
            ],
        }
    return doc


def _res(name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:x::{name}",
        "type": "t:m:R",
        "name": name,
        "parent": "urn:x::parent",
        "inputs": inputs,
    }


def test_diff_plans_and_markdown() -> None:
    base = _doc([_res("keep", a=1), _res("edit", a="x|y", b=[1]), _res("drop")], monthly=100.0)
    head = _doc([_res("keep", a=1), _res("edit", a="x|z", b=[1, 2]), _res("new")], monthly=150.0)
    diff = diff_plans(base, head)
    assert [r["name"] for r in diff.added] == ["new"]
    assert [r["name"] for r in diff.removed] == ["drop"]
    assert [(c.name, [i.path for i in c.changes]) for c in diff.changed] == [("edit", ["a", "b[1]"])]
    assert diff.unchanged == 1
    md = render_markdown(diff, "`base.json`")
    assert "**1 to add, 1 to change, 1 to remove**, 1 unchanged" in md
    assert "| `t:m:R` | `new` | `parent` |" in md
    assert '`a`: `"x\\|y"` → `"x\\|z"`<br>`b[1]`: `(none)` → `2`' in md  # pipes escaped in tables
    assert "| monthly estimate (schedules) | 100.00 | 150.00 | +50.00 (+50.0 %) |" in md
    assert "| p (pool, on-demand) | 0-100 x S, 100.00/month | 0-150 x S, 150.00/month |" in md


def test_base_without_cost_and_identical_plans() -> None:
    diff = diff_plans(_doc([_res("r")]), _doc([_res("r")], monthly=10.0))
    md = render_markdown(diff)
    assert "No resource changes." in md
    assert "| monthly estimate (schedules) | - | 10.00 | - |" in md
    assert "the base plan has no cost section" in md


def test_a_resource_renamed_through_an_alias_is_matched_not_removed_and_added() -> None:
    renamed = {**_res("platform-rg", a=2), "options": {"aliases": ["urn:x::rg"]}}
    moved = {**_res("platform-logs", a=1), "options": {"aliases": ["urn:x::logs"]}}
    base = _doc([_res("rg", a=1), _res("logs", a=1), _res("drop")])
    diff = diff_plans(base, _doc([renamed, moved]))
    assert not diff.added and [r["name"] for r in diff.removed] == ["drop"]
    assert diff.renamed == [("t:m:R", "rg", "platform-rg"), ("t:m:R", "logs", "platform-logs")]
    assert [(c.name, [i.path for i in c.changes]) for c in diff.changed] == [("platform-rg", ["a"])]
    assert diff.unchanged == 1
    md = render_markdown(diff)
    assert "**0 to add, 1 to change, 1 to remove**, 1 unchanged, 2 renamed in place (aliases)" in md
    assert "| `t:m:R` | `rg` | `platform-rg` |" in md
    # an alias to a URN the head plan itself still has is no rename (both stay)
    both = _doc([_res("rg", a=1), renamed])
    again = diff_plans(_doc([_res("rg", a=1)]), both)
    assert [r["name"] for r in again.added] == ["platform-rg"] and not again.renamed


def test_the_child_name_convention_renames_every_committed_resource_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan of a stack as it was before the f"{name}-..." convention, against today's: every old URN
    is reached through an alias, with identical inputs (the base is today's plan with each resource
    put back at its alias, which is what the previous release planned)."""
    head_json = tmp_path / "head.json"
    assert main(["--stack", "prod", "--json", str(head_json)]) == 0
    head = json.loads(head_json.read_text())
    old_urn = {
        r["urn"]: next(iter(r.get("options", {}).get("aliases", [])), r["urn"]) for r in head["resources"]
    }
    base = {
        **head,
        "resources": [
            {**r, "urn": old_urn[r["urn"]], "name": old_urn[r["urn"]].rsplit("::", 1)[1], "options": {}}
            for r in head["resources"]
        ],
    }
    diff = diff_plans(base, head)
    assert not (diff.added or diff.removed or diff.changed)
    kept = {(r["type"], r["name"]) for r in head["resources"] if old_urn[r["urn"]] == r["urn"]}
    new = {  # declared after the convention: nothing to rename
        ("aksllm:platform:PrometheusRules", "platform-addons-prometheus-rules"),
        ("azure-native:alertsmanagement:PrometheusRuleGroup", "platform-addons-prometheus-rules-rule-group"),
        ("azure-native:alertsmanagement:PrometheusRuleGroup", "platform-addons-prometheus-rules-alert-group"),
        ("aksllm:platform:Alerting", "platform-addons-alerting"),
        ("azure-native:monitor:ActionGroup", "platform-addons-alerting-action-group"),
        ("azure-native:storage:StorageAccount", "platform-addons-model-weights-account"),
        ("azure-native:storage:BlobContainer", "platform-addons-model-weights-container"),
        ("kubernetes:batch/v1:Job", "platform-models-qwen7b-seed-qwen7b"),
        (
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "platform-models-qwen7b-seed-qwen7b-network-policy",
        ),
    }
    # and issue 23's network (its components' children)
    new |= {
        (r["type"], r["name"])
        for r in head["resources"]
        if r["name"].startswith(NEW_SINCE_RELEASE) and not r["name"].startswith(ALIASED_NEW)
    }
    assert kept == {("aksllm:platform:Platform", "platform"), ("pulumi:providers:kubernetes", "k8s"), *new}
    assert len(diff.renamed) == len(head["resources"]) - len(kept)
    capsys.readouterr()


def test_long_change_lists_are_cut() -> None:
    base = _doc([_res("r", **{f"k{i:02d}": i for i in range(20)})])
    head = _doc([_res("r", **{f"k{i:02d}": i + 1 for i in range(20)})])
    assert "… and 8 more" in render_markdown(diff_plans(base, head))


# --- two real plans ------------------------------------------------------------------------------


def _prod_variant(tmp_path: Path, name: str, edit: Any) -> Path:
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    edit(doc["config"])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _base(config: dict[str, Any]) -> None:
    del config["aks-llm:budget"]


def _head(config: dict[str, Any]) -> None:
    config["aks-llm:gpuPools"][0]["onDemand"]["max"] = 5
    # (5 + 1 surge) x 24 = 144, plus KAITO's phi4: 1 node x 3 replicas x 24 = 72
    config["aks-llm:quota"]["families"]["standardNCADSA100v4Family"] = 216
    config["aks-llm:cluster"]["systemPool"]["count"] = 4
    config["aks-llm:models"].append(
        {
            "name": "phi4mini",
            "model": "phi-4-mini-instruct",
            "runtime": "vllm",
            "pool": "a100",
            "replicas": {"min": 1},
            "scaleToZero": False,
            "schedule": {"timezone": "Europe/Stockholm", "start": "07:00", "end": "19:00", "minReplicas": 1},
        }
    )
    config["aks-llm:costComparison"]["modelThroughput"]["phi4mini"] = 2000


def test_diff_of_two_real_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base_json, head_json = tmp_path / "base.json", tmp_path / "head.json"
    base_file = _prod_variant(tmp_path, "base.yaml", _base)
    head_file = _prod_variant(tmp_path, "head.yaml", _head)
    assert main(["--stack", "prod", "--config-file", str(base_file), "--json", str(base_json)]) == 0
    capsys.readouterr()
    argv = ["--stack", "prod", "--config-file", str(head_file), "--diff", str(base_json)]
    assert main([*argv, "--json", str(head_json)]) == 0
    md = capsys.readouterr().out
    assert md.startswith("### Offline plan diff: stack `prod`")
    assert "+ aksllm:platform:Platform" not in md  # only the Markdown
    # the budget and its component, the action group its contacts bring, and phi4mini's VllmModel with
    # its six Kubernetes objects, and its route on prod's gateway (issue 23: --diff shows route changes);
    # the alert group changes too (phi4mini's rules, the action group)
    assert "Compared with `base.json`: **11 to add, 3 to change, 0 to remove**" in md
    route = "HTTPRoute` | `platform-gateway-httproute-inference-phi4mini`"
    assert route in md
    policy = "| `kubernetes:networking.k8s.io/v1:NetworkPolicy` | `platform-models-phi4mini-"
    assert policy in md  # and the policy that admits the gateway's pods to it
    assert "| `azure-native:monitor:ActionGroup` | `platform-addons-alerting-action-group` |" in md
    deployment = "| `kubernetes:apps/v1:Deployment` | `platform-models-phi4mini-deployment` |"
    assert f"{deployment} `platform-models-phi4mini` |" in md
    assert "| `azure-native:consumption:Budget` | `platform-budget-budget` | `platform-budget` |" in md
    assert "| `aksllm:platform:Budget` | `platform-budget` | `platform` |" in md
    cluster = "| `azure-native:containerservice:ManagedCluster` `platform-cluster-aks` |"
    assert f"{cluster} `agentPoolProfiles[0].count`: `3` → `4` |" in md
    assert (
        "| `azure-native:containerservice:AgentPool` `platform-gpu-pools-a100` | `maxCount`: `3` → `5` |"
        in md
    )
    # cost: one more system node all month; phi4mini's business-hours slice fits on the pool's
    # standing spot node (a MIG pool keeps one node per capacity type), so no A100 node is added
    base_cost = json.loads(base_json.read_text())["cost"]
    head_cost = json.loads(head_json.read_text())["cost"]
    delta = head_cost["monthly"]["total"] - base_cost["monthly"]["total"]
    assert delta == pytest.approx(0.185 * 730, abs=0.02)
    assert f"| monthly estimate (schedules) | {base_cost['monthly']['total']:,.2f} |" in md
    assert f"+{delta:,.2f}" in md
    assert "| hourly, at max | 25.53 | 33.06 | +7.53" in md  # 2 more on-demand A100s, 1 more system node
    assert (
        "| a100 (pool, on-demand) | 1-3 x Standard_NC24ads_A100_v4, 2,681.29/month "
        "| 1-5 x Standard_NC24ads_A100_v4, 2,681.29/month |"
    ) in md
    assert "| system (system, on-demand) | 3-3 x Standard_D4ds_v5, 405.15/month |" in md
    # the new model's predicted cold start appears in its own table
    assert "#### Cold start (from zero nodes, predicted)" in md
    assert "| `phi4mini` | (none) | " in md


def test_diff_needs_a_readable_base(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--diff", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the base plan" in capsys.readouterr().err
    not_a_plan = tmp_path / "list.json"
    not_a_plan.write_text("[1, 2]")
    assert main(["--stack", "dev", "--diff", str(not_a_plan)]) == 2
    assert "is not a plan written by --json" in capsys.readouterr().err


def test_a_moved_cold_start_is_listed_and_an_unmoved_one_is_not() -> None:
    def doc(chat_high: int) -> dict[str, Any]:
        models = {
            "chat": {"coldStart": {"lowSeconds": 400, "highSeconds": chat_high, "weightsPath": "files-nfs"}},
            "same": {"coldStart": {"lowSeconds": 100, "highSeconds": 200, "weightsPath": "blob-stream"}},
        }
        return _doc([]) | {"outputs": {"models": models}}

    diff = diff_plans(doc(1300), doc(900))
    assert diff.cold_starts == [("chat", "400-1300 s (files-nfs)", "400-900 s (files-nfs)")]
    assert "| `chat` | 400-1300 s (files-nfs) | 400-900 s (files-nfs) |" in render_markdown(diff)
    assert diff_plans(doc(1300), doc(1300)).cold_starts == []
