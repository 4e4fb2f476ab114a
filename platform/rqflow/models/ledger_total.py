"""``ledger_totals``: how many ledger rows ever reached each ended status, by trigger kind.

A database trigger on ``schedule_runs`` (migration 0008) adds one in the transaction that
ends a row (``succeeded``, ``failed``, ``skipped``, ``missed``), whichever code path ends it,
so the totals never miss a row; deleting rows (retention, a deleted schedule) does not take
them back. ``/metrics`` reads these instead of counting the ledger at every scrape.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rqflow.models.base import Base

# The statuses a ledger row never leaves.
ENDED_STATUSES = ("succeeded", "failed", "skipped", "missed")


class LedgerTotal(Base):
    """The number of ledger rows that ended with one status, of one trigger kind."""

    __tablename__ = "ledger_totals"
    __table_args__ = (UniqueConstraint("status", "trigger_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    trigger_kind: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
