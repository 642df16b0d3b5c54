"""One typed settings object, built by a function from the environment.

Precedence: explicit overrides > environment variables > `.streamlit/secrets.toml` top-level keys > defaults.
Nothing is read at import time; call `load_settings()`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


class Settings(BaseModel):
    """Every knob of the studio. Secret values are `SecretStr`: their repr never shows the value."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Store
    studio_data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None

    # Storyboard defaults
    shots_per_video: int = Field(default=4, ge=1, le=200)
    frames_per_shot: int = Field(default=3, ge=1, le=50)
    # Seconds of narration per frame for a "paced" storyboard; unset: boards are fixed shots × frames.
    storyboard_pace_s: float | None = Field(default=None, gt=0, le=600)

    # Upload limits
    max_upload_mb: float = Field(default=50, gt=0)
    # The XML one script may inflate to (a course script has about 1 MB) and how many scripts are read at once
    # per process: see core/ingest/limits.py.
    max_uncompressed_mb: float = Field(default=25, gt=0)
    ingest_concurrency: int = Field(default=2, ge=1, le=32)

    # Prompt refinement
    refiner: str | None = None  # "openai" | "offline"; default: openai when a key is set
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_temperature: float = 0.4
    openai_timeout_s: float = 60.0
    refine_concurrency: int = Field(default=4, ge=1, le=64)
    refine_max_attempts: int = Field(default=4, ge=1, le=10)

    # Voice-over (core.voice): the default voice provider of a course whose style bible names none.
    voice_provider: str | None = None  # "openai" | "offline"; default: openai when a key is set
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_tts_voice: str = "alloy"
    voice_concurrency: int = Field(default=8, ge=1, le=64)  # voice jobs at once per worker

    # Generation (Higgs / Kling)
    renderer: str | None = None  # "higgs" | "offline"; default: higgs when a key is set
    hf_key: SecretStr | None = None  # "id:secret"
    hf_api_key: SecretStr | None = None
    hf_api_secret: SecretStr | None = None
    higgs_base_url: str = "https://api.higgsfield.ai"
    higgs_image_model: str = "higgsfield-ai/soul/standard"
    # A model taking a first and a last frame, so a clip ends on its shot's last keyframe (core.higgs.schema).
    higgs_video_model: str = "kling-video/omni/first-last-frame"
    higgs_timeout_s: float = 30.0
    image_deadline_s: float = 600.0
    clip_deadline_s: float = 2400.0
    render_concurrency: int = Field(default=4, ge=1, le=64)
    max_download_mb: float = Field(default=200, gt=0)
    clip_duration_s: int = Field(default=5, ge=1, le=20)
    aspect_ratio: str = "16:9"
    job_lease_s: float = Field(default=60.0, gt=0)

    # Review and deliverables
    allow_unapproved_clips: bool = False  # relax the gate: clips only from approved frames
    speaking_rate_wpm: float = Field(default=130, gt=0)  # narration timing for the animatic and captions

    # Sign-in and roles (used only when an [auth] section is configured for the studio).
    # Comma-separated e-mail addresses; "*@example.com" matches a whole domain.
    auth_producers: str = ""
    auth_reviewers: str = ""
    auth_admins: str = ""

    # Asset storage: the local data dir (default) or S3-compatible object storage ("s3://bucket/prefix").
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None

    # Downloads of generated media: https only, to these hosts (comma-separated; "*.example.com" allowed), never
    # to private / loopback / link-local addresses unless allowed (tests and local demos).
    download_allowed_hosts: str = "*.higgsfield.ai,*.cloudfront.net,*.amazonaws.com,*.r2.dev,*.googleapis.com"
    allow_private_downloads: bool = False
    allow_http_downloads: bool = False

    # People
    author_name: str = "producer"

    @field_validator("studio_data_dir", mode="before")
    @classmethod
    def _expand(cls, v: Any) -> Any:
        return Path(v).expanduser() if isinstance(v, (str, Path)) else v

    # ---- derived values -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.studio_data_dir.resolve()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'studio.db'}"

    @property
    def max_upload_bytes(self) -> int:
        """Decimal megabytes, the one unit of the upload limit in the studio, the API and the CLI."""
        return int(self.max_upload_mb * 1_000_000)

    @property
    def max_uncompressed_bytes(self) -> int:
        return int(self.max_uncompressed_mb * 1024 * 1024)

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)

    @property
    def higgs_credentials(self) -> tuple[str, str] | None:
        """(key id, key secret) from HF_KEY="id:secret" or HF_API_KEY + HF_API_SECRET."""
        if self.hf_key is not None:
            raw = self.hf_key.get_secret_value()
            if ":" in raw:
                key_id, _, secret = raw.partition(":")
                return key_id, secret
        if self.hf_api_key is not None and self.hf_api_secret is not None:
            return self.hf_api_key.get_secret_value(), self.hf_api_secret.get_secret_value()
        return None

    @property
    def active_refiner(self) -> str:
        if self.refiner:
            return self.refiner
        return "openai" if self.openai_api_key is not None else "offline"

    @property
    def active_renderer(self) -> str:
        if self.renderer:
            return self.renderer
        return "higgs" if self.higgs_credentials is not None else "offline"

    def public_summary(self) -> dict[str, Any]:
        """What may be shown on a page or printed: never a secret value, only whether one is set."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(getattr(self, name), SecretStr) or name.endswith(("_key", "_secret")):
                out[name] = "set" if value is not None else "not set"
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        out["database"] = redact_url(self.db_url)
        out.pop("database_url", None)
        return out


def redact_url(url: str) -> str:
    """A database URL with any password replaced, safe to display."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


def _secrets_file_values(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {k.lower(): v for k, v in data.items() if not isinstance(v, dict)}


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    secrets_file: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from `env` (default: os.environ), the secrets file, then explicit overrides."""
    source = dict(os.environ if env is None else env)
    values: dict[str, Any] = _secrets_file_values(secrets_file or SECRETS_FILE)
    fields = Settings.model_fields
    for key, value in source.items():
        low = key.lower()
        if low in fields and value != "":
            values[low] = value
    values.update(overrides)
    return Settings.model_validate(values)
