"""The cast in the studio: the Settings and Images pages say when the configured model takes no reference images
(and name those that do); the board shows who each shot shows and why, and frames whose reference changed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.cast import add_image, add_member, get_member, remove
from core.db import session_scope
from core.jobs import Worker, request_video_images
from core.models import Video
from core.render.providers import OfflineProvider
from core.runtime import Runtime
from tests.fakes.higgs_server import make_png
from tests.studio.conftest import ingest, texts

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _higgs(monkeypatch: pytest.MonkeyPatch, image_model: str) -> None:
    monkeypatch.setenv("RENDERER", "higgs")
    monkeypatch.setenv("HF_KEY", "key-id:key-secret")
    monkeypatch.setenv("HIGGS_IMAGE_MODEL", image_model)
    monkeypatch.setenv("HIGGS_VIDEO_MODEL", "kling-video/v2.1/pro/image-to-video")  # a start-image-only model


def test_settings_say_identity_rests_on_text_for_a_model_without_a_reference_field(
        open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    _higgs(monkeypatch, "higgsfield-ai/soul/standard")
    at = open_app("settings")
    warnings = [w.value for w in at.warning]
    image_note = next(w for w in warnings if "higgsfield-ai/soul/standard" in w)
    assert "identity rests on the text" in image_note and "`bytedance/seedream/v4/edit`" in image_note
    clip_note = next(w for w in warnings if "kling-video/v2.1/pro/image-to-video" in w)
    assert "`kling-video/o1/reference-to-video`" in clip_note
    assert "key-secret" not in texts(at)


def test_a_reference_taking_model_is_said_to_send_the_cast_photos(
        open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    _higgs(monkeypatch, "bytedance/seedream/v4/edit")
    at = open_app("settings")
    assert not any("seedream" in w.value for w in at.warning)
    assert "`bytedance/seedream/v4/edit` takes reference images (field `image_urls`)" in texts(at)


def test_the_images_page_warns_too(open_app: Callable[..., AppTest], studio_rt: Runtime,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    file_id = ingest(studio_rt, shots=1, frames=1)
    _higgs(monkeypatch, "flux-pro/kontext/max/text-to-image")
    at = open_app("images", script=file_id, video=_video(studio_rt, file_id))
    assert any("flux-pro/kontext/max/text-to-image" in w.value and "identity rests on the text" in w.value
               for w in at.warning)


def _video(rt: Runtime, file_id: int) -> int:
    with rt.sessions() as s:
        return s.scalars(select(Video.id).where(Video.source_file_id == file_id).order_by(Video.position)).first()


def test_the_board_shows_the_default_presenter_and_frames_whose_reference_changed(
        open_app: Callable[..., AppTest], studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=2, frames=1)
    video_id = _video(studio_rt, file_id)
    with session_scope(studio_rt.sessions) as s:
        add_member(s, file_id, "Layla", kind="presenter", images=[make_png("a", (200, 200))],
                   assets=studio_rt.assets)
        from core.models import Frame, PromptVersion, Shot, Storyboard

        for frame in s.scalars(select(Frame).join(Shot).join(Storyboard).where(Storyboard.video_id == video_id)):
            pv = PromptVersion(frame_id=frame.id, number=1, text="A presenter at a desk", origin="manual",
                               provider="manual", input_hash=f"h{frame.id}")
            s.add(pv)
            s.flush()
            frame.selected_prompt_id = pv.id
        request_video_images(s, video_id, settings=studio_rt.settings)
    Worker(studio_rt, providers={"offline": OfflineProvider(studio_rt.assets)}, idle_s=0.01).run(drain=True)
    at = open_app("storyboard", script=file_id, video=video_id)
    page = texts(at)
    assert "Cast and sets (1)" in [e.label for e in at.expander][0]
    assert page.count("Shows the course presenter (default)") == 2
    assert "References changed" not in page

    with session_scope(studio_rt.sessions) as s:  # a new photo of Layla: both frames are out of date
        layla = get_member(s, file_id, "Layla")
        old = layla.images[0].id
        add_image(s, layla, make_png("b", (200, 200)), assets=studio_rt.assets)
        remove(s, file_id, "Layla", image_id=old)
    at = open_app("storyboard", script=file_id, video=video_id)
    notes = [c.value for c in at.caption if "sync_problem" in c.value]
    assert len(notes) == 2 and all(r"References changed since this image was rendered \(Layla\)" in n for n in notes)
    at = open_app("images", script=file_id, video=video_id)
    assert "Re-render 2 frame(s) whose references changed" in [b.label for b in at.button]


def test_check_models_reads_the_reference_field_from_the_published_schema(
        open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.higgs_server import FakeHiggsServer

    with FakeHiggsServer() as server:
        key_id, secret = server.credentials
        monkeypatch.setenv("HF_KEY", f"{key_id}:{secret}")
        monkeypatch.setenv("HIGGS_BASE_URL", server.base_url)
        monkeypatch.setenv("HIGGS_IMAGE_MODEL", "bytedance/seedream/v4/edit")
        monkeypatch.setenv("HIGGS_VIDEO_MODEL", "kling-video/v2.1/pro/image-to-video")  # start image only
        at = open_app("settings")
        next(b for b in at.button if b.label == "Check models").click()
        at.run()
    assert "Images: `bytedance/seedream/v4/edit` takes reference images (`image_urls`)" in [s.value for s in
                                                                                             at.success][1]
    assert any("`kling-video/v2.1/pro/image-to-video` publishes no reference field" in w.value for w in at.warning)


def test_generate_candidates_on_the_board_then_pick_one(open_app: Callable[..., AppTest],
                                                        studio_rt: Runtime) -> None:
    file_id = ingest(studio_rt, shots=1, frames=1)
    video_id = _video(studio_rt, file_id)
    with session_scope(studio_rt.sessions) as s:
        add_member(s, file_id, "Layla", kind="presenter", description="A woman in her thirties, navy blazer",
                   assets=studio_rt.assets)
    at = open_app("storyboard", script=file_id, video=video_id)
    at.button(key=f"cast-gen-{_member_id(studio_rt, file_id)}").click().run()
    assert not at.exception
    assert "rendering 3 candidate(s)" in texts(at)
    Worker(studio_rt, providers={"offline": OfflineProvider(studio_rt.assets)}, idle_s=0.01).run(drain=True)
    at = open_app("storyboard", script=file_id, video=video_id)
    picks = [b for b in at.button if b.label == "Pick"]
    assert len(picks) == 3 and texts(at).count("candidate") >= 3
    picks[1].click().run()
    assert not at.exception
    assert "the pick, locked for the course" in texts(at)
    assert not [b for b in at.button if b.label == "Pick"]  # locked: no other pick offered
    with studio_rt.sessions() as s:
        images = get_member(s, file_id, "Layla").images
        assert [(i.locked, i.is_reference) for i in images] == [(False, False), (True, True), (False, False)]


def _member_id(rt: Runtime, file_id: int) -> int:
    with rt.sessions() as s:
        return get_member(s, file_id, "Layla").id


def test_choosing_nobody_and_then_a_member_with_the_chips(open_app: Callable[..., AppTest],
                                                          studio_rt: Runtime) -> None:
    from core.models import Shot, Storyboard
    from studio.cast_panel import NOBODY

    file_id = ingest(studio_rt, shots=2, frames=1)
    video_id = _video(studio_rt, file_id)
    with session_scope(studio_rt.sessions) as s:
        add_member(s, file_id, "Layla", kind="presenter", assets=studio_rt.assets)
        add_member(s, file_id, "Kitchen", kind="set", assets=studio_rt.assets)
        first = s.scalars(select(Shot.id).join(Storyboard).where(Storyboard.video_id == video_id)
                          .order_by(Shot.position)).first()
    at = open_app("storyboard", script=file_id, video=video_id)
    chips = next(g for g in at.button_group if g.key.startswith(f"cast-chips-{first}-"))
    assert chips.value == ["Layla"]
    chips.set_value(["Layla", NOBODY]).run()
    assert not at.exception
    assert "Shows nobody (chosen): no reference images" in texts(at)
    chips = next(g for g in at.button_group if g.key.startswith(f"cast-chips-{first}-"))
    assert chips.value == [NOBODY]
    chips.set_value([NOBODY, "Kitchen"]).run()
    with studio_rt.sessions() as s:
        shot = s.get(Shot, first)
        from core.cast import shot_members

        choice = shot_members(s, shot)
        assert ([m.name for m in choice.members], choice.source) == (["Kitchen"], "chosen")
