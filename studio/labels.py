"""Where a prompt or a render came from, in words: "written by hand", "refined offline", "higgs · soul/standard".

The stored fields repeat themselves for some sources (a hand-written prompt has origin, provider and model all
"manual"; an offline render is provider "offline", model "offline"), and printing them side by side read as a
bug ("v2 · manual · manual", "manual by manual", "offline offline").
"""

from __future__ import annotations

PROVIDER_NAMES = {"openai": "OpenAI", "offline": "offline", "higgs": "Higgsfield"}


def prompt_source(origin: str, provider: str, model: str) -> str:
    """"written by hand", "refined offline", "refined by OpenAI gpt-4o-mini"."""
    if origin == "manual" or provider == "manual":
        return "written by hand"
    if provider == "offline":
        return "refined offline"
    name = PROVIDER_NAMES.get(provider, provider)
    extra = f" {model}" if model and model not in (provider, "manual", "offline") else ""
    return f"refined by {name}{extra}".strip() if name else "refined"


def render_source(provider: str, model: str) -> str:
    """"offline", "Higgsfield · soul/standard": each word once."""
    name = PROVIDER_NAMES.get(provider, provider)
    if not model or model == provider or provider == "offline" or model.startswith("offline"):
        return name or model or "—"
    return f"{name} · {model}"
