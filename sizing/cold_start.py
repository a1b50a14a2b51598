"""A model's predicted cold start, from zero nodes to the first token, as a sum of ranged parts (pure).

Parts, each ``(low, high)`` seconds from the figures in ``facts.cold_start``:

- node: a new VM of the SKU's family, or a deallocated one started (Scale-down Mode ``Deallocate``);
- image: the runtime image's size over the pull throughput; 0 when the node kept it (deallocated);
- weights: the model's bytes over the chosen path's throughput (hub, Azure Files NFS, Blob stream,
  local NVMe);
- server: vLLM's compile and CUDA-graph capture, shorter with a persistent compile cache;
- check (Blob stream only): the pod's init container confirming the revision's marker blob.

``predict_seed`` is the seeding Job's time (hub download onto the Files share, upload to Blob); a
Blob-streaming pod's init container waits for the marker at most ``seed_wait_seconds`` of it.

The high end is the prediction the HTTP add-on waits for and the rules hold a configured wait against;
the low end is what a scale-down costs at least, so the KEDA cooldown never removes a replica sooner
(``sizing.workloads``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from facts import cold_start as f

PATH_LABELS: dict[f.WeightsPath, str] = {
    "hub": "Hugging Face hub download",
    "files-nfs": "Azure Files NFS share",
    "blob-stream": "Blob, Run:ai streamer",
    "local-nvme": "local NVMe cache",
}


@dataclass(frozen=True)
class Part:
    """One step of a cold start: seconds (low, high), the basis of its figures and how it was computed."""

    name: str
    low_s: float
    high_s: float
    basis: str
    detail: str


@dataclass(frozen=True)
class ColdStart:
    """A model's predicted cold start: its parts, and the weights path it assumes."""

    parts: tuple[Part, ...]
    weights_path: f.WeightsPath

    @property
    def low_seconds(self) -> int:
        return math.ceil(sum(p.low_s for p in self.parts))

    @property
    def high_seconds(self) -> int:
        return math.ceil(sum(p.high_s for p in self.parts))

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def text(self) -> str:
        """``node 300-600 s + image ... = 7-19 min``: the plan's line."""
        parts = " + ".join(f"{p.name} {p.low_s:.0f}-{p.high_s:.0f} s" for p in self.parts)
        return (
            f"{parts} = {self.low_seconds}-{self.high_seconds} s ({minutes(self.low_seconds)}-"
            f"{minutes(self.high_seconds)} min), weights via {PATH_LABELS[self.weights_path]}"
        )

    def row(self) -> dict[str, Any]:
        """The plan's JSON (``outputs.models.<name>.coldStart``)."""
        return {
            "lowSeconds": self.low_seconds,
            "highSeconds": self.high_seconds,
            "weightsPath": self.weights_path,
            "parts": {
                p.name: {"low": round(p.low_s), "high": round(p.high_s), "basis": p.basis, "detail": p.detail}
                for p in self.parts
            },
        }


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}".rstrip("0").rstrip(".")


def _over(size_mib: float, rate: f.Figure) -> tuple[float, float]:
    """Seconds to move ``size_mib`` at ``rate`` MiB/s: (at the high rate, at the low rate)."""
    return size_mib / rate.high, size_mib / rate.low


def weights_throughput(path: f.WeightsPath, share_gib: int) -> f.Figure:
    """MiB/s of a weights path (the Files share's from its provisioned size)."""
    if path == "files-nfs":
        return f.files_premium_mib_per_s(share_gib)
    return {
        "hub": f.HUB_MIB_PER_S,
        "blob-stream": f.BLOB_STREAM_MIB_PER_S,
        "local-nvme": f.LOCAL_NVME_MIB_PER_S,
    }[path]


def predict(
    *,
    sku_name: str,
    weights_gib: float,
    path: f.WeightsPath,
    share_gib: int = 0,
    deallocated: bool = False,
    compile_cache: bool = False,
) -> ColdStart:
    """The cold start of one replica on a node from zero.

    ``deallocated``: the pool restarts a stopped VM (its OS disk kept the image; its temporary NVMe
    did not survive, so ``local-nvme`` is refused: the caller picks another path). ``share_gib``: the
    provisioned size of the Files share (``files-nfs`` only).
    """
    if deallocated and path == "local-nvme":
        raise ValueError("a deallocated node's temporary NVMe is wiped: no local weights after a restart")
    streamed = path == "blob-stream"  # the pod's init container (azure-cli image) checks the marker first
    if deallocated:
        node = f.NODE_DEALLOCATED_SECONDS
        node_part = Part("node", node.low, node.high, node.basis, "deallocated VM started: " + node.source)
        image = Part("image", 0, 0, "sourced", "kept on the deallocated node's OS disk (scale-down-mode.md)")
    else:
        family, node = f.node_family(sku_name)
        node_part = Part("node", node.low, node.high, node.basis, f"new {family} VM: {node.source}")
        pull = f.IMAGE_PULL_MIB_PER_S
        gib = f.IMAGE_GIB.high + (f.SEED_IMAGE_GIB.high if streamed else 0)
        lo, hi = _over(gib * 1024, pull)
        detail = f"{gib:g} GiB at {pull.low:.0f}-{pull.high:.0f} MiB/s"
        image = Part("image", lo, hi, pull.basis, detail)
    rate = weights_throughput(path, share_gib)
    lo, hi = _over(weights_gib * 1024, rate)
    where = f"{PATH_LABELS[path]}" + (f" of {share_gib} GiB" if path == "files-nfs" else "")
    weights = Part(
        "weights",
        lo,
        hi,
        rate.basis,
        f"{weights_gib:.1f} GiB from {where} at {rate.low:.0f}-{rate.high:.0f} MiB/s",
    )
    server_fig = f.SERVER_START_CACHED_SECONDS if compile_cache else f.SERVER_START_SECONDS
    server = Part("server", server_fig.low, server_fig.high, server_fig.basis, server_fig.source)
    if not streamed:
        return ColdStart((node_part, image, weights, server), path)
    c = f.WEIGHTS_CHECK_SECONDS
    check = Part(
        "check", c.low, c.high, c.basis, "the revision's marker blob, before vLLM starts: " + c.source
    )
    return ColdStart((node_part, image, check, weights, server), path)


@dataclass(frozen=True)
class SeedTime:
    """The seeding Job's predicted time (low, high) and how it was computed."""

    low_s: float
    high_s: float
    detail: str


SEED_WAIT_MARGIN = 1.5  # a Blob-streaming pod waits for the seed this much longer than its prediction


def predict_seed(weights_gib: float, share_gib: int) -> SeedTime:
    """A model's seeding Job from start to marker: its pod's start and image pulls, the hub download onto
    the model's Files share (the slower of the two rates), the upload to Blob read back from the share."""
    share = f.files_premium_mib_per_s(share_gib)
    mib = weights_gib * 1024
    pull = f.IMAGE_PULL_MIB_PER_S
    images = (f.IMAGE_GIB.high + f.SEED_IMAGE_GIB.high) * 1024
    start = f.SEED_START_SECONDS
    hub, up = f.HUB_MIB_PER_S, f.BLOB_UPLOAD_MIB_PER_S
    down_rate = (min(hub.low, share.low), min(hub.high, share.high))
    up_rate = (min(up.low, share.low), min(up.high, share.high))
    low = start.low + images / pull.high + mib / down_rate[1] + mib / up_rate[1]
    high = start.high + images / pull.low + mib / down_rate[0] + mib / up_rate[0]
    detail = (
        f"start {start.low:.0f}-{start.high:.0f} s, images at {pull.low:.0f}-{pull.high:.0f} MiB/s, "
        f"{weights_gib:.1f} GiB down at {down_rate[0]:.0f}-{down_rate[1]:.0f} MiB/s and up at "
        f"{up_rate[0]:.0f}-{up_rate[1]:.0f} MiB/s (all assumed)"
    )
    return SeedTime(low, high, detail)


def seed_wait_seconds(seed: SeedTime) -> int:
    """How long a Blob-streaming pod's init container waits for the seed before it fails, naming the Job
    to look at: the seed's high end with a margin, in whole minutes."""
    return math.ceil(seed.high_s * SEED_WAIT_MARGIN / 60) * 60
