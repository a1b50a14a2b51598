"""The SKU advisor: which SKU, placement and runtime serve a model's workload for the least money.

    python -m tools.advise --model llama-3.1-8b-instruct --prompt-tokens 1024 --completion-tokens 512 \\
        --concurrency 32 [--ttft-ms 2000] [--tpot-ms 50] [--region swedencentral] [--json FILE]
    python -m tools.advise --custom arch.yaml ...     (the stack's `custom` mapping: hfId, parameters...)
    python -m tools.advise --stack prod               (every model of the stack, with its workload)

Every catalog SKU and placement (vLLM tp 1..n, each MIG profile, KAITO's node estimate) is fitted
(``sizing.model_sizing``), estimated from the roofline (``sizing.roofline``) and priced (the local price
file of ``python -m tools.prices refresh`` when there is one, else the catalog's dated table), and
ranked cheapest-that-meets-the-targets first (``sizing.advisor``). Prints the table and the stack
snippet of the winner; ``--json`` writes every row. A refused argument ends in one line and exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.catalog import Catalog, load_catalog
from config.errors import ConfigError
from config.prices import PriceBook, PriceFileError, local_book
from config.regions import AZURE_REGIONS
from config.schema import CustomArchitectureConfig, ModelConfig, PricesConfig
from config.strict_yaml import load_yaml
from sizing.advisor import AdvisorModel, AdvisorWorkload, Row, advise, stack_snippet
from tools.stack_config import StackFileError, load_stack_settings
from tools.tables import table

ROOT = Path(__file__).resolve().parents[1]
SHOWN = 15  # eligible rows printed (--all prints every row)


class AdviseError(Exception):
    """A refused argument or input file: one line, exit 2."""


def _money(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _num(value: float | int | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render(
    model: AdvisorModel, workload: AdvisorWorkload, rows: list[Row], book: PriceBook, *, all_rows: bool
) -> str:
    """The ranked table, what did not qualify, and the winner's stack snippet."""
    cur = book.table.currency
    w = workload
    targets = ", ".join(
        t
        for t in (
            f"TTFT <= {w.ttft_ms:g} ms" if w.ttft_ms else "",
            f"TPOT <= {w.tpot_ms:g} ms" if w.tpot_ms else "",
        )
        if t
    )
    lines = [
        f"{model.id}: p95 {w.prompt_tokens:,} prompt + {w.completion_tokens:,} completion tokens, "
        + (
            f"{w.requests_per_second:g} requests/s at the peak"
            if w.requests_per_second
            else f"{w.concurrency:,} concurrent at the peak"
        )
        + (f"; targets {targets}" if targets else "; no latency targets"),
        f"{book.describe()}",
        "Throughput and latency: roofline estimate (sizing/roofline.py, expect +-50 %); cost = whole nodes "
        "for the peak x node price.",
        "",
    ]
    shown = rows if all_rows else [r for r in rows if r.eligible][:SHOWN]
    header = [
        "#",
        "sku",
        "gpu",
        "runtime",
        "placement",
        "seqs",
        "batch",
        "TTFT ms",
        "TPOT ms",
        "tok/s/replica",
    ]
    header += ["replicas", "nodes", f"{cur}/h", f"spot {cur}/h", f"{cur}/M tok", "note"]
    body = [
        [
            str(i),
            r.sku,
            r.gpu,
            r.runtime,
            r.placement,
            str(r.max_num_seqs),
            _num(r.batch),
            _num(r.ttft_ms),
            _num(r.tpot_ms, 1),
            _num(r.tokens_per_s),
            _num(r.replicas),
            _num(r.nodes),
            _money(r.on_demand_per_hour),
            _money(r.spot_per_hour),
            _money(r.on_demand_per_million_tokens, 3),
            r.reason or ("" if r.kaito_supported else "no KAITO on this SKU"),
        ]
        for i, r in enumerate(shown, 1)
    ]
    lines += table(header, body)
    eligible = [r for r in rows if r.eligible]
    if not all_rows:
        missing = len(rows) - len(shown)
        fit = sum(1 for r in rows if r.fits)
        lines.append(
            f"  ({len(eligible)} placements qualify, {fit} of {len(rows)} fit; {missing} not shown: --all or "
            "--json lists every row with its reason)"
        )
    lines.append("")
    if not eligible:
        lines.append(
            "No placement fits and meets the targets: relax a target, shorten the lengths or quantize."
        )
        return "\n".join(lines)
    best = eligible[0]
    lines.append(
        f"Cheapest: {best.sku} {best.runtime} {best.placement}, {best.replicas} replica(s) of {best.batch} "
        f"sequences on {best.nodes} node(s), {_money(best.on_demand_per_hour)} {cur}/h on-demand"
        + (f", {_money(best.spot_per_hour)} {cur}/h spot" if best.spot_per_hour is not None else "")
        + ". Stack snippet (Pulumi.<stack>.yaml):"
    )
    snippet = stack_snippet(best, model, workload, load_catalog())
    doc = {"config": {f"aks-llm:{k}": v for k, v in snippet.items()}}
    lines += ["  " + line for line in yaml.safe_dump(doc, sort_keys=False).splitlines()]
    if model.gated:
        lines.append(
            "  # gated weights: pulumi config set --secret aks-llm:hfToken hf_... (licence accepted)"
        )
    return "\n".join(lines)


def _custom(path: Path) -> AdvisorModel:
    try:
        data = load_yaml(path.read_bytes(), source=str(path))
        model = ModelConfig.model_validate(
            {"name": "custom", "custom": CustomArchitectureConfig.model_validate(data), "pool": "advisor"}
        )
    except OSError as exc:
        raise AdviseError(f"--custom {path}: cannot read it ({exc.strerror})") from exc
    except ConfigError as exc:
        raise AdviseError(str(exc).splitlines()[0]) from exc
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise AdviseError(f"--custom {path}: {where}: {first['msg']}") from exc
    return AdvisorModel.from_config(model, load_catalog())


def _stack_models(stack: str) -> list[tuple[AdvisorModel, AdvisorWorkload]]:
    from tools.plan import stack_config

    try:
        config = stack_config(load_stack_settings(ROOT, stack))
    except (StackFileError, ConfigError) as exc:
        raise AdviseError(str(exc).splitlines()[0]) from exc
    catalog = load_catalog()
    out = []
    for m in config.models:
        if m.model is not None and m.model not in catalog.models:
            continue  # the plan refuses it with its own message
        work = AdvisorWorkload.of(m.workload)
        out.append((AdvisorModel.from_config(m, catalog), work))
    return out


def _book(catalog: Catalog, region: str | None) -> tuple[PriceBook, list[str]]:
    try:
        book = local_book(catalog.prices, PricesConfig())
    except PriceFileError as exc:
        raise AdviseError(str(exc)) from exc
    notes = []
    if region is not None and region != book.table.region:
        notes.append(
            f"note: prices are for {book.table.region}, not {region}: run python -m tools.prices refresh "
            f"--region {region} for that region's prices"
        )
    return book, notes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.advise", description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="catalog model id (config/catalog/models.yaml)")
    src.add_argument(
        "--custom", type=Path, help="YAML file: a custom model's architecture (the stack's `custom`)"
    )
    src.add_argument("--stack", help="every model of Pulumi.<stack>.yaml, with its workload")
    p.add_argument("--prompt-tokens", type=int, help="p95 prompt length in tokens")
    p.add_argument("--completion-tokens", type=int, help="p95 completion length in tokens")
    p.add_argument("--concurrency", type=int, help="concurrent requests at the peak")
    p.add_argument("--requests-per-second", type=float, help="peak request rate (instead of --concurrency)")
    p.add_argument("--ttft-ms", type=float, help="time-to-first-token target, ms")
    p.add_argument("--tpot-ms", type=float, help="time-per-output-token target, ms")
    p.add_argument("--region", help="Azure region the prices should be for (default: the price table's)")
    p.add_argument("--runtime", choices=["vllm", "kaito", "any"], default=None, help="only this runtime")
    p.add_argument("--json", type=Path, help="write every row (and the inputs) to this file")
    p.add_argument("--all", action="store_true", help="print every row, not only the qualifying ones")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The text to print and the JSON document."""
    catalog = load_catalog()
    if args.region is not None and args.region not in AZURE_REGIONS:
        raise AdviseError(f"--region {args.region!r} is not an Azure region name (e.g. swedencentral)")
    if args.stack is not None:
        loads = (args.prompt_tokens, args.completion_tokens, args.concurrency, args.requests_per_second)
        if any(v is not None for v in loads):
            raise AdviseError(
                "--stack takes each model's workload from the stack: drop the token/concurrency/rate options"
            )
        jobs = _stack_models(args.stack)
        if not jobs:
            raise AdviseError(f"Pulumi.{args.stack}.yaml has no catalog or custom model to advise on")
        given = {k: v for k, v in (("ttft_ms", args.ttft_ms), ("tpot_ms", args.tpot_ms)) if v is not None}
        jobs = [(m, dataclasses.replace(w, **given)) for m, w in jobs]
    else:
        missing = [
            o
            for o, v in (
                ("--prompt-tokens", args.prompt_tokens),
                ("--completion-tokens", args.completion_tokens),
            )
            if v is None
        ]
        if (args.concurrency is None) == (args.requests_per_second is None):
            missing.append("one of --concurrency or --requests-per-second")
        if missing:
            raise AdviseError(f"{', '.join(missing)} needed with --model/--custom")
        if args.model is not None:
            try:
                model = AdvisorModel.from_spec(catalog.model(args.model))
            except KeyError as exc:
                raise AdviseError(f"--model: {exc.args[0]}") from exc
        else:
            model = _custom(args.custom)
        try:
            work = AdvisorWorkload(
                args.prompt_tokens,
                args.completion_tokens,
                1 if args.concurrency is None else args.concurrency,
                args.ttft_ms,
                args.tpot_ms,
                requests_per_second=args.requests_per_second,
            )
        except ValueError as exc:
            raise AdviseError(str(exc)) from exc
        jobs = [(model, work)]
    book, notes = _book(catalog, args.region)
    texts, docs = list(notes), []
    for model, work in jobs:
        runtimes = ("vllm", "kaito") if args.runtime in (None, "any") else (args.runtime,)
        if args.runtime is None and model.runtime is not None:
            runtimes = (model.runtime,)
        rows = advise(model, work, catalog, book, runtimes)
        texts.append(render(model, work, rows, book, all_rows=args.all))
        docs.append({"model": model.id, "workload": work.__dict__, "rows": [r.to_dict() for r in rows]})
    document = {"prices": book.header(), "pricesLine": book.describe(), "advice": docs}
    return "\n\n".join(texts), document


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI (module docstring)."""
    args = parse_args(argv)
    try:
        text, document = run(args)
        if args.json is not None:
            try:
                args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            except OSError as exc:
                raise AdviseError(f"--json {args.json}: cannot write it ({exc.strerror})") from exc
    except AdviseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
