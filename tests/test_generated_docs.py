"""The config reference, the stack files' JSON Schema and Pulumi.yaml's declarations are generated
from config/schema/ (tools.gen_docs): current, complete, and accepting exactly what the program reads."""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from config.catalog import Catalog, load_catalog
from config.errors import Problem
from config.plan_date import PLAN_DATE_ENV
from config.schema import StackConfig
from config.strict_yaml import load_yaml
from planning.stack_plan import plan_stack
from rules.check import CONFIG_RULES, RULES, unique_names
from stack.loader import parse_stack_config
from tests.conftest import ROOT, TEST_PLAN_DATE, planned
from tools import gen_docs, rules_doc
from tools.mocks import run_program
from tools.plan import plan_document, plan_json
from tools.stack_config import stack_settings

STACKS = ["dev", "prod", "nap"]
MODELINE = "# yaml-language-server: $schema=./schema/stack-config.schema.json"
# Pulumi.yaml's `config:` before the declarations were generated (prefix with its default only).
OLD_PROJECT_CONFIG = """config:
  prefix:
    type: string
    default: llm
    description: Short naming prefix (2-10 lowercase letters/digits) used in every Azure resource name.
"""


def _models(model: type[BaseModel] = StackConfig) -> set[type[BaseModel]]:
    found = {model}
    for info in model.model_fields.values():
        sub = gen_docs.shape(info.annotation, info.metadata).model
        if sub is not None and sub not in found:
            found |= _models(sub)
    return found


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / gen_docs.JSON_SCHEMA).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _stack_doc(stack: str) -> dict[str, Any]:
    path = ROOT / f"Pulumi.{stack}.yaml"
    doc = load_yaml(path.read_bytes(), source=path.name)
    assert isinstance(doc, dict)
    return doc


def _errors(doc: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(doc)]


# --- current and complete -----------------------------------------------------------------------


def test_generated_files_are_current() -> None:
    assert gen_docs.main(["--check"]) == 0, "run `make docs` (venv/bin/python -m tools.gen_docs)"


def test_check_mode_fails_on_a_stale_file_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / gen_docs.PROJECT_FILE, tmp_path / gen_docs.PROJECT_FILE)
    assert gen_docs.main(["--root", str(tmp_path)]) == 0
    assert gen_docs.main(["--check", "--root", str(tmp_path)]) == 0
    reference = tmp_path / gen_docs.REFERENCE
    stale = reference.read_text(encoding="utf-8").replace("Standard_D4ds_v5", "Standard_D2ds_v5")
    reference.write_text(stale, encoding="utf-8")
    (tmp_path / gen_docs.JSON_SCHEMA).unlink()
    capsys.readouterr()
    assert gen_docs.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "docs/config-reference.md is stale" in err and "schema/stack-config.schema.json is stale" in err
    assert reference.read_text(encoding="utf-8") == stale and not (tmp_path / gen_docs.JSON_SCHEMA).exists()


def test_every_field_of_every_model_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _models()
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert len(_models()) > 30 and not missing


def test_the_reference_lists_every_key_with_type_default_allowed_values_and_description() -> None:
    text = (ROOT / gen_docs.REFERENCE).read_text(encoding="utf-8")
    rows = list(gen_docs.rows())
    assert len({r.key for r in rows}) == len(rows) >= sum(len(m.model_fields) for m in _models())
    for row in rows:
        assert f"| `{row.key}` |" in text
    by_key = {r.key: r for r in rows}
    vm_size = by_key["aks-llm:cluster.systemPool.vmSize"]
    assert (vm_size.type, vm_size.default) == ("string", '`"Standard_D4ds_v5"`')
    assert by_key["aks-llm:cluster.tier"].allowed == "`Standard`, `Free`, `Premium`"
    assert by_key["aks-llm:cluster.systemPool.count"].allowed == "1 to 100"
    assert by_key["aks-llm:models[].workload.gpuMemoryUtilization"].allowed == "> 0.3 and <= 0.98"
    assert by_key["aks-llm:prefix"].allowed == (
        "a prefix of 2-10 lowercase letters and digits starting with a letter, e.g. llm "
        "(`^[a-z][a-z0-9]{1,9}$`)"
    )
    assert by_key["aks-llm:location"].default == "required"
    assert by_key["aks-llm:cluster.apiServer"].default == '`{"privateCluster": true}`'
    assert "aks-llm:prices.skus.<name>.onDemandPerHour" in by_key
    assert "aks-llm:gpuPools[].spot.maxPrice" in by_key
    assert "USD per hour" in by_key["aks-llm:gpuPools[].spot.maxPrice"].description


def test_generation_is_deterministic_and_imports_no_pulumi() -> None:
    code = (
        "import json, sys, tools.gen_docs as g; t = g.generated(); "
        "assert not [m for m in sys.modules if m == 'pulumi' or m.startswith('pulumi.')]; "
        "print(json.dumps({str(k): v for k, v in t.items()}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {str(k): v for k, v in gen_docs.generated().items()}


# --- the JSON Schema ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stack_files_validate_and_name_the_schema(stack: str) -> None:
    assert (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8").splitlines()[0] == MODELINE
    assert _errors(_stack_doc(stack)) == []


def test_an_unknown_project_key_and_a_wrong_type_are_rejected() -> None:
    doc = _stack_doc("dev")
    typo = copy.deepcopy(doc)
    typo["config"]["aks-llm:gpuPool"] = []
    assert _errors(typo) == [
        f"['config']: 'aks-llm:gpuPool' does not match any of the regexes: '{gen_docs.OTHER_NAMESPACE}'"
    ]
    nested = copy.deepcopy(doc)
    nested["config"]["aks-llm:cluster"]["systemPol"] = {}
    assert any("'systemPol' was unexpected" in e for e in _errors(nested))
    wrong = copy.deepcopy(doc)
    wrong["config"]["aks-llm:cluster"]["systemPool"]["count"] = "three"
    assert _errors(wrong) == [
        "['config', 'aks-llm:cluster', 'systemPool', 'count']: 'three' is not of type 'integer'"
    ]
    out_of_range = copy.deepcopy(doc)
    out_of_range["config"]["aks-llm:cluster"]["tier"] = "Gold"
    assert len(_errors(out_of_range)) == 1
    boolean = copy.deepcopy(doc)
    boolean["config"]["aks-llm:cluster"]["systemPool"]["count"] = True  # YAML true is no integer here
    assert len(_errors(boolean)) == 1


def test_what_pulumi_stack_files_hold_besides_the_project_keys_is_accepted() -> None:
    doc: dict[str, Any] = {
        "secretsprovider": "azurekeyvault://vault.vault.azure.net/keys/pulumi",
        "encryptedkey": "ZW5jcnlwdGVk",
        "encryptionsalt": "v1:abc=:v1:def:ghi==",
        "environment": ["aks-llm/dev"],
        "config": {
            "aks-llm:location": "swedencentral",
            "aks-llm:hfToken": {"secure": "v1:c2VjcmV0LWNpcGhlcnRleHQ="},
            "azure-native:location": "swedencentral",
            "azure-native:subscriptionId": {"secure": "v1:c3Vi"},
            "pulumi:tags": {"team": "platform"},
        },
    }
    assert _errors(doc) == []
    assert _errors({**doc, "environment": {"imports": ["aks-llm/dev"]}}) == []
    assert _errors({"environment": ["aks-llm/dev"]}) == []  # config may come from the environment
    assert _errors({"encryptionsalt": "v1:x"}) != []  # without an environment: config and location
    plain = copy.deepcopy(doc)
    plain["config"]["aks-llm:hfToken"] = "hf_plaintexttoken"  # the program refuses a plain token too
    assert len(_errors(plain)) == 1
    assert len(_errors({**doc, "confg": {}})) == 1
    no_namespace = copy.deepcopy(doc)
    no_namespace["config"]["location"] = "swedencentral"  # Pulumi's ParseKey needs <namespace>:<name>
    assert len(_errors(no_namespace)) == 1


def test_the_token_is_never_in_the_generated_files_nor_in_the_parsed_config() -> None:
    token = "hf_" + "Zx9" * 12
    config = parse_stack_config(
        {
            "location": "swedencentral",
            "hfToken": token,
            "cluster": json.dumps({"apiServer": {"privateCluster": True}}),
        },
        source="test",
        secret_keys=["hfToken"],
    )
    assert isinstance(config.hf_token, SecretStr) and config.hf_token.get_secret_value() == token
    assert token not in repr(config) and token not in str(config) and token not in config.model_dump_json()
    for text in gen_docs.generated().values():
        assert token not in text and "hf_" not in text.replace("hf_...", "")


# --- Pulumi.yaml --------------------------------------------------------------------------------


def test_pulumi_yaml_declares_the_scalar_keys_as_pulumis_project_schema_allows() -> None:
    project = load_yaml((ROOT / "Pulumi.yaml").read_bytes(), source="Pulumi.yaml")
    decls = project["config"]
    assert set(decls) == {"aks-llm:location", "aks-llm:prefix"}
    for key, decl in decls.items():
        # pulumi/pulumi sdk/go/common/workspace/project.json: configTypeDeclaration has type (string,
        # integer, boolean, array), items, description, secret, default; project.go Validate (lines
        # 866-870 at 1b5949891b) refuses a type on another namespace's key.
        assert set(decl) <= {"type", "items", "description", "secret", "default"}
        assert decl["type"] in {"string", "integer", "boolean", "array"} and key.startswith("aks-llm:")
        field = StackConfig.model_fields[_field_name(key)]
        assert decl["description"] == " ".join((field.description or "").split())
        # A declaration without a default is required by the CLI: only for keys the schema requires.
        assert ("default" not in decl) == field.is_required()
        if "default" in decl:
            assert decl["default"] == field.default
    assert "hfToken" not in json.dumps(decls)  # optional secret without a default: not declarable


def _field_name(key: str) -> str:
    alias = key.removeprefix("aks-llm:")
    return next(n for n, f in StackConfig.model_fields.items() if f.alias == alias)


def test_a_declaration_without_a_default_adds_no_value_and_one_with_a_default_does() -> None:
    project = {
        "name": "aks-llm",
        "config": {
            "aks-llm:location": {"type": "string"},
            "aks-llm:prefix": {"type": "string", "default": "llm"},
        },
    }
    bare = stack_settings(project, {"config": {"aks-llm:tags": {"a": "b"}}}, stack="x", source="x")
    assert bare.config == {"aks-llm:prefix": "llm", "aks-llm:tags": '{"a": "b"}'}
    full = stack_settings(project, {"config": {"aks-llm:location": "eastus"}}, stack="x", source="x")
    assert full.config == {"aks-llm:prefix": "llm", "aks-llm:location": "eastus"}


def _old_files(stack: str) -> tuple[Any, Any]:
    """Pulumi.yaml and the stack file as they were before the generated declarations and modeline."""
    current = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    project = current.partition("\nconfig:\n")[0] + "\n" + OLD_PROJECT_CONFIG
    stack_text = (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8").removeprefix(MODELINE + "\n")
    return load_yaml(project.encode(), source="Pulumi.yaml"), load_yaml(stack_text.encode(), source=stack)


@pytest.mark.parametrize("stack", STACKS)
def test_the_stack_settings_are_those_of_the_old_project_file_and_stack_file(stack: str) -> None:
    current = load_yaml((ROOT / "Pulumi.yaml").read_bytes(), source="Pulumi.yaml")
    before = stack_settings(*_old_files(stack), stack=stack, source="s")
    assert stack_settings(current, _stack_doc(stack), stack=stack, source="s") == before


def test_the_dev_plan_is_identical_to_the_plan_with_the_old_project_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The --json plan of dev (AKS_LLM_PLAN_DATE=2026-12-01) with the generated declarations and the
    modeline equals the plan with the old Pulumi.yaml and stack file."""
    monkeypatch.setenv(PLAN_DATE_ENV, TEST_PLAN_DATE)
    settings, run = planned("dev")
    old = stack_settings(*_old_files("dev"), stack="dev", source=settings.source)
    old_run = run_program(
        ROOT / "__main__.py", project=old.project, stack="dev", config=old.config, secret_keys=old.secret_keys
    )
    assert plan_json(plan_document(old, old_run)) == plan_json(plan_document(settings, run))


def _keys(typed: Any) -> tuple[frozenset[str], frozenset[str]]:
    return typed.__required_keys__, typed.__required_keys__ | typed.__optional_keys__


def _conforms(value: dict[str, Any], typed: Any, where: str) -> None:
    required, known = _keys(typed)
    assert required <= value.keys(), f"{where}: missing {sorted(required - value.keys())}"
    assert value.keys() <= known, f"{where}: undeclared {sorted(value.keys() - known)}"


def test_the_output_types_are_what_the_program_outputs(stack_run: tuple[str, Any]) -> None:
    """Every output of each committed stack (and of the queue's worker, KAITO, NAP) is declared by its
    TypedDict in components/outputs.py, which docs/outputs.md is generated from; required keys are there."""
    from components import outputs as types

    stack, run = stack_run
    out = dict(run.outputs)
    _conforms(out, types.StackOutputs, stack)
    for name, model in out["models"].items():
        _conforms(model, types.ModelSummary, f"{stack} models.{name}")
    _conforms(out["kaito"], types.KaitoSummary, f"{stack} kaito")
    _conforms(out["triggerAuthentications"], types.TriggerAuthentications, f"{stack} triggerAuthentications")
    _conforms(out["kubernetesVersion"], types.KubernetesVersion, f"{stack} kubernetesVersion")
    _conforms(out["nodeProvisioning"], types.NodeProvisioningSummary, f"{stack} nodeProvisioning")
    for row in out["nodeProvisioning"]["kaitoNodes"]:
        _conforms(row, types.KaitoNodeRow, f"{stack} kaitoNodes")
    for row in out["quota"]:
        _conforms(row, types.QuotaNeed, f"{stack} quota")
    if "asyncQueue" in out:
        _conforms(out["asyncQueue"], types.AsyncQueueSummary, f"{stack} asyncQueue")
    if "queueWorker" in out:
        _conforms(out["queueWorker"], types.QueueWorkerSummary, f"{stack} queueWorker")
    addon_keys = _keys(types.AddonsSummary)[1]
    assert addon_keys <= _keys(types.StackOutputs)[1]  # the add-ons' keys are the stack's


def test_the_outputs_page_lists_every_output_type() -> None:
    from tools.outputs_doc import output_types

    text = (ROOT / "docs" / "outputs.md").read_text()
    for t in output_types((ROOT / "components" / "outputs.py").read_text()):
        assert f"## {t.name}\n" in text
        for key in t.keys:
            assert f"| `{key.name}` |" in text


# --- docs/rules.md ------------------------------------------------------------------------------


def test_every_rule_has_a_docstring_its_keys_and_a_row_in_the_rules_page() -> None:
    text = (ROOT / rules_doc.RULES_DOC).read_text(encoding="utf-8")
    rows = rules_doc.rule_rows()
    assert [r.name for r in rows] == [r.__name__ for r in rules_doc.checked_rules()]
    assert len(rows) == len(CONFIG_RULES) + len(RULES) + 1 > 40  # unique_names runs first, alone
    for row in rows:
        assert row.keys and row.refuses, row
        assert f"| `{row.name}` | {row.refuses.replace('|', chr(92) + '|')} |" in text


def test_an_undocumented_rule_stops_the_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_doc(config: StackConfig, _catalog: Catalog) -> Iterable[Problem]:
        yield Problem("cluster.tier", config.cluster.tier, "x", "y")

    rules = rules_doc.checked_rules()
    monkeypatch.setattr(rules_doc, "checked_rules", lambda: [*rules, no_doc])
    with pytest.raises(rules_doc.UndocumentedRule, match="no_doc has no docstring"):
        rules_doc.rules_markdown()


def test_rule_keys_are_read_from_the_problems_the_rule_builds() -> None:
    from rules import gpu, nap, queue

    assert rules_doc.rule_keys(queue.reply_queue_differs) == ["aks-llm:addons.asyncQueue.replyQueueName"]
    quota = rules_doc.rule_keys(gpu.quota_fits)
    assert quota == ["aks-llm:quota.families.<family>", "aks-llm:quota.spotVcpus"]
    assert rules_doc.rule_keys(gpu.mig_pools_start_from_a_node) == [  # a loop over literal keys
        "aks-llm:gpuPools[].onDemand.min",
        "aks-llm:gpuPools[].spot.min",
    ]
    assert rules_doc.rule_keys(nap.nodepool_skus) == [  # a module constant inside an f-string
        "aks-llm:nodeProvisioning.nodePools[].skuFamilies[]",
        "aks-llm:nodeProvisioning.nodePools[].skus[]",
    ]


def _key_pattern(key: str) -> re.Pattern[str]:
    text = re.escape(key.removeprefix("aks-llm:")).replace(r"\[\]", r"\[\d+\]")
    return re.compile(re.sub(r"<\w+>", r"[^.\\[\\]]+", text))


def test_every_rule_key_is_a_key_of_the_config_reference() -> None:
    """Each key is a path of the config reference (a `<x>` a key of a map and a trailing `[]` an item of a
    list, which the reference may list only as the map or list: `quota.families.<family>`)."""
    reference = [
        r.key.removeprefix("aks-llm:").replace(".<name>", ".x").replace("[]", "[0]") for r in gen_docs.rows()
    ]
    for row in rules_doc.rule_rows():
        for key in row.keys:
            text = re.escape(key.removeprefix("aks-llm:").removesuffix("[]")).replace(r"\[\]", r"\[0\]")
            text = re.sub(r"\\?\.<\w+>", r"(\\.[^.\\[\\]]+)?", text)
            pattern = re.compile(text + r"([.\[].*)?")
            assert any(pattern.fullmatch(k) for k in reference), (row.name, key)


def _config(stack: str, **changes: Any) -> StackConfig:
    values = {
        k.split(":", 1)[1]: v
        for k, v in _stack_doc(stack)["config"].items()
        if k.startswith("aks-llm:") and not (isinstance(v, dict) and "secure" in v)
    }
    for path, value in changes.items():
        node: Any = values
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("__")]
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
        node[last] = value
    return StackConfig.model_validate(values)


T4_POOL = {"name": "t4", "vmSize": "Standard_NC4as_T4_v3", "onDemand": {"min": 0, "max": 1}}
BROKEN: list[tuple[str, dict[str, Any]]] = [
    (
        "dev",
        {"gpuPools__0__vmSize": "Standard_NC4as_T4_v9", "prices__skus": {"Std_X": {"onDemandPerHour": 1}}},
    ),
    ("dev", {"models__0__pool": "nope", "models__0__model": "llama-9"}),
    ("dev", {"quota": {"families": {"nopeFamily": 8}}, "inference": {"namespace": "kube-system"}}),
    ("dev", {"addons__asyncQueue__replyQueueName": "requests", "addons__asyncQueue__queueName": "requests"}),
    ("dev", {"addons__asyncQueue__maxDeliveryCount": 1, "budget__startDate": "2020-01-01"}),
    ("dev", {"models__0__replicas": {"min": 3, "max": 1}, "cluster__systemPool__vmSize": "Standard_Q1"}),
    ("nap", {"nodeProvisioning__nodePools__0__skus": ["Standard_X"], "gpuPools": [T4_POOL]}),
    ("nap", {"nodeProvisioning__nodePools__1__skuFamilies": ["NCxx"], "cluster__autoscaler": {}}),
    ("prod", {"gpuPools__0__onDemand__min": 0}),  # a time zone is the schema's (config/timezones.py)
    ("prod", {"models__1__name": "phi4", "addons__keyVault__allowedIpRanges": ["10.0.0.0/8"]}),
    ("dev", {"models__0__workload__tpotMs": 0.01}),  # models_meet_targets
]


def test_the_keys_on_the_rules_page_are_those_the_rules_report() -> None:
    """Broken variants of the committed stacks: every problem a rule reports names a key its row lists."""
    catalog = load_catalog()
    keys = {r.name: [_key_pattern(k) for k in r.keys] for r in rules_doc.rule_rows()}
    fired: set[str] = set()
    day = date.fromisoformat(TEST_PLAN_DATE)
    for stack, changes in BROKEN:
        try:
            config = _config(stack, **changes)
        except ValidationError as error:  # a fixture the schema refuses would test nothing here
            raise AssertionError(f"{stack} {changes}: {error}") from None
        # two phases, as the loader runs them: the reference rules on the config, the others on the plan
        found: list[tuple[str, Problem]] = [("unique_names", p) for p in unique_names(config)]
        found += [(rule.__name__, p) for rule in CONFIG_RULES for p in rule(config, catalog)]
        if not found:
            plan = plan_stack(config, catalog, on=day)
            found += [(rule.__name__, p) for rule in RULES for p in rule(plan)]
        for name, problem in found:
            fired.add(name)
            assert any(p.fullmatch(problem.path) for p in keys[name]), (name, problem.path)
    assert len(fired) >= 15, sorted(fired)
