"""``user_daily_spend``: what one user's runs spent on model calls on one UTC day.

Written when a run that spent anything ends (one upsert, in its transaction), read with one
key lookup when a run would start under RQFLOW_USER_DAILY_BUDGET_USD: the ledger is never
summed to enforce the budget.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Float, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rqflow.models.base import Base


class UserDailySpend(Base):
    """One user's model spending on one day (UTC)."""

    __tablename__ = "user_daily_spend"
    __table_args__ = (UniqueConstraint("user_profile_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_profile_id: Mapped[int] = mapped_column(ForeignKey("user_profiles.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
