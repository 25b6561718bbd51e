"""The plan catalogue: what each plan allows. The org record carries a copy of its plan's limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_PLAN = "starter"
# Where an org lands when its subscription ends: data stays readable, pipelines run rarely.
FALLBACK_PLAN = "free"


@dataclass(frozen=True)
class PlanLimits:
    """Limits of one plan; ``pipeline_runs_*`` are counted per UTC day and calendar month."""

    pipeline_runs_daily: int
    pipeline_runs_monthly: int
    concurrent_runs: int
    seats: int
    providers: int

    def as_columns(self) -> dict[str, int]:
        """The org columns holding these limits (``limit_<name>``)."""
        return {f"limit_{name}": value for name, value in asdict(self).items()}


PLANS: dict[str, PlanLimits] = {
    "free": PlanLimits(pipeline_runs_daily=2, pipeline_runs_monthly=30, concurrent_runs=1, seats=2, providers=1),
    "starter": PlanLimits(pipeline_runs_daily=6, pipeline_runs_monthly=150, concurrent_runs=1, seats=5, providers=3),
    "professional": PlanLimits(
        pipeline_runs_daily=24, pipeline_runs_monthly=600, concurrent_runs=3, seats=20, providers=10
    ),
    "scale": PlanLimits(
        pipeline_runs_daily=100, pipeline_runs_monthly=3000, concurrent_runs=10, seats=100, providers=25
    ),
}


class UnknownPlanError(ValueError):
    """A plan name that is not in the catalogue."""


def plan_limits(plan: str) -> PlanLimits:
    """The limits of a plan.

    Raises:
        UnknownPlanError: If the plan is not in :data:`PLANS`.
    """
    try:
        return PLANS[plan]
    except KeyError:
        raise UnknownPlanError(f"unknown plan {plan!r}: expected one of {', '.join(PLANS)}") from None
