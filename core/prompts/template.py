"""The versioned system prompt of the OpenAI refiner (a file in `templates/`), kept apart from the SDK import.

`SYSTEM_TEMPLATE_VERSION` is part of every OpenAI prompt's input hash: bump it (and add `system_v<N>.md`)
when the instructions change, and every prompt made under the old template reads as stale.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from core.errors import ProviderError

SYSTEM_TEMPLATE_VERSION = "2"  # 2: the keyframe and the shot plan are drawn, the narration read as context
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=8)
def load_system_template(version: str = SYSTEM_TEMPLATE_VERSION) -> str:
    """The system prompt of `version` (a file in `templates/`, named `system_v<version>.md`)."""
    path = TEMPLATES_DIR / f"system_v{version}.md"
    if not path.is_file():
        raise ProviderError(f"System prompt template version {version} does not exist ({path.name})",
                            category="config")
    return path.read_text(encoding="utf-8").strip()
