"""Break-even of self-hosting against a per-token API, as public cost guides compute it (pure).

    API cost per request          = prompt x input price / 1e6 + completion x output price / 1e6
    self-hosted cost per request  = tokens x replica $/h / (throughput tok/s x 3600)
    break-even requests per day   = fixed daily overhead / (API cost - self-hosted cost per request)

``tokens`` is the model's p95 prompt + p95 completion, ``replica $/h`` the price of the GPU capacity
one replica occupies (its share of a node on a MIG slice, whole nodes for KAITO), ``throughput`` what
one replica serves (config). ``fixed daily overhead`` is what the model costs a day before any traffic:
its scheduled floor and pre-warm capacity plus an equal share of the stack's other always-on cost
(system pool, unused pool floors), so the models' overheads add up to the monthly estimate / (730/24).
Worked example (docs/cost.md): 100 USD/day overhead, 1,000 + 500 tokens at 3 / 15 USD per million
(0.0105 USD/request), a 3.673 USD/h replica at 2,000 tok/s (0.000765 USD/request)
-> 100 / (0.0105 - 0.000765) = 10,272 requests/day.
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3600.0


def api_cost_per_request(
    prompt_tokens: int, completion_tokens: int, input_per_million: float, output_per_million: float
) -> float:
    """USD one request costs at the API's per-token prices."""
    return (prompt_tokens * input_per_million + completion_tokens * output_per_million) / 1_000_000


def self_hosted_cost_per_request(tokens: int, replica_per_hour: float, throughput_tps: float) -> float:
    """USD of GPU time one request takes on a fully used replica."""
    if throughput_tps <= 0:
        raise ValueError(f"throughput must be > 0 tokens/s, got {throughput_tps}")
    return tokens * replica_per_hour / (throughput_tps * SECONDS_PER_HOUR)


def break_even_requests_per_day(
    fixed_daily_overhead: float, api_per_request: float, self_per_request: float
) -> float | None:
    """Requests a day from which self-hosting is cheaper; None when it never is (no per-request saving)."""
    saving = api_per_request - self_per_request
    if saving <= 0:
        return None
    return fixed_daily_overhead / saving


def capacity_requests_per_day(replicas: int, throughput_tps: float, tokens: int) -> float:
    """Requests a day ``replicas`` replicas serve flat out."""
    return replicas * throughput_tps * 86_400 / tokens
