"""Issue 19, day two on Azure: the version update AKS accepts with spot pools, the system pool's size
and tags. (Refresh, budget, names, node image and time zones have tests of their own below/elsewhere.)"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from components.cluster import CLUSTER_IGNORE_CHANGES
from components.version_update import TYPE_TOKEN, _AzAksUpgrade
from config.catalog import load_catalog
from sizing.agent_pools import agent_pool_specs
from sizing.upgrade_path import upgrade_steps
from tests.conftest import by_type, one, parse_values, planned
from tools.diff import _field_matches
from tools.plan import main as plan_main

ROOT = Path(__file__).resolve().parent.parent

MC = "azure-native:containerservice:ManagedCluster"


# --- 1. the version update: control plane alone, then each pool, spot last -----------------------


def _commands(stack: str) -> list[list[str]]:
    (update,) = [r for r in by_type(planned(stack)[1], TYPE_TOKEN) if r.name.endswith("kubernetes-version")]
    return [step["command"] for step in update.inputs["steps"]]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_control_plane_upgrades_alone_then_each_pool_spot_last(stack: str) -> None:
    commands = _commands(stack)
    first, pools = commands[0], commands[1:]
    # never one `az aks upgrade` of everything: AKS refuses that while a spot pool exists
    assert first[:3] == ["az", "aks", "upgrade"] and "--control-plane-only" in first
    assert all(c[:4] == ["az", "aks", "nodepool", "upgrade"] for c in pools)
    names = [c[c.index("-n") + 1] for c in pools]
    spot = [n for n in names if n.endswith("sp")]
    assert spot and names[0] == "system" and names[-len(spot) :] == spot  # on-demand before spot
    for command, name in zip(pools, names, strict=True):
        assert command[command.index("--kubernetes-version") + 1] == "1.36"
        if name in spot:  # AKS gives spot pools no surge nodes and no drain
            assert "--max-surge" not in command and "--drain-timeout" not in command


def test_on_demand_pools_upgrade_with_the_surge_and_drain_the_program_sets() -> None:
    config = parse_values(
        {
            "gpuPools": [
                {
                    "name": "a100",
                    "vmSize": "Standard_NC24ads_A100_v4",
                    "maxSurge": "1",
                    "onDemand": {"min": 1, "max": 2},
                    "spot": {"min": 0, "max": 2},
                }
            ],
        }
    )
    specs = agent_pool_specs(config, load_catalog())
    steps = upgrade_steps(config, specs)
    assert [s.label for s in steps] == [
        "control plane",
        "pool system (on-demand)",
        "pool a100 (on-demand)",
        "pool a100sp (spot)",
    ]
    on_demand = next(s for s in specs if s.capacity == "on-demand")
    cmd = steps[2].command("rg", "aks", "1.37")
    assert cmd[cmd.index("--max-surge") + 1] == "1" == on_demand.max_surge
    assert cmd[cmd.index("--drain-timeout") + 1] == str(on_demand.drain_timeout_minutes)
    assert steps[3].command("rg", "aks", "1.37") == [
        "az", "aks", "nodepool", "upgrade", "-g", "rg", "--cluster-name", "aks", "-n", "a100sp",
        "--kubernetes-version", "1.37", "--yes",
    ]  # fmt: skip


def test_the_provider_runs_each_step_only_while_its_target_is_below(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rerun after a half-done upgrade continues where it stopped; a pool AKS already moved is left."""
    versions = {None: "1.37.2", "system": "1.37.2", "a100": "1.36.5", "a100sp": "1.36.5", "gone": None}
    ran: list[list[str]] = []

    class Done:
        def __init__(self, stdout: str, returncode: int = 0) -> None:
            self.stdout, self.returncode = stdout, returncode

    def fake_run(cmd: list[str], **_: Any) -> Done:
        if cmd[-3:-2] == ["-o"] or cmd[-2:] == ["-o", "json"]:
            pool = cmd[cmd.index("-n") + 1] if "nodepool" in cmd else None
            current = versions[pool]
            if current is None:
                return Done("", 3)
            key = "currentOrchestratorVersion" if pool else "currentKubernetesVersion"
            return Done(json.dumps({key: current}))
        ran.append(cmd)
        return Done("")

    monkeypatch.setattr("components.version_update.subprocess.run", fake_run)
    steps = [
        {"target": "controlPlane", "pool": None, "command": ["az", "aks", "upgrade", "cp"]},
        *(
            {"target": "pool", "pool": p, "command": ["upgrade", p]}
            for p in ("system", "a100", "gone", "a100sp")
        ),
    ]
    props = {"resourceGroupName": "rg", "clusterName": "aks", "kubernetesVersion": "1.37", "steps": steps}
    _AzAksUpgrade().update("id", {}, props)
    assert ran == [["upgrade", "a100"], ["upgrade", "a100sp"]]


def test_the_plan_prints_the_upgrade_path() -> None:
    from tools.plan import upgrade_path_lines

    out = upgrade_path_lines(planned("dev")[1].outputs["upgradePath"])  # printed under the version line
    assert "Upgrade path (runs when cluster.kubernetesVersion changes" in out
    assert "  1. control plane: az aks upgrade -g rg-llm-dev-swedencentral -n aks-llm-dev" in out
    assert "--control-plane-only --yes" in out
    assert "  4. pool t4sp (spot): az aks nodepool upgrade" in out


# --- 5. the system pool: its count reaches AKS, its VMs are tagged -------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_the_system_pool_count_is_sent_and_its_profile_tagged(stack: str) -> None:
    mc = one(planned(stack)[1], MC)
    ignored = mc.options["ignoreChanges"]
    assert set(ignored) == set(CLUSTER_IGNORE_CHANGES)
    (system,) = mc.inputs["agentPoolProfiles"]
    assert system["name"] == "system" and system["enableAutoScaling"] is False
    # a changed systemPool.count is a change the engine sends
    assert not any(_field_matches("agentPoolProfiles[0].count", p) for p in ignored)
    assert system["tags"] == mc.inputs["tags"] and system["tags"]


def test_only_an_autoscaled_inline_profile_has_its_count_ignored() -> None:
    import pulumi_azure_native.containerservice as cs

    from components.cluster import cluster_ignore_changes

    fixed = cs.ManagedClusterAgentPoolProfileArgs(name="system", enable_auto_scaling=False, count=3)
    scaled = cs.ManagedClusterAgentPoolProfileArgs(name="burst", enable_auto_scaling=True, min_count=0)
    assert cluster_ignore_changes([fixed, scaled]) == [*CLUSTER_IGNORE_CHANGES, "agentPoolProfiles[1].count"]


# --- 4. globally unique names: a suffix unique to the deployment ----------------------------------

VAULT = "azure-native:keyvault:Vault"
REGISTRY = "azure-native:containerregistry:Registry"
BUS = "azure-native:servicebus:Namespace"
RANDOM = "random:index/randomString:RandomString"


def test_global_names_end_in_the_deployments_suffix_not_a_hash_of_the_defaults() -> None:
    from facts.naming import UNIQUE_SUFFIX_LENGTH, Names

    names = Names(prefix="llm", stack="dev", location="swedencentral")
    a, b = "k3x9q2", "p0z7m1"
    assert names.key_vault(a) == "kv-llm-dev-k3x9q2" != names.key_vault(b)
    assert names.container_registry(a) == "crllmdevk3x9q2"
    assert names.service_bus(a) == "sb-llm-dev-k3x9q2"
    # the old names: a hash of prefix/stack/region, the same for everyone keeping the defaults
    assert names.key_vault(names.suffix) == "kv-llm-dev-" + names.suffix
    long = Names(prefix="abcdefghij", stack="a-very-long-stack-name", location="swedencentral")
    vault = long.key_vault(a)
    assert len(vault) <= 24 and vault.endswith("-" + a) and len(a) == UNIQUE_SUFFIX_LENGTH
    registry = long.container_registry(a)
    assert len(registry) <= 50 and registry.endswith(a) and registry.isalnum()


@pytest.mark.parametrize("stack", ["dev", "prod", "nap"])
def test_the_offline_plan_names_them_with_a_fixed_stand_in(stack: str) -> None:
    """Under mocks the random suffix has no value: the mocks answer 000000, so plans are deterministic."""
    run = planned(stack)[1]
    rnd = one(run, RANDOM)
    assert rnd.inputs == {"length": 6, "lower": True, "upper": False, "numeric": True, "special": False}
    assert one(run, VAULT).inputs["vaultName"] == f"kv-llm-{stack}-000000"
    # the registry and Service Bus come with the async queue (prod has none)
    assert [r.inputs["registryName"] for r in by_type(run, REGISTRY)] in ([], [f"crllm{stack}000000"])
    assert [r.inputs["namespaceName"] for r in by_type(run, BUS)] in ([], [f"sb-llm-{stack}-000000"])


def test_a_pinned_suffix_keeps_an_existing_stacks_names(tmp_path: Path) -> None:
    from tests.conftest import run_with

    text = (ROOT / "Pulumi.dev.yaml").read_text() + "  aks-llm:naming: {suffix: a1b2}\n"
    run = run_with(tmp_path, text, stack="dev")
    assert run.exit_code == 0
    assert not by_type(run, RANDOM)
    assert one(run, VAULT).inputs["vaultName"] == "kv-llm-dev-a1b2"
    assert one(run, REGISTRY).inputs["registryName"] == "crllmdeva1b2"
    assert one(run, BUS).inputs["namespaceName"] == "sb-llm-dev-a1b2"


# --- 2. no downgrade after an upgrade: the deployment refreshes before it updates ------------------
#
# Pulumi's mocks run the program, not the engine: they never merge stored inputs into an update. So
# the engine's rule for ignoreChanges is modelled here as documented (pulumi/docs
# content/docs/iac/concepts/options/ignorechanges.md, "How ignoreChanges works": after creation an
# ignored property's value comes from the stack state; `pulumi refresh` / `pulumi up --refresh` pulls
# the provider's live values into the state), applied to the program's real ManagedCluster inputs.
# azure-native's Read copies an output that changed in Azure into the stored inputs
# (pulumi-azure-native provider/pkg/provider/provider.go, Read: "if properties changed, we assume
# they aren't default values anymore, and we need to copy them to new inputs").


def _paths(doc: Any, pattern: str) -> list[list[str | int]]:
    """The concrete key paths a Pulumi property path (``a[*].b``, ``a[0].b``, ``a``) names in ``doc``."""
    parts = [p for p in pattern.replace("[", ".[").split(".") if p]
    found: list[list[str | int]] = []

    def walk(node: Any, rest: list[str], at: list[str | int]) -> None:
        head, tail = rest[0], rest[1:]
        keys: list[str | int]
        if head.startswith("["):
            size = len(node) if isinstance(node, list) else 0
            keys = list(range(size)) if head == "[*]" else [i for i in [int(head[1:-1])] if i < size]
        else:
            keys = [head] if isinstance(node, dict) and head in node else []
        for key in keys:
            if tail:
                walk(node[key], tail, [*at, key])
            else:
                found.append([*at, key])

    walk(doc, parts, [])
    return found


def engine_sends(program: dict[str, Any], state: dict[str, Any], ignore: list[str]) -> dict[str, Any]:
    """The body of the update: the program's inputs, each ignored property that the state holds taken
    from the state (also where the program leaves it out)."""
    body = copy.deepcopy(program)
    for pattern in ignore:
        for path in _paths(state, pattern):
            stored: Any = state
            parent: Any = body
            for key in path[:-1]:
                stored, parent = stored[key], parent[key]
            parent[path[-1]] = stored[path[-1]]
    return body


def refresh(state: dict[str, Any], live_version: str) -> dict[str, Any]:
    """The stored inputs after `pulumi refresh`: the versions Azure now reports."""
    after = copy.deepcopy(state)
    after["kubernetesVersion"] = live_version
    for profile in after.get("agentPoolProfiles", []):
        profile["orchestratorVersion"] = live_version
    return after


def _older(sent: str, live: str) -> bool:
    return tuple(map(int, sent.split("."))) < tuple(map(int, live.split(".")))[: len(sent.split("."))]


def test_after_a_simulated_upgrade_the_deployment_sends_no_older_version() -> None:
    import yaml

    mc = one(planned("prod")[1], MC)
    program, ignore = mc.inputs, mc.options["ignoreChanges"]
    assert program["kubernetesVersion"] == "1.36" and "kubernetesVersion" in ignore
    state = copy.deepcopy(program)  # stored at creation
    live = "1.37.2"  # the auto-upgrade channel (or the version update) moved the cluster on
    later = {**program, "tags": {**program["tags"], "owner": "someone-else"}}  # any later change: full PUT
    # without a refresh the stored input goes out again: the downgrade AKS refuses (the defect)
    assert _older(engine_sends(later, state, ignore)["kubernetesVersion"], live)
    # after the refresh every version the update sends is the live one
    sent = engine_sends(later, refresh(state, live), ignore)
    assert not _older(sent["kubernetesVersion"], live)
    assert all(not _older(p.get("orchestratorVersion", live), live) for p in sent["agentPoolProfiles"])
    # the GPU agent pools (own resources, no orchestratorVersion in the program): the refreshed, live one
    for pool in by_type(planned("prod")[1], "azure-native:containerservice:AgentPool"):
        refreshed = {**pool.inputs, "orchestratorVersion": live}
        assert (
            engine_sends(pool.inputs, refreshed, pool.options["ignoreChanges"])["orchestratorVersion"] == live
        )
    # and every deployment refreshes first
    deploy = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    ups = [
        step["with"]
        for job in deploy["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("pulumi/actions@") and step["with"]["command"] == "up"
    ]
    assert len(ups) == 3 and all(up.get("refresh") is True for up in ups)


# --- 3. the budget sees the GPU spend, and the plan warns when the estimate exceeds it -------------


def test_the_budget_watches_the_node_resource_group_the_estimate_prices() -> None:
    from cost.budget import ESTIMATED

    run = planned("prod")[1]
    budget = one(run, "azure-native:consumption:Budget").inputs
    nodes = one(run, MC).inputs["nodeResourceGroup"]
    assert budget["scope"].startswith("/subscriptions/") and "/resourceGroups/" not in budget["scope"]
    assert nodes in budget["filter"]["dimensions"]["values"]
    section = run.outputs["cost"]["budget"]
    assert section["resourceGroups"] == budget["filter"]["dimensions"]["values"]
    assert "node resource group" in section["estimated"] == ESTIMATED
    assert section["exceeds"] is False and section["percent"] == 90.8  # committed prod: 91 %
    assert any(
        f"on resource groups {section['resourceGroups'][0]} and {nodes}" in n
        for n in run.outputs["cost"]["notes"]
    )


def _over_budget(tmp_path: Path) -> Path:
    text = (ROOT / "Pulumi.prod.yaml").read_text().replace("monthlyAmount: 8000", "monthlyAmount: 3000")
    path = tmp_path / "over.yaml"
    path.write_text(text)
    return path


def test_the_plan_and_the_pr_diff_warn_when_the_estimate_exceeds_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.diff import diff_plans, render_markdown
    from tools.plan import plan_document

    base = plan_document(*planned("prod"))
    assert base["cost"]["budget"]["exceeds"] is False
    assert "over budget" not in render_markdown(diff_plans(base, base))
    head_json = tmp_path / "head.json"
    argv = ["--stack", "prod", "--config-file", str(_over_budget(tmp_path)), "--json", str(head_json)]
    assert plan_main(argv) == 0
    out = capsys.readouterr().out
    warning = "WARNING: the monthly estimate 7,261.52 USD exceeds the budget 3,000.00 (242 %)"
    top = out.split("+ aksllm:platform:Platform")[0]
    assert warning in top  # at the top, next to the version
    assert out.count(warning) == 2  # and in the cost section
    md = render_markdown(diff_plans(base, json.loads(head_json.read_text())))
    assert "> **Warning: over budget.** the monthly estimate 7,261.52 USD exceeds the budget 3,000.00" in md


# --- 6. the NodePools' node image follows the Kubernetes version ---------------------------------


def _nap(tmp_path: Path, version: str, channel: str = "stable") -> str:
    text = (ROOT / "Pulumi.nap.yaml").read_text()
    text = text.replace(
        'kubernetesVersion: "1.36"', f'kubernetesVersion: "{version}"\n    upgradeChannel: {channel}'
    )
    assert f'kubernetesVersion: "{version}"' in text
    return text


def test_every_image_family_of_the_schema_has_a_support_range() -> None:
    from typing import get_args

    from config.schema import ImageFamily
    from facts.aks_versions import load_image_families

    families = load_image_families()
    assert set(get_args(ImageFamily)) == set(families)
    assert families["Ubuntu2204"].supports("1.36") and not families["Ubuntu2204"].supports("1.37")
    assert families["Ubuntu"].supports("1.99")


@pytest.mark.parametrize(
    ("version", "channel", "date", "why"),
    [
        ("1.37", "stable", "2026-12-01", "runs Kubernetes 1.37 (cluster.kubernetesVersion)"),
        # the calendar: 1.36 ends on 2027-06-30, so within 90 days the cluster is on 1.37
        (
            "1.36",
            "none",
            "2027-04-15",
            "runs Kubernetes 1.37 (1.36 reaches its AKS end of life on 2027-06-30, within 90 days of "
            "2027-04-15)",
        ),
        # the rapid channel follows the newest GA minor (1.37, GA 2026-10)
        ("1.36", "rapid", "2026-12-01", "upgradeChannel rapid moves the cluster to 1.37 (GA 2026-10)"),
    ],
)
def test_an_image_family_the_version_leaves_behind_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, channel: str, date: str, why: str
) -> None:
    from config.plan_date import PLAN_DATE_ENV
    from tests.conftest import rules_refusal

    monkeypatch.setenv(PLAN_DATE_ENV, date)
    err = rules_refusal(tmp_path, _nap(tmp_path, version, channel))
    assert (
        "aks-llm:nodeProvisioning.nodePools[0].imageFamily: AKS supports node image Ubuntu2204 (1.25-1.36)"
        in err
    )
    assert why in err and "(got 'Ubuntu2204')" in err
    assert "accepted: imageFamily: Ubuntu (follows the Kubernetes version) or AzureLinux (follows the" in err
    assert "Ubuntu2404 (1.32-1.38)" in err


def test_the_committed_nap_stack_keeps_its_image_on_stable(tmp_path: Path) -> None:
    from tests.conftest import parse_with

    assert parse_with(tmp_path, _nap(tmp_path, "1.36", "stable")).node_provisioning.mode == "nap"
