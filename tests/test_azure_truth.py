"""Issue 11: Azure and GPU truth. Versions that exist on the plan's date, fields AKS cannot change in
place, writes AKS refuses (overlapping, budget dates, a closed vault, the system pool size), the
cluster autoscaler's units and expander, the plan's resource options and --diff's replace report."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pulumi_azure_native.containerservice as cs
import pytest

from components.cluster import CLUSTER_IGNORE_CHANGES, scan_interval_seconds
from components.gpu_pools import CREATE_ONLY_FIELDS, REPLACE_ON_CHANGES
from components.version_update import TYPE_TOKEN, _AzAksUpgrade, needs_upgrade
from config.catalog import load_catalog
from config.errors import ConfigError, Problem
from config.plan_date import PLAN_DATE_ENV, plan_date
from facts.aks_versions import addon_version, creatable_minors, load_aks_calendar, support_status
from planning.stack_plan import plan_stack
from sizing.agent_pools import PRIORITY_EXPANDER_CONFIG_MAP
from tests.conftest import PROGRAM_PACKAGES, ROOT, TEST_PLAN_DATE, by_type, one, planned, run_with
from tests.conftest import parse_values as parse
from tests.conftest import value_problems as problems
from tools.diff import diff_plans, render_markdown
from tools.plan import main as plan_main
from tools.plan import plan_document

MC = "azure-native:containerservice:ManagedCluster"
AP = "azure-native:containerservice:AgentPool"
MAINT = "azure-native:containerservice:MaintenanceConfiguration"
DEC_1 = date(2026, 12, 1)


def cluster(**fields: Any) -> dict[str, Any]:
    return {"cluster": {"apiServer": {"privateCluster": True}, **fields}}


# --- version calendar ---------------------------------------------------------------------------


def test_calendar_dates_are_month_ends_with_a_source() -> None:
    cal = load_aks_calendar()
    assert "supported-kubernetes-versions.md" in cal.source and "long-term-support.md" in cal.source
    m = cal.minors["1.36"]
    assert (m.ga, m.end_of_life, m.lts_end_of_life) == (
        date(2026, 6, 1),
        date(2027, 6, 30),
        date(2028, 6, 30),
    )
    # aks-versions.md: "On 2026-12-01 only 1.35, 1.36 and 1.37 can create a cluster"
    assert creatable_minors(DEC_1) == ["1.35", "1.36", "1.37"]


def test_past_end_of_life_refused_lts_only_on_premium() -> None:
    old = support_status("1.33", tier="Standard", support_plan="KubernetesOfficial", on=DEC_1)
    assert old.kind == "refuse" and old.end_of_life == date(2026, 7, 31)
    assert "Premium with supportPlan AKSLongTermSupport keeps it until 2027-07-31" in old.message
    lts = support_status("1.33", tier="Premium", support_plan="AKSLongTermSupport", on=DEC_1)
    assert lts.kind == "ok" and lts.end_of_life == date(2027, 7, 31)
    assert (
        support_status("1.33", tier="Standard", support_plan="AKSLongTermSupport", on=DEC_1).kind == "refuse"
    )
    warn = support_status("1.36", tier="Free", support_plan="KubernetesOfficial", on=date(2027, 4, 1))
    assert warn.kind == "warn" and "90 days" in warn.message
    assert (
        support_status("1.36", tier="Free", support_plan="KubernetesOfficial", on=date(2027, 3, 31)).kind
        == "ok"
    )
    assert support_status(
        "1.36", tier="Free", support_plan="KubernetesOfficial", on=date(2027, 7, 1)
    ).kind == ("refuse")
    assert (
        support_status("1.40", tier="Standard", support_plan="KubernetesOfficial", on=DEC_1).kind == "refuse"
    )


def test_addon_versions_follow_the_minor_with_kaito_assumed_where_unlisted() -> None:
    assert addon_version("1.33", "ai-toolchain-operator").version == "0.4.5"  # type: ignore[union-attr]
    on_136 = addon_version("1.36.2", "ai-toolchain-operator")
    assert (
        on_136 is not None
        and on_136.version == "0.6.0"
        and "ai-toolchain-operator.md line 31" in (on_136.assumed or "")
    )
    assert addon_version("1.34", "ai-toolchain-operator").assumed is None  # type: ignore[union-attr]
    assert addon_version("1.36", "keda").version == "2.19.0"  # type: ignore[union-attr]
    assert addon_version("1.36", "karpenter").version == "1.12.2-aks"  # type: ignore[union-attr]
    assert addon_version("1.34", "keda") is None  # the table gives none: no guess


def test_plan_date_is_injectable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert plan_date() == date.fromisoformat(TEST_PLAN_DATE)  # conftest pins it for every test
    monkeypatch.setenv(PLAN_DATE_ENV, "2027-05-01")
    assert plan_date() == date(2027, 5, 1)
    monkeypatch.setenv(PLAN_DATE_ENV, "")
    assert plan_date() >= date(2026, 12, 1)  # empty: today
    monkeypatch.setenv(PLAN_DATE_ENV, "May 2027")
    with pytest.raises(ValueError, match="AKS_LLM_PLAN_DATE"):
        plan_date()


def test_the_plan_date_is_read_once_per_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A clock that turns midnight UTC between two reads: one program run reads it once, and the rules,
    the printed version summary and the budget's default start all use that one date (the plan keeps it)."""
    import config.plan_date

    readings = iter(
        [datetime(2026, 11, 30, 23, 59, 59, 999999, UTC), *[datetime(2026, 12, 1, tzinfo=UTC)] * 9]
    )
    calls: list[datetime] = []

    class Clock:
        @staticmethod
        def now(tz: object = None) -> datetime:
            calls.append(next(readings))
            return calls[-1]

    monkeypatch.delenv(PLAN_DATE_ENV)
    monkeypatch.setattr(config.plan_date, "datetime", Clock)
    run = run_with(
        tmp_path,
        "config:\n  aks-llm:location: swedencentral\n  aks-llm:cluster: {apiServer: {privateCluster: true}}\n"
        "  aks-llm:budget: {monthlyAmount: 10, contactEmails: [ops@example.com]}\n",
    )
    assert len(calls) == 1
    assert run.outputs["kubernetesVersion"]["planDate"] == "2026-11-30"
    budget = one(run, "azure-native:consumption:Budget").inputs
    assert budget["timePeriod"]["startDate"] == "2026-11-01T00:00:00Z"


def test_only_the_entry_points_read_the_plan_date() -> None:
    """``plan_date()`` is read by ``stack.loader.read_plan_date`` (``__main__`` calls it once per run) and,
    only when their caller passed no date, by ``check_rules`` and ``plan_stack``: a rule or component that
    read it again could judge another day."""
    calls = sorted(
        path.relative_to(ROOT).as_posix()
        for package in (*PROGRAM_PACKAGES, "__main__.py")
        for path in ([ROOT / package] if package.endswith(".py") else (ROOT / package).rglob("*.py"))
        if "plan_date()" in path.read_text(encoding="utf-8")
    )
    # tools/plan.py only validates the variable before the program runs (the value is not used)
    assert calls == [
        "config/plan_date.py",
        "planning/stack_plan.py",
        "rules/check.py",
        "stack/loader.py",
        "tools/plan.py",
    ]


def test_version_rule_on_the_plan_date(monkeypatch: pytest.MonkeyPatch) -> None:
    (p,) = problems(cluster(kubernetesVersion="1.33"))
    assert p.path == "cluster.kubernetesVersion" and "end of life on 2026-07-31" in p.message
    assert p.accepted == "a minor AKS creates on 2026-12-01: 1.35, 1.36, 1.37"
    assert parse(cluster(kubernetesVersion="1.33", tier="Premium", supportPlan="AKSLongTermSupport"))
    (p,) = problems(cluster(supportPlan="AKSLongTermSupport"))
    assert p.path == "cluster.supportPlan" and "Premium" in p.accepted
    assert parse({}).cluster.kubernetes_version == "1.36"
    monkeypatch.setenv(PLAN_DATE_ENV, "2027-07-01")  # the default itself past end of life
    (p,) = problems({})
    assert p.value == "1.36" and "2027-06-30" in p.message


def test_stacks_plan_on_a_supported_version_and_print_its_end_of_life() -> None:
    for stack in ("dev", "prod", "nap"):
        summary = planned(stack)[1].outputs["kubernetesVersion"]
        assert (summary["version"], summary["endOfLife"], summary["status"]) == ("1.36", "2027-06-30", "ok")
        assert summary["planDate"] == TEST_PLAN_DATE
        assert summary["managedAddons"]["ai-toolchain-operator"]["version"] == "0.6.0"
        assert "assumed" in summary["managedAddons"]["ai-toolchain-operator"]
        assert summary["managedAddons"]["keda"] == {"version": "2.19.0"}
    mc = one(planned("prod")[1], MC).inputs
    assert mc["kubernetesVersion"] == "1.36" and mc["supportPlan"] == "KubernetesOfficial"
    assert mc["sku"] == {"name": "Base", "tier": "Standard"}


def test_plan_cli_date_flag_warns_near_end_of_life(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PLAN_DATE_ENV)
    assert plan_main(["--stack", "dev", "--date", "2027-05-01"]) == 0
    out = capsys.readouterr().out
    assert (
        "Kubernetes 1.36 (tier Free, KubernetesOfficial): AKS end of life 2027-06-30 (plan date 2027-05-01)"
        in out
    )
    assert (
        "WARNING: Kubernetes 1.36 reaches its AKS end of life on 2027-06-30 (60 days after 2027-05-01)" in out
    )
    assert plan_main(["--stack", "dev", "--date", "tomorrow"]) == 2


# --- version drift --------------------------------------------------------------------------------


def test_cluster_ignores_its_version_and_a_separate_update_applies_changes() -> None:
    run = planned("prod")[1]
    mc = one(run, MC)
    assert set(mc.options["ignoreChanges"]) == set(CLUSTER_IGNORE_CHANGES)  # no autoscaled inline pool
    assert {"kubernetesVersion", "agentPoolProfiles[*].orchestratorVersion"} <= set(CLUSTER_IGNORE_CHANGES)
    (update,) = [r for r in by_type(run, TYPE_TOKEN) if r.name == "platform-cluster-kubernetes-version"]
    assert update.inputs["kubernetesVersion"] == "1.36"
    assert update.inputs["clusterName"] == mc.inputs["resourceName"]
    # after the cluster (implied by its clusterName input, so in dependencies rather than dependsOn)
    assert mc.urn in update.options["dependencies"]


def test_version_update_never_downgrades(monkeypatch: pytest.MonkeyPatch) -> None:
    assert needs_upgrade("1.36.3", "1.37") and not needs_upgrade("1.37.2", "1.37")
    assert not needs_upgrade("1.38.0", "1.37")  # auto-upgrade went past: nothing to do
    assert needs_upgrade("1.37.1", "1.37.2")
    calls: list[list[str]] = []

    class Done:
        def __init__(self, stdout: str) -> None:
            self.stdout = stdout

    def fake_run(cmd: list[str], **_: Any) -> Done:
        calls.append(cmd)
        return Done(json.dumps({"currentKubernetesVersion": current}))

    monkeypatch.setattr("components.version_update.subprocess.run", fake_run)
    provider = _AzAksUpgrade()
    step = {
        "target": "controlPlane",
        "pool": None,
        "command": ["az", "aks", "upgrade", "--control-plane-only"],
    }
    props = {"resourceGroupName": "rg", "clusterName": "aks", "kubernetesVersion": "1.37", "steps": [step]}
    assert provider.diff("id", {**props, "kubernetesVersion": "1.36"}, props).changes
    assert not provider.diff("id", props, props).changes
    current = "1.38.1"
    provider.update("id", {}, props)
    assert [c[2] for c in calls] == ["show"]  # already past: no upgrade
    current = "1.36.4"
    provider.update("id", {}, props)
    assert calls[-1] == step["command"]


# --- create-only pool fields, resource options, --diff --------------------------------------------


def test_create_only_fields_replace_the_pool_and_each_has_a_source() -> None:
    assert {"scaleSetPriority", "spotMaxPrice", "scaleSetEvictionPolicy", "osDiskSizeGB"} <= set(
        REPLACE_ON_CHANGES
    )
    assert {"availabilityZones", "osDiskType", "gpuProfile", "gpuInstanceProfile", "vmSize"} <= set(
        REPLACE_ON_CHANGES
    )
    assert "spot-node-pool.md line 39" in CREATE_ONLY_FIELDS["spotMaxPrice"]
    assert "line 68" in CREATE_ONLY_FIELDS["scaleSetEvictionPolicy"]
    assert "concepts-storage.md" in CREATE_ONLY_FIELDS["osDiskSizeGB"]
    assert all(
        s.startswith("assumption")
        for f, s in CREATE_ONLY_FIELDS.items()
        if f in {"availabilityZones", "osDiskType", "gpuProfile"}
    )
    doc = plan_document(*planned("prod"))
    pools = [r for r in doc["resources"] if r["type"] == AP]
    assert pools and all(r["options"]["replaceOnChanges"] == REPLACE_ON_CHANGES for r in pools)
    assert all(
        r["options"]["deleteBeforeReplace"] is True
        and r["options"]["ignoreChanges"] == ["count", "orchestratorVersion"]
        for r in pools
    )
    # every option key the engine acts on is in the document, SDK type aliases left out: the one alias
    # is the program's own, to the name the cluster had before the child-name convention
    mc = next(r for r in doc["resources"] if r["type"] == MC)
    assert set(mc["options"]) == {"ignoreChanges", "aliases"} | (
        {"dependsOn"} if "dependsOn" in mc["options"] else set()
    )
    assert mc["options"]["aliases"] == [mc["urn"].rsplit("::", 1)[0] + "::aks"]


def test_diff_reports_a_create_only_change_as_replace() -> None:
    base = plan_document(*planned("prod"))
    head = copy.deepcopy(base)
    pool = next(r for r in head["resources"] if r["type"] == AP and r["name"] == "platform-gpu-pools-a100sp")
    pool["inputs"]["osDiskSizeGB"] = 512
    pool["inputs"]["maxCount"] = 9  # an in-place update alongside
    other = next(r for r in head["resources"] if r["type"] == AP and r["name"] == "platform-gpu-pools-a100")
    other["inputs"]["maxCount"] = 5
    diff = diff_plans(base, head)
    changes = {c.name: c for c in diff.changed}
    od, spot = changes["platform-gpu-pools-a100"], changes["platform-gpu-pools-a100sp"]
    assert spot.replace and spot.replace_fields == ["osDiskSizeGB"]
    assert not od.replace
    md = render_markdown(diff)
    assert "1 to change, 1 to replace" in md
    assert "**replace** (delete first, then create): `osDiskSizeGB`" in md


# --- one write at a time ----------------------------------------------------------------------------


def test_cluster_writes_are_chained_one_after_another() -> None:
    run = planned("prod")[1]
    update = next(r for r in by_type(run, TYPE_TOKEN) if r.name == "platform-cluster-kubernetes-version")
    auto, node_os = (
        one(run, MAINT, "platform-cluster-aksManagedAutoUpgradeSchedule"),
        one(run, MAINT, "platform-cluster-aksManagedNodeOSUpgradeSchedule"),
    )
    od, sp = one(run, AP, "platform-gpu-pools-a100"), one(run, AP, "platform-gpu-pools-a100sp")
    chain = [update, auto, node_os, od, sp]
    for before, after in itertools.pairwise(chain):
        assert before.urn in after.options["dependsOn"], (before.name, after.name)


# --- cluster autoscaler ---------------------------------------------------------------------------


def test_autoscaler_units_per_the_arm_spec() -> None:
    for key in ("scaleDownUnneededTime", "scaleDownDelayAfterAdd", "maxNodeProvisionTime"):
        (p,) = problems(cluster(autoscaler={key: "600s"}))
        assert p.path == f"cluster.autoscaler.{key}"
        assert not problems_or_none(cluster(autoscaler={key: "15m"}))
    (p,) = problems(cluster(autoscaler={"scanInterval": "1m"}))
    assert p.path == "cluster.autoscaler.scanInterval"
    assert parse(cluster(autoscaler={"scanInterval": "20"})).cluster.autoscaler.scan_interval == "20"
    assert (scan_interval_seconds("20"), scan_interval_seconds("30s")) == ("20s", "30s")


def problems_or_none(extra: dict[str, Any]) -> list[Problem]:
    try:
        parse(extra)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def test_priority_expander_grows_on_demand_before_spot() -> None:
    run = planned("prod")[1]
    assert one(run, MC).inputs["autoScalerProfile"]["expander"] == "priority"
    cm = one(
        run, "kubernetes:core/v1:ConfigMap", "platform-gpu-pools-cluster-autoscaler-priority-expander"
    ).inputs
    assert (cm["metadata"]["name"], cm["metadata"]["namespace"]) == (
        PRIORITY_EXPANDER_CONFIG_MAP,
        "kube-system",
    )
    import yaml

    priorities = yaml.safe_load(cm["data"]["priorities"])
    assert priorities == {20: ["^aks-a100-.*"], 10: ["^aks-a100sp-.*"], 1: [".*"]}
    assert cs.Expander.PRIORITY.value == "priority"
    # NAP clusters run no cluster autoscaler: no ConfigMap
    assert not [
        r for r in planned("nap")[1].resources if r.name.endswith("cluster-autoscaler-priority-expander")
    ]


# --- budget, Key Vault, system pool ---------------------------------------------------------------


BUDGET = {"monthlyAmount": 100, "contactEmails": ["ops@example.com"]}


def test_budget_start_date_azure_accepts() -> None:
    # the defaulted start is the plan date's month (conftest pins 2026-12-01), not the wall clock's
    budget = one(planned("dev")[1], "azure-native:consumption:Budget").inputs
    assert budget["timePeriod"]["startDate"] == "2026-12-01T00:00:00Z"
    assert parse({"budget": {**BUDGET, "startDate": "2026-12-01"}})
    assert parse({"budget": {**BUDGET, "startDate": "2027-12-01"}})  # 12 months ahead
    (p,) = problems({"budget": {**BUDGET, "startDate": "2027-01-01".replace("2027-01", "2028-01")}})
    assert p.path == "budget.startDate" and "more than 12 months" in p.message
    (p,) = problems({"budget": {**BUDGET, "startDate": "2026-11-01"}})
    assert "past period" in p.message and "remove startDate" in p.accepted


def test_closed_key_vault_refused_without_a_vnet_for_its_private_endpoint() -> None:
    (p,) = problems({"addons": {"keyVault": {"publicNetworkAccess": False}}})
    assert p.path == "addons.keyVault.publicNetworkAccess" and "without virtualNetwork" in p.message
    assert not problems_or_none(
        {"addons": {"keyVault": {"publicNetworkAccess": False}}, "virtualNetwork": {}}
    )


def test_system_pool_size_from_the_general_purpose_catalog() -> None:
    (p,) = problems(cluster(systemPool={"vmSize": "Standard_D4ds_v6"}))
    assert p.path == "cluster.systemPool.vmSize" and p.accepted.startswith("did you mean Standard_D4ds_v5")
    (p,) = problems(cluster(systemPool={"vmSize": "Standard_NC24ads_A100_v4"}))
    assert "a GPU SKU" in p.message
    cat = load_catalog()
    for name, sku in cat.system_skus.items():
        assert sku.vcpus >= 2 and sku.memory_gib >= 4 and sku.quota_family and "ddsv5" in sku.source.lower()
        assert name in cat.prices.entries and cat.prices.entries[name].source
    cfg = parse(cluster(systemPool={"vmSize": "Standard_D8ds_v5", "count": 2}))
    (row,) = [r for r in plan_stack(cfg, cat).quota if r.family == "standardDDSv5Family"]
    assert row.need == (2 + 1) * 8  # two nodes + one surge node (33 %), 8 vCPUs each
    from cost import estimate_cost

    system = next(r for r in estimate_cost(cfg, cat, []).to_dict()["rows"] if r["kind"] == "system")
    assert (system["sku"], system["pricePerHour"], system["minNodes"]) == ("Standard_D8ds_v5", 0.37, 2)


# --- device memory ----------------------------------------------------------------------------------


def test_h200_is_marked_unverified_in_the_plan(tmp_path: Path) -> None:
    h200 = load_catalog().sku("Standard_ND96isr_H200_v5")
    assert h200.memory_basis == "unverified" and "no public" in h200.memory_source
    a100 = load_catalog().sku("Standard_NC48ads_A100_v4")
    assert (a100.cuda_total_gib, a100.memory_basis) == (
        79.32,
        "measured",
    ) and "vllm-omni#276" in a100.memory_source
    run = run_with(
        tmp_path,
        """config:
  aks-llm:location: swedencentral
  aks-llm:cluster: {apiServer: {privateCluster: true}}
  aks-llm:gpuPools:
    - {name: h200, vmSize: Standard_ND96isr_H200_v5, onDemand: {min: 0, max: 1}}
  aks-llm:models:
    - {name: qwen, model: qwen2.5-72b-instruct, pool: h200, replicas: {min: 1}, scaleToZero: false}
""",
    )
    assert run.exit_code == 0
    (row,) = run.outputs["sizing"]
    assert row["deviceMemoryBasis"] == "unverified"
    assert any("qwen: sized on UNVERIFIED device memory for H200" in n for n in run.outputs["notes"])
