"""Provenance labels read as words, each once (not "v2 · manual · manual" or "offline offline")."""

from __future__ import annotations

from studio.labels import prompt_source, render_source


def test_prompt_sources_say_each_word_once() -> None:
    assert prompt_source("manual", "manual", "manual") == "written by hand"
    assert prompt_source("refined", "offline", "offline") == "refined offline"
    assert prompt_source("refined", "openai", "gpt-4o-mini") == "refined by OpenAI gpt-4o-mini"


def test_render_sources_say_each_word_once() -> None:
    assert render_source("offline", "offline") == "offline"
    assert render_source("offline", "offline-clip") == "offline"
    assert render_source("higgs", "soul/standard") == "Higgsfield · soul/standard"
