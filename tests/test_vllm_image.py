"""The pinned vLLM image against what the program runs in it and the drivers its GPU nodes get
(facts/vllm_image.py; the wheel's own code is run by the contract tier, tests/contract)."""

from __future__ import annotations

import dataclasses

from config import versions
from facts import vllm_image
from facts.vllm_image import DRIVER_PATHS, min_driver, paths_too_old, pinned_image
from renderers.vllm import HOME, VLLM_COMMAND, VLLM_UID, prestop_command
from tests.test_workloads import plan


def test_the_pinned_image_has_its_facts_read() -> None:
    image = pinned_image()  # KeyError: the pin moved without reading its Dockerfile
    assert f"v{image.version}" == versions.image("vllm").version
    assert versions.image("vllm").digest.startswith("sha256:") and len(versions.image("vllm").digest) == 71


def test_the_command_is_the_images_entrypoint_and_the_hook_runs_its_python3() -> None:
    image = pinned_image()
    assert VLLM_COMMAND == image.entrypoint == ("vllm", "serve")
    assert prestop_command(plan({"model": "qwen2.5-7b-instruct"}))[0] == "python3"
    assert image.python.startswith("3.")


def test_the_pod_user_is_not_the_images_and_resolves_from_the_environment() -> None:
    # The image's `vllm` user (UID 2000, GID 0) owns /home/vllm in the image; the pod runs as its own UID
    # (Checkov CKV_K8S_40: above 10000) with HOME on an emptyDir at the same path.
    assert VLLM_UID > 10000 and pinned_image().image_user_uid != VLLM_UID
    assert HOME == "/home/vllm"


def test_every_driver_path_runs_the_pinned_cuda() -> None:
    image = pinned_image()
    assert min_driver(image) == "580.65.06"  # CUDA 13.0
    assert {p.name for p in DRIVER_PATHS} == {"managed", "operator"}
    assert not paths_too_old(image), [p.name for p in paths_too_old(image)]


def test_a_cuda_newer_than_a_pools_driver_is_refused() -> None:
    future = dataclasses.replace(pinned_image(), cuda="13.9.0")
    vllm_image.MIN_DRIVER["13.9"] = "590.0.0"
    try:
        assert [p.name for p in paths_too_old(future)] == ["managed"]  # R580 < 590; operator 595 is newer
    finally:
        del vllm_image.MIN_DRIVER["13.9"]
