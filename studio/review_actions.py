"""Review shortcuts for the pages. The rules live in core (`core.one_click`); this name stays for the pages."""

from __future__ import annotations

from core.one_click import approve_shot

__all__ = ["approve_shot"]
