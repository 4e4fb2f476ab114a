"""The per-user daily budget (RQFLOW_USER_DAILY_BUDGET_USD): a user whose runs spent it today starts no new run.

What each run spent is added to the user's row for the UTC day it ended on
(``user_daily_spend``) in the transaction that ends the run, only when it spent
anything; a run about to start reads that one row. A run refused for it is recorded
``skipped`` with reason ``budget``, so the ledger says why nothing ran. Runs already going
are not stopped (their own ``max_budget_per_run_usd`` bounds them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rqflow.models import UserDailySpend
from rqflow.services import notifications
from rqflow.settings import get_settings
from rqflow.signals import SchedulerSignals

BUDGET_SKIP_REASON = "budget: the user's daily budget for model calls is spent (RQFLOW_USER_DAILY_BUDGET_USD)"


def limited() -> bool:
    """Whether the operator set a daily budget."""
    return get_settings().user_daily_budget_usd is not None


def add_spend(db: Session, user_id: int, *, spent: tuple[int, float], now: datetime, signals: SchedulerSignals,
              schedule_id: str) -> None:
    """Add a run of ``schedule_id``'s spending (tokens, US dollars) to the user's day; nothing for a run that spent
    nothing. The run that takes the day across 80 % of the budget sends the ``daily_budget`` notifications."""
    tokens, cost = spent
    if not tokens and not cost:
        return
    day = now.date()
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(insert(UserDailySpend).values(user_profile_id=user_id, day=day, cost_usd=0.0, tokens=0)
               .on_conflict_do_nothing(index_elements=["user_profile_id", "day"]))
    after: float = db.execute(update(UserDailySpend)  # the row the upsert above made sure of
                              .where(UserDailySpend.user_profile_id == user_id, UserDailySpend.day == day)
                              .values(cost_usd=UserDailySpend.cost_usd + cost, tokens=UserDailySpend.tokens + tokens)
                              .returning(UserDailySpend.cost_usd)).scalar_one()
    budget = get_settings().user_daily_budget_usd
    if budget is not None and cost and notifications.crossed_warning(after - cost, after, budget):
        notifications.notify_daily_budget(db, user_id, spent_usd=after, budget_usd=budget, now=now,
                                          signals=signals, crossed_by=schedule_id)


def spent_today(db: Session, user_id: int, now: datetime) -> float:
    """What the user's runs spent today (UTC), in US dollars."""
    value = db.scalar(select(UserDailySpend.cost_usd).where(UserDailySpend.user_profile_id == user_id,
                                                            UserDailySpend.day == now.date()))
    return float(value or 0.0)


def exhausted(db: Session, user_id: int, now: datetime) -> bool:
    """Whether the user may start no new run today."""
    budget = get_settings().user_daily_budget_usd
    return budget is not None and spent_today(db, user_id, now) >= budget
