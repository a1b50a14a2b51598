"""The first `make plan` on a fresh machine says what it is doing (issue 20 item 7), and `make charts`
runs the chart tool."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()


def _recipe(target: str) -> list[str]:
    lines = MAKEFILE.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        body.append(line.strip())
    return body


@pytest.mark.parametrize("target", ["$(VENV)/.installed", "$(CHECKOV_VENV)/.installed"])
def test_every_install_step_says_what_it_does_and_shows_pips_progress(target: str) -> None:
    body = _recipe(target)
    assert body[0].startswith('@echo "==> setup: ') and body[-1].startswith('@echo "==> setup: ')
    installs = [line for line in body if "pip install" in line]
    assert installs and all("--quiet" not in line and " -q " not in line for line in installs)


def test_the_checkov_estimate_is_a_measured_figure() -> None:
    assert re.search(r"Measured \d{4}-\d{2}-\d{2} into a fresh venv", MAKEFILE)
    assert "about 20 s" not in MAKEFILE


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_charts_runs_the_chart_tool() -> None:
    def dry(*args: str) -> str:
        return subprocess.run(
            ["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    assert "-m tools.charts --from ../shared/charts" in dry("charts", "FROM=../shared/charts")
    assert dry("charts").strip().endswith("-m tools.charts")
