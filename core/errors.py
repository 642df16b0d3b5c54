"""Exceptions whose messages a producer can read. Pages and the CLI show `str(err)`, never a traceback."""

from __future__ import annotations


class StudioError(Exception):
    """Base class: `category` is a stable machine word, the message is for people."""

    category: str = "error"

    def __init__(self, message: str, *, category: str | None = None) -> None:
        super().__init__(message)
        if category is not None:
            self.category = category

    @property
    def message(self) -> str:
        return str(self)


class IngestError(StudioError):
    """A file was rejected; nothing was stored. Categories: not_docx, corrupt, encrypted, empty, too_large, no_text."""

    category = "corrupt"


class NotFoundError(StudioError):
    category = "not_found"


class ConflictError(StudioError):
    """Someone else saved first (optimistic lock); the caller's edit was not applied and is kept by the caller."""

    category = "conflict"


class ValidationError(StudioError):
    category = "invalid"


class GateError(StudioError):
    """A review gate (locked / not approved) forbids the action."""

    category = "gate"


class ProviderError(StudioError):
    """An external service (OpenAI, Higgs) failed; `retryable` says whether trying again may help."""

    category = "provider"

    def __init__(self, message: str, *, category: str | None = None, retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message, category=category)
        self.retryable = retryable
        self.retry_after = retry_after


class PlanError(ValidationError):
    """A shot plan failed its checks and was not stored; `problems` lists every reason, in reading order."""

    category = "invalid_plan"

    def __init__(self, problems: list[str], *, video_id: int | None = None) -> None:
        where = f"video {video_id}" if video_id is not None else "the video"
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(f"The plan for {where} was not stored: {shown}.")
        self.problems = list(problems)
        self.video_id = video_id
