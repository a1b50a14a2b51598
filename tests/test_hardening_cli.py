"""The hardening classes through the real tool (issue 12): one program run per config class, and the
tool's own failure modes (unwritable targets, a directory as --config-file, a malformed --diff base,
Ctrl-C, a --manifests directory holding other files). Tool tests that do not need a real run use a
small recorded run, so they take milliseconds."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

import tools.plan as plan
from sizing.placement import SchedulingResult
from tools.mocks import ProgramRun, Recorded
from tools.plan import MANIFEST_INDEX, main
from tools.scheduling_check import SchedulingReport
from tools.stack_config import StackSettings

TOKEN = "hf_" + "Ab1" * 12  # shaped like a Hugging Face token (hf_ + 36 letters and digits)
BASE = "config:\n  aks-llm:location: swedencentral\n  aks-llm:cluster: {apiServer: {privateCluster: true}}\n"


def run_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--stack", "test", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def stack_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def outputs_of(tmp_path: Path) -> list[str]:
    """Every file below tmp_path but the stack file."""
    return sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name != "Pulumi.test.yaml"
    )


# --- one program run per config class ----------------------------------------------------------------


def test_yaml_class_an_unquoted_date_reaches_the_program_as_text_and_a_repeated_key_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = (
        "  aks-llm:budget: {monthlyAmount: 100, contactEmails: [ops@example.com], startDate: 2026-12-02}\n"
    )
    code, _, err = run_cli(tmp_path, capsys, "--config-file", stack_file(tmp_path, BASE + budget))
    assert code == 2
    assert "aks-llm:budget.startDate" in err and "'2026-12-02'" in err  # the text written, not a date
    code, _, err = run_cli(
        tmp_path,
        capsys,
        "--config-file",
        stack_file(tmp_path, BASE + "  aks-llm:prefix: a\n  aks-llm:prefix: b\n"),
    )
    assert code == 2 and "config.aks-llm:prefix: the key is repeated" in err


def test_number_class_an_infinite_price_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE + "  aks-llm:budget: {monthlyAmount: .inf, contactEmails: [ops@example.com]}\n"
    json_path = tmp_path / "plan.json"
    code, out, err = run_cli(
        tmp_path, capsys, "--config-file", stack_file(tmp_path, text), "--json", str(json_path)
    )
    assert code == 2 and "aks-llm:budget.monthlyAmount" in err and "finite" in err
    assert not json_path.exists() and out == ""


def test_token_class_a_token_never_reaches_stdout_stderr_or_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE + f"  aks-llm:hf_token: {TOKEN}\n  aks-llm:tags: {{note: 'see {TOKEN}'}}\n"
    text += f"  aks-llm:addons: {{hfToken: {TOKEN}}}\n"
    text += f"  aks-llm:models:\n  - {{name: m, model: phi-4, pool: x, hfToken: {TOKEN}}}\n"
    code, out, err = run_cli(
        tmp_path,
        capsys,
        "--config-file",
        stack_file(tmp_path, text),
        "--json",
        str(tmp_path / "out" / "plan.json"),
        "--manifests",
        str(tmp_path / "out" / "manifests"),
    )
    assert code == 2
    assert TOKEN not in out + err and TOKEN[3:15] not in out + err
    assert "pulumi config set --secret aks-llm:hfToken" in err
    for key in (
        "aks-llm:hf_token",
        "aks-llm:tags.note",
        "aks-llm:addons.hfToken",
        "aks-llm:models[0].hfToken",
    ):
        assert key in err, key
    assert outputs_of(tmp_path) == []


def test_accepted_but_wrong_class_an_inference_namespace_the_program_creates_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE + "  aks-llm:inference: {namespace: gpu-operator}\n"
    code, _, err = run_cli(tmp_path, capsys, "--config-file", stack_file(tmp_path, text))
    assert code == 2 and "aks-llm:inference.namespace" in err and "NVIDIA GPU Operator" in err


def test_message_class_a_100_kb_value_gives_a_short_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        BASE.replace("swedencentral", "x" * 100_000)
        + "  aks-llm:tags: {"
        + ", ".join(f"t{i}: v" for i in range(5000))
        + "}\n"
    )
    code, _, err = run_cli(tmp_path, capsys, "--config-file", stack_file(tmp_path, text))
    assert code == 2 and len(err) < 5000 and "aks-llm:location" in err and "aks-llm:tags" in err


# --- the tool itself (a small recorded run instead of the program) ---------------------------------


def _namespace(name: str) -> Recorded:
    inputs = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    return Recorded(
        urn=f"urn:ns:{name}",
        type="kubernetes:core/v1:Namespace",
        name=name,
        parent="",
        custom=True,
        inputs=inputs,
    )


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {"names": ["inference"], "outputs": {}}

    def run_stack(
        root: Path, stack: str, config_file: Path | None = None
    ) -> tuple[StackSettings, ProgramRun]:
        settings = StackSettings(
            project="aks-llm", stack=stack, source="Pulumi.test.yaml", config={}, secret_keys=[]
        )
        run = ProgramRun(
            exit_code=0, resources=[_namespace(n) for n in state["names"]], outputs=dict(state["outputs"])
        )
        return settings, run

    monkeypatch.setattr(plan, "run_stack", run_stack)
    # The faked run has no stack config: nothing to render or schedule (tools.scheduling_check).
    empty = SchedulingReport(SchedulingResult((), (), ()), ())
    monkeypatch.setattr(plan, "scheduling_report", lambda *_args: empty)
    return state


def test_a_json_target_that_is_a_directory_or_below_a_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_run: dict[str, Any]
) -> None:
    (tmp_path / "file").write_text("x")
    for target in (tmp_path, tmp_path / "file" / "plan.json"):
        code, out, err = run_cli(tmp_path, capsys, "--json", str(target))
        assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
        assert out == ""
    code, _, err = run_cli(tmp_path, capsys, "--manifests", str(tmp_path / "file"))
    assert code == 2 and "not a directory" in err


def test_a_config_file_that_is_a_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(tmp_path, capsys, "--config-file", str(tmp_path))
    assert code == 2 and "is a directory" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "base",
    [
        {"resources": [{"urn": 1}]},
        {"resources": [{"urn": "u", "type": "t", "name": "n", "inputs": "x"}]},
        {"resources": ["x"]},
        {"resources": [], "cost": {"rows": "x"}},
        [],
    ],
)
def test_a_malformed_diff_base_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_run: dict[str, Any], base: Any
) -> None:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(base))
    code, out, err = run_cli(tmp_path, capsys, "--diff", str(path))
    assert code == 2 and "is not a plan written by --json" in err and len(err.strip().splitlines()) == 1
    assert out == ""


def test_a_non_finite_number_in_the_plan_is_refused_by_the_json_writer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_run: dict[str, Any]
) -> None:
    fake_run["outputs"] = {"sizing": [{"model": "m", "weightsGiB": float("nan")}]}
    json_path = tmp_path / "plan.json"
    code, _, err = run_cli(tmp_path, capsys, "--json", str(json_path))
    assert code == 2 and "cannot be written as JSON" in err and not json_path.exists()


def test_ctrl_c_before_writing_ends_in_one_line_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake_run: dict[str, Any],
) -> None:
    def interrupted(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyboardInterrupt

    for target in ("run_stack", "kubernetes_manifests"):  # during the program, and after it ran
        with monkeypatch.context() as m:
            m.setattr(plan, target, interrupted)
            code, _, err = run_cli(
                tmp_path, capsys, "--json", str(tmp_path / "plan.json"), "--manifests", str(tmp_path / "m")
            )
        assert code == 130 and err.startswith("interrupted:") and len(err.strip().splitlines()) == 1
        assert outputs_of(tmp_path) == []


def test_ctrl_c_while_writing_is_held_until_every_file_is_whole(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake_run: dict[str, Any],
) -> None:
    fake_run["names"] = ["inference", "a", "b"]
    real = plan.write_atomic

    def signalled(path: Path, text: str) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered in the middle of the writes
        real(path, text)

    monkeypatch.setattr(plan, "write_atomic", signalled)
    code, _, err = run_cli(
        tmp_path, capsys, "--json", str(tmp_path / "plan.json"), "--manifests", str(tmp_path / "m")
    )
    assert code == 130 and err.startswith("interrupted:")
    json.loads((tmp_path / "plan.json").read_text())  # whole
    index = json.loads((tmp_path / "m" / MANIFEST_INDEX).read_text())
    assert len(index["files"]) == 3 and all(
        yaml.safe_load((tmp_path / "m" / f).read_text()) for f in index["files"]
    )
    assert not [p for p in (tmp_path / "m").iterdir() if p.name.endswith(".tmp")]


def test_manifests_refuse_a_directory_with_other_files_and_replace_only_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_run: dict[str, Any]
) -> None:
    target = tmp_path / "m"
    target.mkdir()
    (target / "mine.yaml").write_text("kind: ConfigMap\n")
    code, _, err = run_cli(tmp_path, capsys, "--manifests", str(target))
    assert code == 2 and "mine.yaml" in err and "did not write" in err
    assert sorted(p.name for p in target.iterdir()) == ["mine.yaml"]  # untouched, nothing added
    (target / "mine.yaml").unlink()

    fake_run["names"] = ["inference", "old"]
    code, out, _ = run_cli(tmp_path, capsys, "--stack", "prod", "--manifests", str(target))
    assert code == 0
    first = json.loads((target / MANIFEST_INDEX).read_text())
    assert first["stack"] == "prod" and len(first["files"]) == 2

    fake_run["names"] = ["inference"]
    code, out, _ = run_cli(tmp_path, capsys, "--manifests", str(target))
    assert code == 0
    stale = [f for f in first["files"] if "old" in f]
    assert f"Removed 1 manifests an earlier run wrote there: {stale[0]} (stack prod)" in out
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [MANIFEST_INDEX, *json.loads((target / MANIFEST_INDEX).read_text())["files"]]
    )
