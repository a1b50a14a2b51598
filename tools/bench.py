"""Benchmark: wall time of the offline plan of each stack as a fresh process (``make bench``).

Not part of the unit suite: a wall-clock budget measures the machine as much as the program, so it
runs on its own, best of ``--runs`` fresh processes per stack, and fails when the best run of any
stack is over ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_plan(stack: str) -> float:
    """Seconds one fresh ``python -m tools.plan --stack STACK`` takes; raises when it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tools.plan", "--stack", stack],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"plan of {stack} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Time every stack; exit 1 when a stack's best run is over the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", nargs="+", default=["dev", "prod", "nap"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget", type=float, default=3.0, help="seconds, best run per stack")
    args = parser.parse_args(argv)
    time_plan(args.stacks[0])  # warm the bytecode and chart-render caches once
    over = []
    for stack in args.stacks:
        runs = [time_plan(stack) for _ in range(args.runs)]
        best = min(runs)
        print(f"{stack}: best {best:.2f} s of {', '.join(f'{t:.2f}' for t in runs)}")
        if best > args.budget:
            over.append(stack)
    if over:
        print(f"over the {args.budget:.1f} s budget: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
