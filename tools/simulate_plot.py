"""The simulated day as a picture (matplotlib, imported by ``tools.simulate --plot`` only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: write files only

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator


def plot(doc: dict[str, Any], out: Path) -> None:
    """Per model demand vs served capacity and replicas; then the GPU nodes per pool and $/h."""
    series = doc["series"]
    hours = [m / 60 for m in series["minute"]]
    names = list(series["models"])
    rows = len(names) + 2
    fig, axes = plt.subplots(rows, 1, figsize=(11, 2.4 * rows), sharex=True)
    shift = doc["utcOffsetMinutes"] / 60
    for ax, name in zip(axes, names, strict=False):
        s = series["models"][name]
        ax.plot(hours, s["demand"], label="demand (concurrent requests)", color="tab:blue")
        ax.plot(hours, s["served"], label="served", color="tab:green", linestyle="--")
        ax.set_ylabel("requests")
        ax.set_title(f"{name}", loc="left", fontsize=10)
        twin = ax.twinx()
        twin.step(hours, s["desiredReplicas"], where="post", color="tab:orange", label="desired replicas")
        twin.step(hours, s["readyReplicas"], where="post", color="tab:red", label="ready replicas")
        twin.set_ylabel("replicas")
        twin.yaxis.set_major_locator(MaxNLocator(integer=True))
        twin.set_ylim(bottom=0, top=max(1, *s["desiredReplicas"]) + 0.5)
        lines = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=7, ncol=4)
    ax = axes[-2]
    for pool, counts in series["nodes"].items():
        ax.step(hours, counts, where="post", label=pool)
    ax.set_ylabel("GPU nodes")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=7, ncol=4)
    ax = axes[-1]
    ax.plot(hours, series["hourly"], color="tab:purple")
    ax.set_ylabel("USD / h")
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"hour of the day ({doc['timezone']}, UTC{shift:+g})")
    ax.set_xticks(range(0, 25, 2))
    fig.suptitle(
        f"stack {doc['stack']}: a simulated Wednesday (15 s steps); day {doc['costOfTheDay']:,.0f} USD",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
