"""Typed, validated access to the data files in ``config/catalog/`` (GPU SKUs, models, prices).

Pure Python: no Pulumi imports. ``load_catalog()`` parses each YAML file once per process.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

import yaml

CATALOG_DIR = Path(__file__).parent / "catalog"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MIG_NAME = re.compile(r"^(\d)g\.(\d+)gb$")
_T = TypeVar("_T")


@dataclass(frozen=True)
class MigProfile:
    """One NVIDIA MIG profile of a GPU type (e.g. ``1g.10gb``)."""

    name: str
    compute_slices: int
    memory_gb: int
    instances_per_gpu: int
    aks_gpu_instance_profile: str | None  # "MIG1g".."MIG7g", None when AKS has no enum for it
    # What sizing uses (GiB): the slice's CUDA total per gpu-memory.yaml; set per SKU's GPU model.
    memory_gib: float = 0.0
    memory_basis: str = ""  # measured | derived | unverified
    memory_source: str = ""


INTERCONNECTS = frozenset({"none", "pcie", "nvlink"})


@dataclass(frozen=True)
class GpuPerformance:
    """Datasheet peaks of one SKU's GPU board and the link between its GPUs (gpu-performance.yaml)."""

    board: str  # e.g. "A100 80GB PCIe"
    hbm_gb_per_s: float  # memory bandwidth, decimal GB/s
    dense_16bit_tflops: float  # dense tensor-core bf16 (fp16 where no bf16) TFLOP/s
    interconnect: str  # none | pcie | nvlink
    interconnect_gb_per_s: float  # datasheet figure, both directions together
    source: str  # the board's datasheet figures
    interconnect_source: str


@dataclass(frozen=True)
class GpuSku:
    """An Azure GPU VM size."""

    name: str
    vcpus: int
    memory_gib: int
    gpu_count: int
    gpu_model: str
    gpu_memory_gb: int  # per GPU, decimal GB as Microsoft states it
    kaito_gpu_memory_gib: int | None  # total per SKU in KAITO's table; None when KAITO does not list it
    compute_capability: str
    bf16: bool
    mig_profiles: tuple[MigProfile, ...]
    nvme: bool
    local_disk_gib: int
    quota_family: str
    kaito_supported: bool
    retired: str | None
    source: str
    kaito_name: str | None = None  # KAITO's spelling of the name (ND96asr_v4 -> ND96asr_A100_v4)
    nvme_gib: int | None = None
    # Per GPU, GiB: the CUDA total vLLM budgets from (gpu-memory.yaml), with its basis and source.
    cuda_total_gib: float = 0.0
    memory_basis: str = ""  # measured | derived | unverified
    memory_source: str = ""
    # Peak figures for the roofline estimate (gpu-performance.yaml); None only before loading.
    performance: GpuPerformance | None = None

    def mig_profile(self, name: str) -> MigProfile | None:
        """The MIG profile ``name`` on this SKU's GPU (``3g.40gb``, or AKS's ``MIG3g``), or None."""
        return next((p for p in self.mig_profiles if name in (p.name, p.aks_gpu_instance_profile)), None)


@dataclass(frozen=True)
class SystemSku:
    """A CPU VM size for the system node pool."""

    name: str
    vcpus: int
    memory_gib: int
    quota_family: str
    source: str


@dataclass(frozen=True)
class ModelSpec:
    """Architecture and provenance of an open-weight model."""

    id: str
    hf_id: str
    kaito_preset: str | None
    kaito_file_size_gib: float | None
    gated: bool
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    parameters: int
    active_parameters: int
    context_length: int
    sliding_window: int | None
    sliding_layers: int
    weights_dtype: str
    source: str
    hidden_size: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None
    tie_word_embeddings: bool | None = None
    attention_pattern: str = ""
    architecture_verified: bool = False
    parameter_count_note: str = ""
    # The config.json keys the catalog's figures do not carry (architectures, model_type, rope, the
    # quantization_config of a pre-quantized checkpoint), with their source. The contract tier writes the
    # model's config.json from these and the figures above only (``hf_config_json``).
    hf_config: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    hf_config_source: str = ""


@dataclass(frozen=True)
class PriceEntry:
    """Hourly price of one VM size."""

    sku: str
    on_demand_per_hour: float
    spot_per_hour: float | None
    source: str = ""


@dataclass(frozen=True)
class DiskPrice:
    """Monthly price of one managed-disk size tier (a disk is billed at the smallest tier that holds it)."""

    tier: str  # e.g. "Premium SSD P15"
    size_gib: int
    per_month: float
    source: str


@dataclass(frozen=True)
class PriceTable:
    """Dated, unverified price snapshot; always print ``as_of`` and ``source`` with a figure."""

    currency: str
    region: str
    as_of: str
    source: str
    verified: bool
    entries: Mapping[str, PriceEntry]
    system_pool_note: str
    origin: str = "catalog"  # "catalog" (the committed table) or the local override file's path
    # Managed OS disk tiers, smallest first: what a Scale-down Mode ``Deallocate`` pool keeps (cost.estimate).
    managed_disks: tuple[DiskPrice, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """Everything in ``config/catalog/``."""

    skus: Mapping[str, GpuSku]
    system_skus: Mapping[str, SystemSku]
    models: Mapping[str, ModelSpec]
    prices: PriceTable

    def sku(self, name: str) -> GpuSku:
        """The GPU SKU ``name``; KeyError with suggestions if unknown."""
        if name not in self.skus:
            raise KeyError(_unknown("GPU SKU", name, self.skus))
        return self.skus[name]

    def model(self, id: str) -> ModelSpec:
        """The model ``id``; KeyError with suggestions if unknown."""
        if id not in self.models:
            raise KeyError(_unknown("model", id, self.models))
        return self.models[id]


def closest_names(value: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates similar to ``value`` (case-insensitive), best first."""
    by_lower: dict[str, str] = {}
    for c in candidates:
        by_lower.setdefault(c.lower(), c)
    matches = difflib.get_close_matches(value.lower(), list(by_lower), n=n, cutoff=0.5)
    return [by_lower[m] for m in matches]


def did_you_mean(value: str, candidates: Iterable[str], *, best_only: bool = False) -> str:
    """ "did you mean A, B? " (only the best match with ``best_only``) to lead an ``accepted`` text, or ""."""
    near = closest_names(value, candidates, n=1 if best_only else 3)
    return f"did you mean {', '.join(near)}? " if near else ""


def _unknown(kind: str, value: str, known: Iterable[str]) -> str:
    hint = closest_names(value, known)
    return f"unknown {kind} {value!r}" + (f"; did you mean {', '.join(hint)}?" if hint else "")


# --- validation helpers -------------------------------------------------------------------------


class _Entry:
    """A YAML mapping with exact-key checking and typed getters; errors name the file and entry."""

    def __init__(
        self, file: str, where: str, data: object, required: set[str], optional: frozenset[str] = frozenset()
    ):
        self.file, self.where = file, where
        if not isinstance(data, dict):
            self.fail(f"expected a mapping, got {type(data).__name__}")
        self.data: dict[str, object] = data
        missing, extra = required - data.keys(), data.keys() - required - optional
        if missing:
            self.fail(f"missing keys {sorted(missing)}")
        if extra:
            self.fail(f"unknown keys {sorted(str(k) for k in extra)}")

    def fail(self, msg: str) -> NoReturn:
        raise ValueError(f"{self.file}: {self.where}: {msg}")

    def get(self, key: str, typ: type[_T], *, nullable: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and nullable:
            return None
        ok = isinstance(value, typ) and not (typ is not bool and isinstance(value, bool))
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            self.fail(f"{key!r} must be {typ.__name__}{' or null' if nullable else ''}, got {value!r}")
        return value

    def positive(self, key: str, *, nullable: bool = False) -> Any:
        value = self.get(key, int, nullable=nullable)
        if value is not None and value <= 0:
            self.fail(f"{key!r} must be > 0, got {value}")
        return value


def _read(name: str) -> tuple[str, dict[str, Any]]:
    path = CATALOG_DIR / name
    with path.open(encoding="utf-8") as f:
        data = yaml.load(f, Loader=_Loader)  # safe loaders only
    if not isinstance(data, dict):
        raise ValueError(f"{name}: top level must be a mapping")
    return name, data


def _section(file: str, data: dict[str, Any], key: str) -> dict[str, Any]:
    section = data.get(key)
    if not isinstance(section, dict) or not section:
        raise ValueError(f"{file}: {key!r} must be a non-empty mapping")
    return section


# --- per-file parsers ---------------------------------------------------------------------------


def _mig_tables(file: str, tables: dict[str, Any]) -> dict[str, tuple[MigProfile, ...]]:
    out: dict[str, tuple[MigProfile, ...]] = {}
    for key, raw in tables.items():
        t = _Entry(file, f"mig_tables.{key}", raw, {"source", "profiles"})
        t.get("source", str)
        profiles = []
        for i, p_raw in enumerate(t.get("profiles", list)):
            p = _Entry(
                file,
                f"mig_tables.{key}.profiles[{i}]",
                p_raw,
                {"name", "instances_per_gpu", "aks_gpu_instance_profile"},
            )
            name = p.get("name", str)
            m = _MIG_NAME.match(name) or p.fail(f"bad MIG profile name {name!r}")
            aks = p.get("aks_gpu_instance_profile", str, nullable=True)
            if aks is not None and aks != f"MIG{m[1]}g":
                p.fail(f"aks_gpu_instance_profile {aks!r} does not match {name!r}")
            profiles.append(MigProfile(name, int(m[1]), int(m[2]), p.positive("instances_per_gpu"), aks))
        out[key] = tuple(profiles)
    return out


_SKU_KEYS = {
    "vcpus",
    "memory_gib",
    "gpu_count",
    "gpu_model",
    "gpu_memory_gb",
    "compute_capability",
    "mig_table",
    "nvme",
    "local_disk_gib",
    "nvme_gib",
    "quota_family",
    "retired",
    "kaito",
    "source",
}


def _gpu_sku(file: str, name: str, raw: object, mig: dict[str, tuple[MigProfile, ...]]) -> GpuSku:
    e = _Entry(file, f"gpu_skus.{name}", raw, _SKU_KEYS)
    cc = e.get("compute_capability", str)
    if not re.fullmatch(r"\d+\.\d", cc):
        e.fail(f"compute_capability {cc!r} is not like '8.0'")
    table = e.get("mig_table", str, nullable=True)
    if table is not None and table not in mig:
        e.fail(f"unknown mig_table {table!r}")
    kaito_name, kaito_mem = None, None
    if e.data["kaito"] is not None:
        k = _Entry(file, f"gpu_skus.{name}.kaito", e.data["kaito"], {"name", "total_gpu_memory_gib"})
        kaito_name, kaito_mem = k.get("name", str), k.positive("total_gpu_memory_gib")
    retired = e.get("retired", str, nullable=True)
    if retired is not None and not re.fullmatch(r"\d{4}-\d\d-\d\d", retired):
        e.fail(f"retired {retired!r} is not an ISO date")
    return GpuSku(
        name=name,
        vcpus=e.positive("vcpus"),
        memory_gib=e.positive("memory_gib"),
        gpu_count=e.positive("gpu_count"),
        gpu_model=e.get("gpu_model", str),
        gpu_memory_gb=e.positive("gpu_memory_gb"),
        kaito_gpu_memory_gib=kaito_mem,
        compute_capability=cc,
        bf16=float(cc) >= 8.0,
        mig_profiles=mig[table] if table else (),
        nvme=e.get("nvme", bool),
        local_disk_gib=e.positive("local_disk_gib"),
        quota_family=e.get("quota_family", str),
        kaito_supported=kaito_name is not None,
        retired=retired,
        source=e.get("source", str),
        kaito_name=kaito_name,
        nvme_gib=e.positive("nvme_gib", nullable=True),
    )


def _skus(file: str, data: dict[str, Any]) -> tuple[dict[str, GpuSku], dict[str, SystemSku]]:
    extra = data.keys() - {"mig_tables", "gpu_skus", "system_skus"}
    if extra:
        raise ValueError(f"{file}: unknown top-level keys {sorted(extra)}")
    mig = _mig_tables(file, _section(file, data, "mig_tables"))
    gpu = {n: _gpu_sku(file, n, raw, mig) for n, raw in _section(file, data, "gpu_skus").items()}
    system = {}
    for n, raw in _section(file, data, "system_skus").items():
        e = _Entry(file, f"system_skus.{n}", raw, {"vcpus", "memory_gib", "quota_family", "source"})
        system[n] = SystemSku(
            n, e.positive("vcpus"), e.positive("memory_gib"), e.get("quota_family", str), e.get("source", str)
        )
    return gpu, system


_MODEL_KEYS = {
    "hf_id",
    "kaito_preset",
    "kaito_file_size_gib",
    "gated",
    "layers",
    "hidden_size",
    "attention_heads",
    "kv_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "tie_word_embeddings",
    "parameters",
    "active_parameters",
    "context_length",
    "sliding_window",
    "sliding_layers",
    "attention_pattern",
    "weights_dtype",
    "architecture_verified",
    "parameter_count_note",
    "source",
}
_MODEL_OPTIONAL_KEYS = frozenset({"hf_config", "hf_config_source"})
WEIGHT_DTYPES = frozenset({"fp32", "bf16", "fp16", "fp8", "int8", "int4", "awq", "gptq", "mxfp4"})


def _model(file: str, mid: str, raw: object) -> ModelSpec:
    e = _Entry(file, f"models.{mid}", raw, _MODEL_KEYS, _MODEL_OPTIONAL_KEYS)
    spec = ModelSpec(
        id=mid,
        hf_id=e.get("hf_id", str),
        kaito_preset=e.get("kaito_preset", str, nullable=True),
        kaito_file_size_gib=e.get("kaito_file_size_gib", float, nullable=True),
        gated=e.get("gated", bool),
        layers=e.positive("layers"),
        attention_heads=e.positive("attention_heads"),
        kv_heads=e.positive("kv_heads"),
        head_dim=e.positive("head_dim"),
        parameters=e.positive("parameters"),
        active_parameters=e.positive("active_parameters"),
        context_length=e.positive("context_length"),
        sliding_window=e.positive("sliding_window", nullable=True),
        sliding_layers=e.get("sliding_layers", int),
        weights_dtype=e.get("weights_dtype", str),
        source=e.get("source", str),
        hidden_size=e.positive("hidden_size"),
        intermediate_size=e.positive("intermediate_size"),
        vocab_size=e.positive("vocab_size"),
        tie_word_embeddings=e.get("tie_word_embeddings", bool),
        attention_pattern=e.get("attention_pattern", str),
        architecture_verified=e.get("architecture_verified", bool),
        parameter_count_note=e.get("parameter_count_note", str),
        hf_config=MappingProxyType(e.get("hf_config", dict, nullable=True) or {}),
        hf_config_source=e.get("hf_config_source", str, nullable=True) or "",
    )
    if bool(spec.hf_config) != bool(spec.hf_config_source):
        e.fail("hf_config and hf_config_source must be set together")
    if spec.hf_config.keys() & _HF_FIGURE_KEYS:
        repeated = sorted(spec.hf_config.keys() & _HF_FIGURE_KEYS)
        e.fail(f"hf_config repeats figures the entry holds: {repeated}")
    if spec.weights_dtype not in WEIGHT_DTYPES:
        e.fail(f"weights_dtype {spec.weights_dtype!r} not in {sorted(WEIGHT_DTYPES)}")
    sliding = spec.sliding_window is not None
    if not 0 <= spec.sliding_layers < spec.layers or (spec.sliding_layers > 0) != sliding:
        e.fail("sliding_layers must be in [0, layers) and > 0 exactly when sliding_window is set")
    if spec.kv_heads > spec.attention_heads or spec.active_parameters > spec.parameters:
        e.fail("kv_heads > attention_heads or active_parameters > parameters")
    if (spec.kaito_preset is None) != (spec.kaito_file_size_gib is None):
        e.fail("kaito_preset and kaito_file_size_gib must be set together")
    return spec


# config.json key -> the catalog figure it is written from (``hf_config_json``).
_HF_FIGURES = {
    "num_hidden_layers": "layers",
    "hidden_size": "hidden_size",
    "num_attention_heads": "attention_heads",
    "num_key_value_heads": "kv_heads",
    "head_dim": "head_dim",
    "intermediate_size": "intermediate_size",
    "vocab_size": "vocab_size",
    "tie_word_embeddings": "tie_word_embeddings",
    "max_position_embeddings": "context_length",
}
_HF_FIGURE_KEYS = frozenset(_HF_FIGURES)
_HF_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def hf_config_json(spec: ModelSpec) -> dict[str, Any]:
    """The model's Hugging Face ``config.json`` as far as the catalog knows it: its figures under their
    config.json names, ``sliding_window`` where sliding-window layers exist, the checkpoint dtype, and
    ``hf_config``. Empty ``hf_config``: the catalog cannot describe the model to a loader."""
    if not spec.hf_config:
        return {}
    doc: dict[str, Any] = {key: getattr(spec, attr) for key, attr in _HF_FIGURES.items()}
    if spec.sliding_window is not None:
        doc["sliding_window"] = spec.sliding_window
    doc["torch_dtype"] = _HF_DTYPES.get(spec.weights_dtype, "bfloat16")  # hf_config may say otherwise
    return {**doc, **dict(spec.hf_config)}


def _prices(file: str, data: dict[str, Any], known: set[str]) -> PriceTable:
    top = _Entry(
        file,
        "top level",
        data,
        {"currency", "region", "as_of", "verified", "source", "system_pool_note", "entries"},
        frozenset({"managed_disks"}),
    )
    as_of = top.get("as_of", str)
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", as_of):
        top.fail(f"as_of {as_of!r} is not an ISO date")
    entries = {}
    for sku, raw in _section(file, data, "entries").items():
        e = _Entry(file, f"entries.{sku}", raw, {"on_demand_per_hour", "spot_per_hour", "source"})
        if sku not in known:
            e.fail(_unknown("SKU", sku, known))
        entries[sku] = PriceEntry(
            sku,
            e.get("on_demand_per_hour", float),
            e.get("spot_per_hour", float, nullable=True),
            e.get("source", str),
        )
    return PriceTable(
        currency=top.get("currency", str),
        region=top.get("region", str),
        as_of=as_of,
        source=top.get("source", str),
        verified=top.get("verified", bool),
        entries=MappingProxyType(entries),
        system_pool_note=top.get("system_pool_note", str),
        managed_disks=_disk_prices(file, data.get("managed_disks") or {}),
    )


def _disk_prices(file: str, data: object) -> tuple[DiskPrice, ...]:
    """``managed_disks``: tier -> size_gib, per_month, source; returned smallest first."""
    if not isinstance(data, dict):
        raise ValueError(f"{file}: managed_disks: expected a mapping, got {type(data).__name__}")
    out = []
    for tier, raw in data.items():
        e = _Entry(file, f"managed_disks.{tier}", raw, {"size_gib", "per_month", "source"})
        out.append(
            DiskPrice(str(tier), e.get("size_gib", int), e.get("per_month", float), e.get("source", str))
        )
    return tuple(sorted(out, key=lambda d: d.size_gib))


MEMORY_BASES = frozenset({"measured", "derived", "unverified"})


@dataclass(frozen=True)
class GpuMemory:
    """One GPU model's CUDA total and its MIG slices' sizing memory (GiB), each with basis and source."""

    cuda_total_gib: float
    basis: str
    source: str
    mig: Mapping[str, tuple[float, str, str]]  # profile -> (GiB, basis, source)
    margin_gib: float


def _gpu_memory(file: str, data: dict[str, Any]) -> dict[str, GpuMemory]:
    top = _Entry(file, "top level", data, {"derive_margin_gib", "gpus", "mig"})
    margin = top.get("derive_margin_gib", float)
    mig_raw = data["mig"] or {}
    out = {}
    for model, raw in _section(file, data, "gpus").items():
        e = _Entry(file, f"gpus.{model}", raw, {"cuda_total_gib", "basis", "nvidia_smi_mib", "source"})
        basis = e.get("basis", str)
        if basis not in MEMORY_BASES:
            e.fail(f"basis {basis!r} not in {sorted(MEMORY_BASES)}")
        e.positive("nvidia_smi_mib", nullable=True)
        slices = {}
        for name, m_raw in (mig_raw.get(model) or {}).items():
            m = _Entry(file, f"mig.{model}.{name}", m_raw, {"lgip_gib", "source"})
            slices[name] = (
                round(m.get("lgip_gib", float) - margin, 2),
                "derived",
                m.get("source", str) + f", minus {margin} GiB",
            )
        out[model] = GpuMemory(e.get("cuda_total_gib", float), basis, e.get("source", str), slices, margin)
    for model in mig_raw:
        if model not in out:
            raise ValueError(f"{file}: mig.{model}: no such GPU under gpus")
    return out


def _with_memory(sku: GpuSku, memory: Mapping[str, GpuMemory], file: str) -> GpuSku:
    mem = memory.get(sku.gpu_model)
    if mem is None:
        raise ValueError(f"{file}: gpus: no entry for GPU model {sku.gpu_model!r} (of {sku.name})")
    profiles = []
    for p in sku.mig_profiles:
        same_memory = next((v for k, v in mem.mig.items() if k.split(".")[1] == p.name.split(".")[1]), None)
        gib, basis, source = (
            mem.mig.get(p.name)
            or same_memory
            or (
                (
                    round(p.memory_gb * 10**9 / 2**30 - mem.margin_gib, 2),
                    "derived",
                    f"no public -lgip figure for {p.name} on {sku.gpu_model}: {p.memory_gb} decimal GB, "
                    f"minus {mem.margin_gib} GiB",
                )
            )
        )
        profiles.append(dataclasses.replace(p, memory_gib=gib, memory_basis=basis, memory_source=source))
    return dataclasses.replace(
        sku,
        cuda_total_gib=mem.cuda_total_gib,
        memory_basis=mem.basis,
        memory_source=mem.source,
        mig_profiles=tuple(profiles),
    )


def _performance(file: str, data: dict[str, Any], skus: Mapping[str, GpuSku]) -> dict[str, GpuPerformance]:
    top = _Entry(file, "top level", data, {"gpus", "skus"})
    boards = {}
    for board, raw in _section(file, data, "gpus").items():
        e = _Entry(file, f"gpus.{board}", raw, {"hbm_gb_per_s", "dense_16bit_tflops", "source"})
        bw, tf = e.get("hbm_gb_per_s", float), e.get("dense_16bit_tflops", float)
        if bw <= 0 or tf <= 0:
            e.fail("hbm_gb_per_s and dense_16bit_tflops must be > 0")
        boards[board] = (bw, tf, e.get("source", str))
    out = {}
    per_sku = _section(file, data, "skus")
    for name, raw in per_sku.items():
        e = _Entry(file, f"skus.{name}", raw, {"gpu", "interconnect", "interconnect_gb_per_s", "source"})
        if name not in skus:
            e.fail(_unknown("GPU SKU", name, skus))
        board = e.get("gpu", str)
        if board not in boards:
            e.fail(_unknown("GPU board", board, boards))
        if not board.startswith(skus[name].gpu_model):
            e.fail(f"board {board!r} is not a {skus[name].gpu_model!r} (skus.yaml gpu_model)")
        link = e.get("interconnect", str)
        if link not in INTERCONNECTS:
            e.fail(f"interconnect {link!r} not in {sorted(INTERCONNECTS)}")
        if (link == "none") != (skus[name].gpu_count == 1):
            e.fail(f"interconnect {link!r} with {skus[name].gpu_count} GPU(s): 'none' exactly on 1-GPU sizes")
        gbps = e.get("interconnect_gb_per_s", float)
        if gbps <= 0:
            e.fail("interconnect_gb_per_s must be > 0")
        bw, tf, src = boards[board]
        out[name] = GpuPerformance(board, bw, tf, link, gbps, src, e.get("source", str))
    missing = sorted(set(skus) - set(out))
    if missing:
        top.fail(f"skus: no entry for {', '.join(missing)}")
    return out


@functools.cache
def load_catalog() -> Catalog:
    """Load and validate ``config/catalog/*.yaml`` (cached); ValueError names the bad file and entry."""
    gpu, system = _skus(*_read("skus.yaml"))
    mem_file, mem_data = _read("gpu-memory.yaml")
    memory = _gpu_memory(mem_file, mem_data)
    gpu = {name: _with_memory(sku, memory, mem_file) for name, sku in gpu.items()}
    perf = _performance(*_read("gpu-performance.yaml"), skus=gpu)
    gpu = {name: dataclasses.replace(sku, performance=perf[name]) for name, sku in gpu.items()}
    file, data = _read("models.yaml")
    if data.keys() != {"models"}:
        raise ValueError(f"{file}: top level must hold exactly 'models'")
    models = {mid: _model(file, mid, raw) for mid, raw in _section(file, data, "models").items()}
    prices = _prices(*_read("prices.yaml"), known=set(gpu) | set(system))
    return Catalog(MappingProxyType(gpu), MappingProxyType(system), MappingProxyType(models), prices)
