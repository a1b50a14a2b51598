"""See what the catalog offers: ``python -m tools.catalog models|skus|mig|prices|versions [--json]``.

models: parameters, context, KAITO preset and the smallest GPU SKU each fits at the default context;
skus: GPUs, memory as the driver reports it, MIG profiles, quota family, price and its date;
mig: every MIG profile per GPU SKU; prices: the dated price table; versions: the AKS Kubernetes
calendar with its add-on versions, and the pinned images and charts (docs/catalog.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from config import versions
from config.catalog import Catalog, GpuSku, ModelSpec, load_catalog
from config.schema import WorkloadConfig
from facts.aks_versions import load_aks_calendar
from sizing.memory import ModelArch
from sizing.model_sizing import default_max_model_len, size_model
from sizing.nap import sizing_order
from tools.tables import column_table

WORKLOAD = WorkloadConfig()  # the defaults a model gets when its stack says nothing about its workload


def default_context(spec: ModelSpec) -> int:
    """The max-model-len the program derives for a model with the default workload."""
    return default_max_model_len(
        WORKLOAD.p95_prompt_tokens, WORKLOAD.p95_completion_tokens, spec.context_length
    )


def smallest_sku(spec: ModelSpec, catalog: Catalog) -> GpuSku | None:
    """The SKU with the least GPU memory (then vCPUs) Azure still sells on which the model fits, whole GPUs,
    with the default workload; None when none does."""
    arch = ModelArch.from_spec(spec)
    length = default_context(spec)
    for sku in sorted((s for s in catalog.skus.values() if not s.retired), key=sizing_order):
        sizing = size_model(
            arch,
            sku,
            model_name=spec.id,
            weights_dtype=spec.weights_dtype,
            max_model_len=length,
            gpu_memory_utilization=WORKLOAD.gpu_memory_utilization,
        )
        if sizing.fits:
            return sku
    return None


def models(catalog: Catalog) -> list[dict[str, Any]]:
    rows = []
    for spec in sorted(catalog.models.values(), key=lambda m: m.id):
        sku = smallest_sku(spec, catalog)
        rows.append(
            {
                "id": spec.id,
                "hfId": spec.hf_id,
                "parameters": spec.parameters,
                "activeParameters": spec.active_parameters,
                "contextLength": spec.context_length,
                "weightsDtype": spec.weights_dtype,
                "gated": spec.gated,
                "kaitoPreset": spec.kaito_preset,
                "defaultMaxModelLen": default_context(spec),
                "smallestSku": sku.name if sku else None,
            }
        )
    return rows


def skus(catalog: Catalog) -> list[dict[str, Any]]:
    table = catalog.prices
    rows = []
    for sku in sorted(catalog.skus.values(), key=sizing_order):
        price = table.entries.get(sku.name)
        rows.append(
            {
                "name": sku.name,
                "gpus": sku.gpu_count,
                "gpuModel": sku.gpu_model,
                "gpuMemoryGB": sku.gpu_memory_gb,
                "cudaTotalGiB": sku.cuda_total_gib,
                "memoryBasis": sku.memory_basis,
                "computeCapability": sku.compute_capability,
                "vcpus": sku.vcpus,
                "memoryGiB": sku.memory_gib,
                "migProfiles": [p.name for p in sku.mig_profiles],
                "quotaFamily": sku.quota_family,
                "kaitoSupported": sku.kaito_supported,
                "onDemandPerHour": price.on_demand_per_hour if price else None,
                "spotPerHour": price.spot_per_hour if price else None,
                "priceAsOf": table.as_of if price else None,
                "retired": sku.retired,
            }
        )
    return rows


def mig(catalog: Catalog) -> list[dict[str, Any]]:
    return [
        {
            "sku": sku.name,
            "gpuModel": sku.gpu_model,
            "profile": p.name,
            "memoryGB": p.memory_gb,
            "cudaTotalGiB": p.memory_gib,
            "memoryBasis": p.memory_basis,
            "computeSlices": p.compute_slices,
            "instancesPerGpu": p.instances_per_gpu,
            "aksProfile": p.aks_gpu_instance_profile,
        }
        for sku in sorted(catalog.skus.values(), key=sizing_order)
        if not sku.retired
        for p in sku.mig_profiles
    ]


def prices(catalog: Catalog) -> dict[str, Any]:
    t = catalog.prices
    return {
        "currency": t.currency,
        "region": t.region,
        "asOf": t.as_of,
        "source": t.source,
        "verified": t.verified,
        "skus": [
            {"sku": e.sku, "onDemandPerHour": e.on_demand_per_hour, "spotPerHour": e.spot_per_hour}
            for e in sorted(t.entries.values(), key=lambda e: (e.on_demand_per_hour, e.sku))
        ],
    }


def versions_doc() -> dict[str, Any]:
    cal = load_aks_calendar()
    return {
        "kubernetes": {
            "asOf": cal.as_of,
            "minors": [
                {
                    "minor": m.minor,
                    "ga": m.ga.isoformat(),
                    "endOfLife": m.end_of_life.isoformat(),
                    "ltsEndOfLife": m.lts_end_of_life.isoformat(),
                    "addons": {name: a.version for name, a in sorted(m.addons.items())},
                }
                for m in cal.minors.values()
            ],
        },
        "images": {name: versions.image(name).reference for name in versions.image_names()},
        "charts": {
            name: {"version": versions.chart(name).version, "repository": versions.chart(name).repository}
            for name in versions.chart_names()
        },
    }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, int) and value >= 1_000_000_000:
        return f"{value / 1e9:.1f}B"
    if isinstance(value, int) and value >= 1_000_000:
        return f"{value / 1e6:.0f}M"
    return str(value)


def render(topic: str, doc: Any) -> str:
    """The plain-text table of one topic."""
    if topic == "models":
        cols = [
            ("id", "model"),
            ("parameters", "params"),
            ("contextLength", "context"),
            ("weightsDtype", "weights"),
            ("gated", "gated"),
            ("kaitoPreset", "KAITO preset"),
            ("defaultMaxModelLen", "default max-model-len"),
            ("smallestSku", "smallest SKU it fits"),
        ]
        return column_table(doc, cols, _cell, indent="")
    if topic == "skus":
        rows = [
            {**r, "gpu": f"{r['gpus']} x {r['gpuModel']}", "cuda": f"{r['cudaTotalGiB']:.2f}"} for r in doc
        ]
        cols = [
            ("name", "SKU"),
            ("gpu", "GPUs"),
            ("cuda", "GiB/GPU (driver)"),
            ("memoryBasis", "basis"),
            ("migProfiles", "MIG"),
            ("quotaFamily", "quota family"),
            ("onDemandPerHour", "USD/h"),
            ("spotPerHour", "spot USD/h"),
            ("priceAsOf", "price as of"),
            ("retired", "retired"),
        ]
        return column_table(rows, cols, _cell, indent="")
    if topic == "mig":
        cols = [
            ("sku", "SKU"),
            ("profile", "profile"),
            ("cudaTotalGiB", "GiB (driver)"),
            ("memoryBasis", "basis"),
            ("instancesPerGpu", "per GPU"),
            ("aksProfile", "AKS gpuInstanceProfile"),
        ]
        return column_table(doc, cols, _cell, indent="")
    if topic == "prices":
        verified = "verified" if doc["verified"] else "UNVERIFIED"
        head = f"Prices in {doc['currency']} for {doc['region']}, as of {doc['asOf']} ({verified}): "
        head += str(doc["source"])
        cols = [("sku", "SKU"), ("onDemandPerHour", "on-demand/h"), ("spotPerHour", "spot/h")]
        return head + "\n" + column_table(doc["skus"], cols, _cell, indent="")
    kube = doc["kubernetes"]
    rows = [{**m, "addons": [f"{k} {v}" for k, v in m["addons"].items()]} for m in kube["minors"]]
    cols = [
        ("minor", "Kubernetes"),
        ("ga", "GA"),
        ("endOfLife", "end of life"),
        ("ltsEndOfLife", "LTS end"),
        ("addons", "AKS add-ons"),
    ]
    lines = [
        f"AKS calendar as of {kube['asOf']}:",
        column_table(rows, cols, _cell, indent="  "),
        "Pinned images:",
    ]
    lines += [f"  {name}: {ref}" for name, ref in doc["images"].items()]
    lines.append("Pinned Helm charts:")
    lines += [f"  {name} {c['version']} ({c['repository']})" for name, c in doc["charts"].items()]
    return "\n".join(lines)


TOPICS: dict[str, Callable[[Catalog], Any]] = {
    "models": models,
    "skus": skus,
    "mig": mig,
    "prices": prices,
    "versions": lambda _catalog: versions_doc(),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.catalog", description=__doc__.splitlines()[0])
    parser.add_argument("topic", choices=sorted(TOPICS), help="what to list")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    doc = TOPICS[args.topic](load_catalog())
    try:
        print(json.dumps(doc, indent=2, sort_keys=True) if args.json else render(args.topic, doc))
    except BrokenPipeError:  # `... | head`: the reader left, nothing is wrong
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
