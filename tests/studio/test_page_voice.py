"""Voice-over in the studio: "Voice all" on the Storyboard page queues narration with progress, the worker voices
it, each shot plays its audio (on the Clips page too), and a new lexicon in the course's voice marks it stale."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.jobs import Worker
from core.models import Asset, Job, Shot, Video
from core.runtime import Runtime
from tests.studio.conftest import ingest, texts

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the offline voice needs espeak-ng")


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_voice_all_then_play_and_a_lexicon_change_marks_audio_stale(open_app: Callable[..., AppTest],
                                                                    studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=1)
    with studio_rt.sessions() as s:
        video_id = s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()
    at = open_app("storyboard", script=file_id, video=video_id)
    assert "Narration: 0 of 2 shots voiced" in texts(at)
    assert "no narration audio yet: its length is estimated from the words" in texts(at)
    at = _click(at, "Voice all")
    with studio_rt.sessions() as s:
        assert s.scalar(select(func.count(Job.id)).where(Job.kind == "voice", Job.status == "pending")) == 2
    Worker(studio_rt).run(drain=True)
    at.run()
    assert "Narration: 2 of 2 shots voiced" in texts(at)
    assert len(at.get("audio")) == 2 and "s of narration" in texts(at)
    assert [b.label for b in at.button].count("Re-voice") == 2

    clips = open_app("clips", script=file_id, video=video_id)
    assert len(clips.get("audio")) == 2  # beside each clip

    prompts = open_app("prompts", script=file_id, video=video_id)
    prompts.text_area(key="voice-lexicon").set_value("Excel = إكسل")  # a term this script never says
    next(b for b in prompts.button if b.label == "Save voice").click()
    prompts.run()
    assert not prompts.exception and "Voice saved" in texts(prompts)
    at = open_app("storyboard", script=file_id, video=video_id)
    assert "Narration: 2 of 2 shots voiced" in texts(at) and "stale" not in texts(at)
    prompts.text_area(key="voice-lexicon").set_value("Excel = إكسل\nالألوان = الأَلْوان")  # both shots say it
    next(b for b in prompts.button if b.label == "Save voice").click()
    prompts.run()
    at = open_app("storyboard", script=file_id, video=video_id)
    assert "Narration: 0 of 2 shots voiced" in texts(at) and "stale" in texts(at)

    # Voicing again gives each shot a second take; the first is a pick away, playable, and can be used again.
    at = _click(at, "Voice all")
    Worker(studio_rt).run(drain=True)
    at.run()
    assert "Narration: 2 of 2 shots voiced" in texts(at)
    pickers = [b for b in at.selectbox if b.label == "Narration takes"]
    assert len(pickers) == 2 and len(at.get("audio")) == 2
    with studio_rt.sessions() as s:
        first_shot = s.get(Job, s.scalars(select(Job.id).where(Job.kind == "voice").order_by(Job.id)).first()).shot_id
        older = s.scalars(select(Asset.id).where(Asset.shot_id == first_shot, Asset.kind == "voice")
                          .order_by(Asset.id)).first()
    picker = at.selectbox(key=f"voice-{first_shot}-takes")
    assert picker.options[0].startswith("Take 2") and "in use" in picker.options[0]
    picker.select_index(len(picker.options) - 1).run()  # the older take
    assert len(at.get("audio")) == 3  # the picked take plays beside the one in use
    at = _click(at, "Use this take")
    with studio_rt.sessions() as s:
        assert s.get(Shot, first_shot).selected_voice_id == older
    assert "Narration: 1 of 2 shots voiced" in texts(at)  # the old take said the words before the lexicon

    broken = open_app("prompts", script=file_id, video=video_id)
    broken.text_area(key="voice-lexicon").set_value("Excel إكسل")
    next(b for b in broken.button if b.label == "Save voice").click()
    broken.run()
    assert "line 1" in texts(broken)  # a clear error, nothing saved
