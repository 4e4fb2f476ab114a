"""``ledger_totals``: how many ledger rows the retention sweep deleted, by status and trigger kind.

The sweep adds a batch's counts here in the transaction that deletes the batch, so the
ledger's totals (``/metrics``) are the rows kept plus these, exactly, before and after
any sweep.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rqflow.models.base import Base


class LedgerTotal(Base):
    """The count of swept ledger rows of one status and trigger kind."""

    __tablename__ = "ledger_totals"
    __table_args__ = (UniqueConstraint("status", "trigger_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    trigger_kind: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
