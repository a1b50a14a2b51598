"""The vLLM image the program runs, and the NVIDIA driver each kind of GPU node gets: pure data with
sources, checked against each other by tests/test_vllm_image.py (a pin whose CUDA needs a newer driver
than a pool gets fails there) and against the wheel by the contract tier (tests/contract).

Image facts, read at the release's source distribution on PyPI (vllm-0.31.0.tar.gz; the Dockerfile is
not in the wheel), ``docker/Dockerfile``:

- ``ARG CUDA_VERSION=13.0.3`` (line 25), ``ARG PYTHON_VERSION=3.12`` (line 26); the runtime stage
  installs it as ``/usr/bin/python3`` through update-alternatives (lines 810-811): the preStop hook's
  ``python3``;
- the ``vllm-openai`` target: ``ENTRYPOINT ["vllm", "serve"]`` (line 1391), as root (the default;
  ``vllm-openai-nonroot`` at line 1408 is a separate tag with ``USER vllm``);
- a ``vllm`` user, UID 2000, GID 0, home ``/home/vllm`` (lines 928-941); the program runs as its own
  UID (``renderers.vllm.VLLM_UID``, above 10000 for Checkov CKV_K8S_40) and sets ``USER``/``HOME``/the
  cache variables itself, with every writable path on a volume;
- ``runai-model-streamer[s3,gcs,azure]`` installed (line 1050, from versions.json).

``requirements/cuda.txt`` of the same sdist pins ``torch==2.13.0`` (the CUDA 13.0 build in the image).
"""

from __future__ import annotations

from dataclasses import dataclass

from config import versions


@dataclass(frozen=True)
class VllmImage:
    version: str
    cuda: str
    python: str
    torch: str
    entrypoint: tuple[str, ...]
    image_user_uid: int
    runai_streamer: bool
    source: str


IMAGES = {
    "0.31.0": VllmImage(
        version="0.31.0",
        cuda="13.0.3",
        python="3.12",
        torch="2.13.0",
        entrypoint=("vllm", "serve"),
        image_user_uid=2000,
        runai_streamer=True,
        source="vllm-0.31.0.tar.gz (PyPI sdist) docker/Dockerfile:25,26,810-811,928-941,1050,1391; "
        "requirements/cuda.txt (torch==2.13.0)",
    ),
}

# The oldest driver each CUDA major.minor runs on: CUDA 13.0 needs 580.65.06 or newer (NVIDIA CUDA Toolkit
# release notes, table "CUDA Toolkit and Corresponding Driver Versions", as quoted in issue 22; not fetched
# here; 580.65.06 is R580's first release, endoflife-date/endoflife.date#8037). Add a row with its source
# before pinning an image built for another CUDA.
MIN_DRIVER = {"13.0": "580.65.06"}
MIN_DRIVER_SOURCE = (
    "NVIDIA CUDA Toolkit release notes, table 'CUDA Toolkit and Corresponding Driver Versions' (via issue 22)"
)


@dataclass(frozen=True)
class DriverPath:
    """Where a GPU node's driver comes from, the oldest driver it may carry and the source."""

    name: str
    oldest: str
    newest: str
    source: str


DRIVER_PATHS = (
    DriverPath(
        "managed",  # driver: managed (AKS installs it; also KAITO's own nodes)
        oldest="580.126.09",
        newest="580.159.04",
        source="Azure/AgentBaker parts/common/components.json aks-gpu-cuda 580.126.09-20260126030251 "
        "(as quoted in Azure/AgentBaker#8810); Azure/AgentBaker#8811 (merged 2026-07-01) moved the managed "
        "CUDA driver to aks-gpu-cuda-lts 580.159.04-20260629214430 (R580 LTS, V100 kept); node images "
        "before it carry 580.126.09",
    ),
    DriverPath(
        "operator",  # driver: operator (the NVIDIA GPU Operator the program pins)
        oldest="595.91.07",
        newest="595.91.07",
        source=f"NVIDIA/gpu-operator {versions.chart('gpu-operator').version} deployments/gpu-operator/"
        "values.yaml:154 driver.version (../shared/charts/gpu-operator-v26.7.0)",
    ),
)


def driver_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def pinned_image() -> VllmImage:
    """The facts of the pinned vLLM image (versions.yaml); KeyError when they were not read for it."""
    return IMAGES[versions.image("vllm").version.removeprefix("v")]


def min_driver(image: VllmImage) -> str:
    """The oldest driver the image's CUDA runs on."""
    return MIN_DRIVER[".".join(image.cuda.split(".")[:2])]


def paths_too_old(image: VllmImage) -> list[DriverPath]:
    """The driver paths whose oldest driver is older than the image's CUDA needs."""
    need = driver_tuple(min_driver(image))
    return [p for p in DRIVER_PATHS if driver_tuple(p.oldest) < need]
