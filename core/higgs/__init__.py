"""The Higgs (Higgsfield) generation API: client, typed outcomes and errors, per-model bodies and schema checks.

See `shared/higgs_api.md` for the protocol. Everything a caller needs is re-exported here.
"""

from core.higgs.client import DEFAULT_USER_AGENT, HiggsClient, client_from_settings
from core.higgs.errors import (
    HiggsAuthError,
    HiggsBusyError,
    HiggsCreditsError,
    HiggsDownloadError,
    HiggsError,
    HiggsNetworkError,
    HiggsNotFoundError,
    HiggsProtocolError,
    HiggsRejectedError,
    HiggsServerError,
)
from core.higgs.schema import MODEL_SPECS, ModelSpec, check_body, clip_body, image_body, model_spec, takes_end_frame
from core.higgs.types import (
    TERMINAL_STATUSES,
    Estimate,
    Outcome,
    OutcomeKind,
    PollSchedule,
    RemoteStatus,
    Submission,
    parse_status,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "MODEL_SPECS",
    "TERMINAL_STATUSES",
    "Estimate",
    "HiggsAuthError",
    "HiggsBusyError",
    "HiggsClient",
    "HiggsCreditsError",
    "HiggsDownloadError",
    "HiggsError",
    "HiggsNetworkError",
    "HiggsNotFoundError",
    "HiggsProtocolError",
    "HiggsRejectedError",
    "HiggsServerError",
    "ModelSpec",
    "Outcome",
    "OutcomeKind",
    "PollSchedule",
    "RemoteStatus",
    "Submission",
    "check_body",
    "client_from_settings",
    "clip_body",
    "image_body",
    "model_spec",
    "parse_status",
    "takes_end_frame",
]
