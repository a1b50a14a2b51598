"""A missing chart is an environment problem, said once with its own exit code, and `make charts`
prepares a machine: copy mode from a folder, pull mode against a recorded repository index served on
localhost (issue 20 item 3)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.catalog import load_catalog
from renderers.helm_values import ReleaseSpec, release_specs
from tests.conftest import ROOT
from tests.policy_fixtures import stack_config as stack_config_of
from tools import charts
from tools.plan import main

SHARED = ROOT.parent / "shared" / "charts"


@pytest.fixture
def no_charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No chart folder, an empty cache, and every repository unreachable."""
    import helm_python

    monkeypatch.setenv(charts.CHARTS_ENV, str(tmp_path / "no-charts"))
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "cache"))

    def offline(*args: object, **kwargs: object) -> dict[str, str]:
        raise helm_python.HelmRepoError("network unreachable")

    monkeypatch.setattr(helm_python, "pull", offline)
    return tmp_path


def test_a_missing_chart_is_one_environment_error_with_its_own_exit_code(
    no_charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: "invalid stack config ... Fix the value(s)", 9 problems on the NAP stack, among them
    "GPU node group ... gets no device plugin" (a consequence) and the chart blamed on gpuPools."""
    target = no_charts / "plan.json"
    assert main(["--stack", "nap", "--json", str(target)]) == charts.EXIT_ENVIRONMENT == 3
    err = capsys.readouterr().err
    specs = release_specs(stack_config_of("nap"), load_catalog())
    assert err.startswith(f"error: {len(specs)} Helm chart(s) the plan renders are not on this machine")
    assert "invalid stack config" not in err and "gets no" not in err and "gpuPools" not in err
    assert "gpu-operator v26.7.0 (release gpu-operator): not in " in err and "network unreachable" in err
    assert "make charts" in err and not target.exists()


def test_gpu_software_is_blamed_on_the_nodepools_in_nap_mode() -> None:
    specs = release_specs(stack_config_of("nap"), load_catalog())
    assert {s.config_path for s in specs if s.chart_key in ("gpu-operator", "nvidia-device-plugin")} == {
        "nodeProvisioning.nodePools"
    }


def test_the_chart_names_are_those_the_program_installs() -> None:
    names = {
        s.chart_key: s.chart
        for stack in ("dev", "prod", "nap")
        for s in release_specs(stack_config_of(stack), load_catalog())
    }
    assert {k: v for k, v in charts.CHART_NAMES.items() if k in names} == names
    assert {s.chart_key for s in charts.pinned_specs()} == set(charts.CHART_NAMES)


def _fake_charts(folder: Path) -> None:
    for spec in charts.pinned_specs():
        tree = folder / f"{spec.chart_key}-{spec.version}"
        (tree / "templates").mkdir(parents=True)
        (tree / "Chart.yaml").write_text(f"apiVersion: v2\nname: {spec.chart}\nversion: {spec.version}\n")


def test_make_charts_copies_every_pinned_chart_into_the_cache(
    no_charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = no_charts / "from"
    _fake_charts(source)
    assert charts.main(["--from", str(source)]) == 0
    out = capsys.readouterr().out
    for spec in charts.pinned_specs():
        assert (charts.cached_chart(spec) / "Chart.yaml").is_file()
        assert f"{spec.chart} {spec.version}: copied to " in out
        assert charts.chart_source(spec) == charts.cached_chart(spec)  # the plan finds it there


def test_make_charts_names_every_chart_the_folder_lacks(
    no_charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = no_charts / "from"
    _fake_charts(source)
    shutil.rmtree(source / "gpu-provisioner-0.4.3")
    assert charts.main(["--from", str(source)]) == 3
    err = capsys.readouterr().err
    assert "gpu-provisioner 0.4.3" in err and "gpu-operator" not in err


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/charts is not here")
def test_the_plan_runs_on_charts_copied_by_make_charts(
    no_charts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert charts.main(["--from", str(SHARED)]) == 0
    assert main(["--stack", "dev"]) == 0


@pytest.fixture
def recorded_repository(tmp_path: Path) -> Iterator[str]:
    """tests/data/chart-repo/index.yaml served on localhost, next to the chart it lists (packaged here)."""
    import helm_python

    repo, tiny = tmp_path / "repo", tmp_path / "tiny"
    (tiny / "templates").mkdir(parents=True)
    (tiny / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 1.2.3\n")
    repo.mkdir()
    helm_python.package(tiny, destination=repo)
    shutil.copy(ROOT / "tests" / "data" / "chart-repo" / "index.yaml", repo / "index.yaml")
    handler = functools.partial(_QuietHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        del format, args


def test_make_charts_pulls_from_the_repository(
    recorded_repository: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "cache"))
    spec = ReleaseSpec("tiny", "tiny", "tiny", "1.2.3", recorded_repository, "default")
    (line,) = charts.prepare_charts(None, [spec])
    assert line.startswith(f"tiny 1.2.3: pulled from {recorded_repository} into ")
    assert (charts.cached_chart(spec) / "Chart.yaml").is_file()
    (again,) = charts.prepare_charts(None, [spec])  # kept, not pulled again
    assert again.startswith("tiny 1.2.3: already in ")
    missing = ReleaseSpec("tiny", "tiny", "tiny", "9.9.9", recorded_repository, "default")
    with pytest.raises(charts.ChartsMissing) as info:
        charts.prepare_charts(None, [missing])
    assert "tiny 9.9.9" in info.value.render()
