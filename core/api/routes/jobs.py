"""`GET /jobs/{id}`: a render job's state and the takes it produced."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from core.api.deps import SessionDep
from core.api.errors import errors_doc
from core.api.schemas import MAX_ID, JobOut
from core.api.views import get_job, job_out

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", response_model=JobOut, responses=errors_doc())
def read_job(job_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep) -> JobOut:
    """The job's status, error (if any) and result assets; poll this after a 202."""
    return job_out(session, get_job(session, job_id))
