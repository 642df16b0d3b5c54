"""Per-request dependencies: the shared runtime and one database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from core.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request. Endpoints commit what they write themselves, before they answer, so a
    client that polls right after a 202 finds the job; anything left uncommitted is rolled back here."""
    session = get_runtime(request).sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[Session, Depends(get_session)]
