"""EPCIS capture jobs: what ``GET /epcis/capture/{id}`` reports of a capture.

A job is the binding's record of a request, not a projection of the ledger: a refused
capture appends nothing yet its job (failed, with the per-event errors) is kept.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import Base

__all__ = ["CaptureJob", "new_job"]


class CaptureJob(Base):
    """One capture request and how it ended (EPCIS 2.0: ``running``, ``success``, ``errors``)."""

    __tablename__ = "epcis_capture_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: who captured: the token's enterprise (or the operator, for an admin token)
    principal: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[str] = mapped_column(String(40))
    finished_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: ``rollback`` (all or nothing) or ``proceed`` (each event on its own)
    behaviour: Mapped[str] = mapped_column(String(10))
    running: Mapped[bool] = mapped_column(Boolean)
    success: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    events: Mapped[int] = mapped_column(Integer)
    captured: Mapped[int] = mapped_column(Integer)
    #: the per-event errors, a JSON list
    errors: Mapped[str] = mapped_column(Text)
    #: each event's eventID, hash ID and seqs (or null when refused), a JSON list
    results: Mapped[str] = mapped_column(Text)

    def as_json(self) -> dict[str, Any]:
        """The job as ``GET /epcis/capture/{id}`` serves it."""
        return {"captureID": self.id, "createdAt": self.created_at,
                "finishedAt": self.finished_at, "running": self.running,
                "success": bool(self.success), "captureErrorBehaviour": self.behaviour,
                "events": self.events, "captured": self.captured,
                "errors": json.loads(self.errors), "results": json.loads(self.results)}


def new_job(session: Session, principal: str, behaviour: str, events: int,
            created_at: str) -> CaptureJob:
    """A running job with a fresh unguessable id, added to ``session``."""
    job = CaptureJob(id=secrets.token_hex(16), principal=principal, created_at=created_at,
                     finished_at=None, behaviour=behaviour, running=True, success=None,
                     events=events, captured=0, errors="[]", results="[]")
    session.add(job)
    return job
