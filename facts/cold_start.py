"""Public figures behind the predicted cold start (``sizing.cold_start``): one home each, with its basis.

Every figure is a ``(low, high)`` range and carries a ``basis``: ``sourced`` (a public document or
measurement, named in ``source``), ``measured`` (a calibration run of this program, with its command) or
``assumed`` (no public figure exists; the reasoning is in ``source``). No GPU machine was available when
these were written, so nothing here is ``measured`` yet.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

Basis = Literal["sourced", "measured", "assumed"]


@dataclass(frozen=True)
class Figure:
    """A range (low, high) in the unit its name says, with its basis and source."""

    low: float
    high: float
    basis: Basis
    source: str


# --- a GPU node from zero -------------------------------------------------------------------------------

_NC_A100_QUESTION = (
    'public AKS user question "Is a 5-10 minute scale-out expected for NC96ads_A100_v4?" (quoted in issue 24)'
)

# VM allocated and booted, node joined and Ready, the GPU driver (AKS-installed or GPU Operator) loaded
# and the device plugin advertising GPUs. Families are matched on the SKU name, first match wins.
NODE_SECONDS_BY_FAMILY: tuple[tuple[str, str, Figure], ...] = (
    (
        "NC A100 v4",
        r"^Standard_NC\d+ads_A100_v4$",
        Figure(300, 600, "sourced", _NC_A100_QUESTION),
    ),
    (
        "NCads H100 v5",
        r"^Standard_NC\d+adi?s_H100_v5$",
        Figure(300, 720, "assumed", "as NC A100 v4 (same generation of host), +2 min for the larger driver"),
    ),
    (
        "ND (8 GPUs, InfiniBand)",
        r"^Standard_ND",
        Figure(
            420,
            900,
            "assumed",
            "8-GPU hosts with InfiniBand drivers: the program's former fixed 900 s as the upper end",
        ),
    ),
    (
        "small NC/NV (T4, V100, A10)",
        r"^Standard_N[CV]",
        Figure(240, 600, "assumed", "1-4 GPU hosts: a CPU node's few minutes plus the GPU driver's load"),
    ),
)
# A deallocated VM of a Scale-down Mode `Deallocate` pool is started, not created: its OS disk (and the
# container images on it) is kept (learn.microsoft.com/azure/aks/scale-down-mode: "faster operation
# speeds, as your deployment uses cached images"; read at MicrosoftDocs/azure-aks-docs
# articles/aks/scale-down-mode.md). Microsoft publishes no start time for GPU VMs.
NODE_DEALLOCATED_SECONDS = Figure(
    120, 360, "assumed", "VM start + boot + kubelet re-registration, no provisioning (scale-down-mode.md)"
)


def node_family(sku_name: str) -> tuple[str, Figure]:
    """The SKU's family and the seconds a new node of it takes (the broadest family when none matches)."""
    for family, pattern, figure in NODE_SECONDS_BY_FAMILY:
        if re.match(pattern, sku_name):
            return family, figure
    return NODE_SECONDS_BY_FAMILY[-1][0], NODE_SECONDS_BY_FAMILY[-1][2]


# --- image pull -----------------------------------------------------------------------------------------

IMAGE_GIB = Figure(10, 10, "assumed", "vllm/vllm-openai and KAITO's preset images: about 10 GiB compressed")
# Registry to node, layers extracted: Docker Hub / MCR to an Azure VM, decompression included.
IMAGE_PULL_MIB_PER_S = Figure(35, 200, "assumed", "registry download plus layer extraction on the OS disk")
# The azure-cli image (versions.yaml ``weights-seed``): the seeding Job's steps and the init container of
# every Blob-streaming vLLM pod, which waits for the revision's marker blob before vLLM starts.
SEED_IMAGE_GIB = Figure(0.5, 0.5, "assumed", "mcr.microsoft.com/azure-cli: Azure Linux, Python and the CLI")
# That init container's one pass: ``az login`` with the federated token and ``az storage blob exists``
# (the CLI's Python start-up twice, two calls to Entra ID and Blob).
WEIGHTS_CHECK_SECONDS = Figure(5, 30, "assumed", "az login + az storage blob exists (CLI start-up, 2 calls)")

# --- weights --------------------------------------------------------------------------------------------

WeightsPath = Literal["hub", "files-nfs", "blob-stream", "local-nvme"]

HUB_MIB_PER_S = Figure(
    40, 250, "assumed", "Hugging Face to Azure: 40 MiB/s the program's conservative floor, 250 MiB/s typical"
)
# Run:ai Model Streamer from Blob. KAITO's model-mirror proposal streamed 61 GiB onto 2 x A100 in 16 s
# (about 3.8 GiB/s, distributed streaming at tensor parallel 2); Run:ai's own figure is Llama-3-8B
# (about 15 GiB) from object storage in about 5 s. The low end assumes a single reader and a VM NIC
# well below those hosts'.
BLOB_STREAM_MIB_PER_S = Figure(
    500,
    3900,
    "sourced",
    "KAITO model-mirror proposal: 61 GiB in 16 s on 2 x A100 (high); 500 MiB/s single-reader floor assumed",
)
# The seeding Job's upload (az storage blob upload-batch from the model's Files share): Azure CLI's default
# of 2 parallel connections per blob (azure-cli 2.73.0 storage ``--max-connections``), a system-pool node.
BLOB_UPLOAD_MIB_PER_S = Figure(30, 200, "assumed", "az storage blob upload-batch, 2 connections per blob")
# The seeding Job's start: scheduling on the system pool and the pulls of the vLLM image (its download
# step) and the azure-cli image, on a node that has neither.
SEED_START_SECONDS = Figure(30, 60, "assumed", "Job pod scheduled on the system pool, init containers start")
# Azure publishes no throughput for the VMs' temporary NVMe disks.
LOCAL_NVME_MIB_PER_S = Figure(1000, 3000, "assumed", "Azure publishes no throughput for temporary NVMe disks")


def files_premium_mib_per_s(provisioned_gib: int) -> Figure:
    """Premium (provisioned v1) Azure Files throughput of a share of ``provisioned_gib``.

    learn.microsoft.com/azure/storage/files/understanding-billing (provisioned v1 model): throughput
    MiB/s = 100 + ceil(0.04 x GiB) + ceil(0.06 x GiB), reads and writes together (high); the earlier
    egress-only form 60 + ceil(0.06 x GiB) is the low end for a read-only load.
    """
    high = 100 + math.ceil(0.04 * provisioned_gib) + math.ceil(0.06 * provisioned_gib)
    low = 60 + math.ceil(0.06 * provisioned_gib)
    return Figure(
        low,
        high,
        "sourced",
        "Azure Files provisioned v1: 100 + ceil(0.04 x GiB) + ceil(0.06 x GiB) MiB/s (understanding-billing)",
    )


# --- server start ---------------------------------------------------------------------------------------

# vLLM after the weights are in GPU memory: torch.compile, CUDA graph capture, KV cache allocation.
SERVER_START_SECONDS = Figure(
    60,
    300,
    "assumed",
    "vLLM torch.compile + CUDA graph capture of a cold cache (the former 300 s engine start)",
)
# The same with the compile cache (VLLM_CACHE_ROOT, TORCHINDUCTOR_CACHE_DIR, TRITON_CACHE_DIR) kept on
# persistent storage: the graphs are still captured, the compilation is loaded.
SERVER_START_CACHED_SECONDS = Figure(
    30,
    300,
    "assumed",
    "compiled artifacts read from the persistent cache, graphs captured (low); the first start after a new "
    "pin or config compiles afresh (high)",
)
