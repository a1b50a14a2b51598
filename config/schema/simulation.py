"""The traffic-day simulation (``aks-llm:simulation``): read by ``python -m tools.simulate``, never by the
program itself."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from config.schema.base import DnsLabel, Strict

FINDINGS = ("at-zero-under-demand", "oscillation", "cold-start-timeouts")
Shape = Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=24, max_length=24)]


class TrafficShapeConfig(Strict):
    """Demand over a day, as a fraction of the model's peak per local hour (00:00 to 23:00)."""

    business_days: Shape
    """24 fractions of `peakConcurrentRequests`, one per local hour, on the schedule's days."""
    other_days: Shape = Field(default_factory=lambda: [0.0] * 24)
    """24 fractions for the other days of the week (default: no demand)."""


class SimulationAcknowledgement(Strict):
    """A finding of the traffic-day simulation that the stack accepts, with the reason."""

    model: DnsLabel
    """The model the finding is about."""
    finding: Literal["at-zero-under-demand", "oscillation", "cold-start-timeouts"]
    """`at-zero-under-demand`, `oscillation` or `cold-start-timeouts`."""
    reason: Annotated[str, Field(min_length=10, max_length=500)]
    """Why it is accepted (shown in the PR comment)."""


class SimulationConfig(Strict):
    """The traffic-day simulation of `python -m tools.simulate` (never read by the program itself)."""

    shape: TrafficShapeConfig | None = None
    """Demand shape over the day (unset: the default shape of docs/simulate.md, from each model's
    schedule)."""
    acknowledged: list[SimulationAcknowledgement] = Field(default_factory=list)
    """Findings accepted for this stack: the simulate command and the CI preview pass with them."""
