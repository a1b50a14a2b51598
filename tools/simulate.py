"""Simulate a stack's traffic week: KEDA, the HPA, node autoscaling, cold starts and cost (docs/simulate.md).

python -m tools.simulate --stack S --json OUT.json [--plot OUT.png] [--markdown OUT.md] [--traffic FILE]

Exit 0; 1 when a finding is not acknowledged in the stack's ``simulation.acknowledged``; 2 on a bad
argument, stack file or traffic file. matplotlib is imported only for ``--plot``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from config.errors import EXIT_CODE, ConfigError
from tools.plan import ROOT, stack_plan
from tools.stack_config import StackFileError, load_stack_settings

UNACKNOWLEDGED = 1


def markdown(doc: dict[str, Any]) -> str:
    """The PR comment's section: the day, the models, warm capacity, the findings."""
    lines = [
        f"### Traffic simulation: stack `{doc['stack']}`",
        "",
        f"A simulated week in 15 s steps ({doc['timezone']}); the day shown is a Wednesday. "
        f"Day: **{doc['costOfTheDay']:,.2f} USD**, a month of such days "
        f"{doc['costOfAMonthOfSuchDays']:,.2f}; "
        f"the simulated week as a month {doc['weekCostPerMonth']:,.2f} vs the static estimate "
        f"{doc['staticEstimatePerMonth']:,.2f} USD.",
        "",
        "| model | floor | cold / warm starts a week | longest replica start "
        "| requests delayed / failed a week "
        "| GPU-h a week | USD the day | USD a month of such days | USD a month (simulated week) "
        "| USD a month (static estimate) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in doc["models"]:
        static = m["staticEstimatePerMonth"]
        lines.append(
            f"| {m['name']} | {m['floor']} | {m['coldStarts']} / {m['warmStarts']} | "
            f"{m['longestReplicaStartSeconds'] / 60:.0f} min | {m['requestsDelayedPerWeek']:,} / "
            f"{m['requestsFailedPerWeek']:,} | {m['gpuHoursPerWeek']:,.0f} | {m['costOfTheDay']:,.2f} | "
            f"{m['costOfAMonthOfSuchDays']:,.2f} | {m['costPerMonth']:,.2f} | "
            f"{'n/a' if static is None else format(static, ',.2f')} |"
        )
    lines += [
        "",
        "A model's simulated cost is its share of its pool's nodes (idle ones included); the static estimate "
        "counts its replicas only.",
    ]
    if doc["warmCapacity"]:
        lines += [
            "",
            "Warm capacity (per month):",
            "",
            "| model | floor | requests delayed | failed | GPU-h | USD |",
            "|---|---|---|---|---|---|",
        ]
        for w in doc["warmCapacity"]:
            for f in w["floors"]:
                mark = " (configured)" if f["configured"] else ""
                lines.append(
                    f"| {w['model']} | {f['floor']}{mark} | {f['requestsDelayedPerMonth']:,.0f} | "
                    f"{f['requestsFailedPerMonth']:,.0f} | {f['gpuHoursPerMonth']:,.0f} | "
                    f"{f['costPerMonth']:,.2f} |"
                )
    lines += ["", "Findings:" if doc["findings"] else "Findings: none."]
    for f in doc["findings"]:
        state = f"acknowledged: {f['acknowledged']}" if f["acknowledged"] else "**not acknowledged**"
        lines.append(f"- `{f['model']}` {f['finding']}: {f['detail']} ({state})")
    for f in doc["acknowledgedNotFound"]:
        lines.append(f"- `{f['model']}` {f['finding']}: acknowledged in the stack but not found (remove it?)")
    lines += [f"- note: {n}" for n in doc["notes"]]
    late = [m for m in doc["models"] if m["prewarmReadyAfterSeconds"]]
    if late:
        lines += ["", "Business hours (the cron pre-warm acts when the window opens):", ""]
        for m in late:
            lines.append(
                f"- `{m['name']}`: its schedule's replicas are ready "
                f"{m['prewarmReadyAfterSeconds'] / 60:.0f} min after the window opens (start the schedule "
                "that much earlier to have them at the start)"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--json", type=Path, required=True, help="write the series and the summary here")
    parser.add_argument("--plot", type=Path, help="write the day's picture here (PNG)")
    parser.add_argument("--markdown", type=Path, help="write the summary as Markdown here (the PR comment)")
    parser.add_argument("--traffic", type=Path, help="CSV of demand (docs/simulate.md)")
    args = parser.parse_args(argv)
    from simulation.summary import report
    from simulation.traffic import TrafficFileError, model_demand, read_traffic_file

    try:
        settings = load_stack_settings(ROOT, args.stack, args.config_file)
        plan = stack_plan(settings)  # planned once: the simulation runs this plan
        config = plan.config
        models = {m.name: m for m in config.models}
        for ack in config.simulation.acknowledged:
            if ack.model not in models:
                raise TrafficFileError(
                    f"{settings.source}: aks-llm:simulation.acknowledged: model {ack.model!r} "
                    f"is not in the stack (accepted: {', '.join(sorted(models))})"
                )
        demands = {name: model_demand(m, config.simulation.shape) for name, m in models.items()}
        if args.traffic is not None:
            demands |= read_traffic_file(args.traffic, models)
    except (StackFileError, ConfigError, TrafficFileError) as exc:
        text = exc.render() if isinstance(exc, ConfigError) else str(exc)
        print(f"error: {text}", file=sys.stderr)
        return EXIT_CODE
    started = time.perf_counter()
    doc = report(plan, demands)
    doc["stack"] = args.stack
    doc["seconds"] = round(time.perf_counter() - started, 2)
    args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    text = markdown(doc)
    if args.markdown is not None:
        args.markdown.write_text(text, encoding="utf-8")
    if args.plot is not None:
        from tools.simulate_plot import plot

        plot(doc, args.plot)
    print(text, end="")
    return UNACKNOWLEDGED if any(not f["acknowledged"] for f in doc["findings"]) else 0


if __name__ == "__main__":
    sys.exit(main())
