"""The cast and sets of a course: who a shot shows (chosen, named in the script, or the presenter by default),
which frames go stale when a reference changes, and bad reference images refused with a readable reason."""

from __future__ import annotations

import json

import io
import struct
import zlib

import pytest
from PIL import Image

from core.cast import (
    add_image,
    add_member,
    assign_cast,
    cast_of_shots,
    get_member,
    list_members,
    reference_staleness,
    remove,
    shot_members,
)
from core.cast_images import check_reference_image
from core.db import session_scope
from core.errors import NotFoundError, ValidationError
from core.jobs import Worker, request_video_images
from core.models import Asset, Frame, Job, Shot
from core.render.providers import OfflineProvider
from core.runtime import Runtime
from tests.core.jobs_factory import Board, make_board
from tests.fakes.higgs_server import make_png

PHOTO_A = make_png("presenter A", (200, 200))
PHOTO_B = make_png("presenter B", (200, 200))
OMAR = make_png("omar", (200, 200))


def _render_all(rt: Runtime, board: Board) -> int:
    with session_scope(rt.sessions) as s:
        created = request_video_images(s, board.video_id, settings=rt.settings).created
    Worker(rt, providers={"offline": OfflineProvider(rt.assets, clip_duration_s=1)}, idle_s=0.01).run(drain=True)
    return created


def _shots(s, board: Board) -> list[Shot]:  # type: ignore[no-untyped-def]
    return [s.get(Shot, i) for i in board.shot_ids]


def test_a_shot_nobody_chose_for_shows_the_presenter_or_whoever_its_script_names(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=3, frames=1)
        assert cast_of_shots(s, board.file_id, _shots(s, board))[board.shot_ids[0]].source == "none"
        add_member(s, board.file_id, "Layla", kind="presenter", images=[PHOTO_A], assets=runtime.assets)
        add_member(s, board.file_id, "Omar", kind="character", images=[OMAR], assets=runtime.assets)
        add_member(s, board.file_id, "Kitchen", kind="set", assets=runtime.assets)
        s.get(Frame, board.frames[1][0]).scene_text = "omar enters and greets the class"
        s.get(Frame, board.frames[2][0]).scene_text = "The presenter walks into the kitchen."
        s.flush()
        s.expire_all()
        choices = cast_of_shots(s, board.file_id, _shots(s, board))
        first, second, third = (choices[i] for i in board.shot_ids)
        assert ([m.name for m in first.members], first.source) == (["Layla"], "presenter")
        assert ([m.name for m in second.members], second.source) == (["Omar"], "named")
        assert ([m.name for m in third.members], third.source) == (["Layla", "Kitchen"], "named")

        assign_cast(s, board.shot_ids[0], ["Omar", "Kitchen", "Omar"])
        chosen = shot_members(s, s.get(Shot, board.shot_ids[0]))
        assert ([m.name for m in chosen.members], chosen.source) == (["Omar", "Kitchen"], "chosen")
        assign_cast(s, board.shot_ids[0], [])  # clearing the choice brings the default back
        assert shot_members(s, s.get(Shot, board.shot_ids[0])).source == "presenter"
        with pytest.raises(NotFoundError, match="No cast member or set called 'Nadia'.*Layla, Omar, Kitchen"):
            assign_cast(s, board.shot_ids[0], ["Nadia"])


def test_adding_an_image_to_a_member_keeps_its_kind_and_the_same_photo_twice_is_one(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        add_member(s, board.file_id, "Layla", kind="presenter", images=[PHOTO_A], assets=runtime.assets)
        member = add_member(s, board.file_id, " Layla ", images=[PHOTO_B, PHOTO_A], assets=runtime.assets)
        assert member.kind == "presenter" and len(member.images) == 2
        assert [m.name for m in list_members(s, board.file_id)] == ["Layla"]
        with pytest.raises(ValidationError, match="Unknown kind 'villain'"):
            add_member(s, board.file_id, "Omar", kind="villain", assets=runtime.assets)


def test_changing_a_reference_image_marks_exactly_the_frames_that_show_it_stale(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=3, frames=2)
        add_member(s, board.file_id, "Layla", kind="presenter", images=[PHOTO_A], assets=runtime.assets)
        add_member(s, board.file_id, "Omar", images=[OMAR], assets=runtime.assets)
        assign_cast(s, board.shot_ids[1], ["Omar"])
    assert _render_all(runtime, board) == 6
    with runtime.sessions() as s:
        assert reference_staleness(s, board.file_id, _shots(s, board)) == {}

    with session_scope(runtime.sessions) as s:  # Layla gets a new photo: shots 1 and 3 show her, shot 2 does not
        layla = get_member(s, board.file_id, "Layla")
        old = layla.images[0].id
        add_image(s, layla, PHOTO_B, assets=runtime.assets)
        remove(s, board.file_id, "Layla", image_id=old)
    with runtime.sessions() as s:
        stale = reference_staleness(s, board.file_id, _shots(s, board))
    assert sorted(stale) == sorted(board.frames[0] + board.frames[2])
    assert all("Layla" in why and "re-render" in why for why in stale.values())
    # A "render all" now asks for exactly those four frames again; the other two reuse their renders.
    with session_scope(runtime.sessions) as s:
        batch = request_video_images(s, board.video_id, settings=runtime.settings)
        assert batch.created == 4
        assert sorted(j.frame_id for j in batch.jobs if j.status == "pending") == sorted(stale)

    with session_scope(runtime.sessions) as s:  # choosing Layla for shot 2 makes its frames stale too
        assign_cast(s, board.shot_ids[1], ["Layla"])
        stale = reference_staleness(s, board.file_id, _shots(s, board))
    assert set(board.frames[1]) <= set(stale)


def test_the_offline_card_shows_the_reference_thumbnail(runtime: Runtime) -> None:
    red = io.BytesIO()
    Image.new("RGB", (200, 200), (220, 20, 20)).save(red, format="PNG")
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        add_member(s, board.file_id, "Layla", kind="presenter", images=[red.getvalue()], assets=runtime.assets)
    _render_all(runtime, board)
    with runtime.sessions() as s:
        job = s.query(Job).one()
        assert [r["member"] for r in job.params["references"]] == ["Layla"]
        asset = s.get(Asset, s.get(Frame, board.frame_ids[0]).selected_image_id)
        key = asset.storage_key
    card = Image.open(io.BytesIO(runtime.assets.read(key))).convert("RGB")
    reds = sum(1 for px in card.getdata() if px[0] > 200 and px[1] < 40 and px[2] < 40)
    assert reds > 100 * 100  # the 128-pixel thumbnail of the red photo is on the card


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size (the pixels are never there): what a decompression bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), (0, 0, 255)).save(out, format="GIF")
    return out.getvalue()


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (PHOTO_A[: len(PHOTO_A) // 2], "is damaged or incomplete"),
    (b"%PDF-1.7\n" + b"0" * 500, "cannot be read as a picture (it looks like a PDF document)"),
    (b"<!doctype html><html><body>Sign in</body></html>", "it looks like a web page"),
    (_gif(), "is a GIF image: use a PNG, JPEG or WebP"),
    (_png_header_claiming(12000, 9000), "12000 × 9000 pixels, over the 40 megapixel limit"),
    (make_png("icon", (32, 32)), "only 32 × 32 pixels"),
], ids=["empty", "truncated", "pdf", "web-page", "gif", "huge", "icon"])
def test_bad_reference_images_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_reference_image(data, what="photo.png")


def test_a_reference_image_over_the_upload_limit_is_refused(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        with pytest.raises(ValidationError, match=r"Layla's reference image is 0\.\d MB, over the 0 MB limit"):
            add_member(s, board.file_id, "Layla", kind="presenter", images=[PHOTO_A], assets=runtime.assets,
                       max_bytes=100)


def test_candidates_from_a_description_render_offline_and_the_pick_is_locked(runtime: Runtime) -> None:
    from core.cast import pick_candidate, shot_references
    from core.cast_candidates import request_candidates

    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        add_member(s, board.file_id, "Layla", kind="presenter", assets=runtime.assets)
        with pytest.raises(ValidationError, match="Describe Layla first"):
            request_candidates(s, board.file_id, "Layla", settings=runtime.settings)
        add_member(s, board.file_id, "Layla", description="A woman in her thirties, navy blazer, short hair",
                   assets=runtime.assets)
        jobs = request_candidates(s, board.file_id, "Layla", settings=runtime.settings)
        again = request_candidates(s, board.file_id, "Layla", settings=runtime.settings, count=3)
        assert len(jobs) == 3 and [j.id for j in again] == [j.id for j in jobs]  # a double click: the same 3
        assert "navy blazer" in jobs[0].prompt_text and "portrait" in jobs[0].prompt_text
    Worker(runtime, providers={"offline": OfflineProvider(runtime.assets, clip_duration_s=1)},
           idle_s=0.01).run(drain=True)
    with session_scope(runtime.sessions) as s:
        layla = get_member(s, board.file_id, "Layla")
        candidates = [i for i in layla.images if i.origin == "candidate"]
        assert len(candidates) == 3 and len({i.sha256 for i in candidates}) == 3
        assert not any(i.is_reference for i in candidates)
        assert shot_references(s, s.get(Shot, board.shot_ids[0])) == []  # nothing is sent before the pick
        picked = pick_candidate(s, candidates[1].id)
        assert picked.locked and picked.is_reference
        refs = shot_references(s, s.get(Shot, board.shot_ids[0]))
        assert [r.image_id for r in refs] == [candidates[1].id]
        with pytest.raises(ValidationError, match="locked for the course"):
            pick_candidate(s, candidates[0].id)
        with pytest.raises(ValidationError, match="locked for the course"):
            request_candidates(s, board.file_id, "Layla", settings=runtime.settings)
        remove(s, board.file_id, "Layla", image_id=picked.id)  # removing the pick frees the choice
        assert pick_candidate(s, candidates[0].id).locked


def test_the_cast_travels_in_the_course_archive_and_older_archives_still_import(
        runtime: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    from core.exports.archive import export_archive, import_archive
    from core.runtime import open_runtime
    from tests.conftest import make_test_settings

    root = tmp_path / "source-studio"
    src = open_runtime(make_test_settings(root / "data", f"sqlite:///{root / 'studio.db'}"))
    with session_scope(src.sessions) as s:
        board = make_board(s, shots=2, frames=1)
        add_member(s, board.file_id, "Layla", kind="presenter", description="Navy blazer", images=[PHOTO_A],
                   assets=src.assets)
        add_member(s, board.file_id, "Omar", images=[OMAR], assets=src.assets)
        assign_cast(s, board.shot_ids[1], ["Omar"])
    with src.sessions() as s:
        summary = export_archive(s, board.file_id, data_dir=src.data_dir, out=tmp_path / "course.zip")
    src.engine.dispose()
    assert (summary.rows["cast_members"], summary.rows["cast_images"], summary.rows["shot_cast"]) == (2, 2, 1)

    with session_scope(runtime.sessions) as s:
        result = import_archive(s, summary.path.read_bytes(), data_dir=runtime.data_dir, actor="ed")
        new_file = result.source_file_id
        members = list_members(s, new_file)
        assert [(m.name, m.kind, m.description) for m in members] == [("Layla", "presenter", "Navy blazer"),
                                                                      ("Omar", "character", "")]
        assert runtime.assets.read(members[0].images[0].storage_key) == PHOTO_A
        shots = [s.get(Shot, result.id_maps["shots"][i]) for i in board.shot_ids]
        shows = cast_of_shots(s, new_file, shots)
        assert [m.name for m in shows[shots[1].id].members] == ["Omar"]
        assert shows[shots[0].id].source == "presenter"

    old = tmp_path / "old.zip"  # an archive made before the cast: no cast rows at all
    with zipfile.ZipFile(summary.path) as zin, zipfile.ZipFile(old, "w") as zout:
        photos = {row["storage_key"] for row in json.loads(zin.read("rows/cast_images.json"))}
        for item in zin.infolist():  # nor their photos (an archive's every file must belong to a row)
            if item.filename == "manifest.json":
                manifest = json.loads(zin.read(item.filename))
                manifest["files"] = {k: v for k, v in manifest["files"].items() if k not in photos}
                zout.writestr(item, json.dumps(manifest))
            elif not item.filename.startswith(("rows/cast_", "rows/shot_cast")) and item.filename not in photos:
                zout.writestr(item, zin.read(item.filename))
    other = open_runtime(make_test_settings(tmp_path / "other" / "data", f"sqlite:///{tmp_path / 'other.db'}"))
    with session_scope(other.sessions) as s:
        again = import_archive(s, old.read_bytes(), data_dir=other.data_dir, actor="ed")
        assert list_members(s, again.source_file_id) == []
    other.engine.dispose()


def test_a_shot_chosen_to_show_nobody_sends_no_reference_and_its_old_images_go_stale(runtime: Runtime) -> None:
    from core.cast import shot_references, show_nobody

    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=2, frames=1)
        add_member(s, board.file_id, "Layla", kind="presenter", images=[PHOTO_A], assets=runtime.assets)
    _render_all(runtime, board)
    with session_scope(runtime.sessions) as s:
        show_nobody(s, board.shot_ids[0])
        shot = s.get(Shot, board.shot_ids[0])
        choice = shot_members(s, shot)
        assert (choice.members, choice.source) == ((), "nobody") and shot_references(s, shot) == []
        assert sorted(reference_staleness(s, board.file_id, _shots(s, board))) == board.frames[0]
    with session_scope(runtime.sessions) as s:
        batch = request_video_images(s, board.video_id, settings=runtime.settings)
        new = [j for j in batch.jobs if j.status == "pending"]
        assert [j.frame_id for j in new] == board.frames[0] and "references" not in new[0].params
        assign_cast(s, board.shot_ids[0], [])  # back to the default: the presenter again
        assert shot_members(s, s.get(Shot, board.shot_ids[0])).source == "presenter"


class _NewLockEachTime(dict):  # type: ignore[type-arg]
    """As if every caller were its own process: no shared in-process lock."""

    def setdefault(self, key, default=None):  # type: ignore[no-untyped-def]
        import threading

        return threading.Lock()


def test_workers_in_different_processes_upload_a_new_reference_once(runtime: Runtime,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time
    from datetime import timedelta

    import core.cast as cast_module
    from core.cast import UPLOAD_CLAIM, reference_url
    from core.models import CastImage, utcnow

    monkeypatch.setattr(cast_module, "_upload_locks", _NewLockEachTime())
    with session_scope(runtime.sessions) as s:
        board = make_board(s, shots=1, frames=1)
        image_id = add_member(s, board.file_id, "Layla", images=[PHOTO_A], assets=runtime.assets).images[0].id
    uploads: list[bytes] = []

    def slow_upload(data: bytes, content_type: str) -> str:
        uploads.append(data)
        time.sleep(0.4)
        return f"https://files.example/{len(uploads)}"

    urls: list[str] = []
    threads = [threading.Thread(target=lambda: urls.append(
        reference_url(runtime.sessions, runtime.assets, image_id, slow_upload, poll_s=0.05))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert uploads == [PHOTO_A] and urls == ["https://files.example/1"] * 4

    def failing(data: bytes, content_type: str) -> str:
        raise RuntimeError("network down")

    with session_scope(runtime.sessions) as s:  # a dead uploader's claim is taken over; a failed upload frees it
        image = s.get(CastImage, image_id)
        image.remote_url, image.uploaded_at = f"{UPLOAD_CLAIM}dead", utcnow() - timedelta(minutes=10)
    with pytest.raises(RuntimeError):
        reference_url(runtime.sessions, runtime.assets, image_id, failing)
    with runtime.sessions() as s:
        assert s.get(CastImage, image_id).remote_url is None
    assert reference_url(runtime.sessions, runtime.assets, image_id, slow_upload) == "https://files.example/2"
