"""The cast and sets in the studio: the style bible's members (define, upload photos, generate candidates, pick),
chips per shot on the board, notes on frames whose references changed, and the note on models that take no
reference images. Pages call these; the rules live in `core.cast` and `core.cast_candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import streamlit as st
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.cast import (
    SOURCE_LABELS,
    add_member,
    assign_cast,
    cast_of_shots,
    list_members,
    pick_candidate,
    reference_staleness,
    remove,
    show_nobody,
)
from core.cast_candidates import CANDIDATES, candidate_jobs, request_candidates
from core.higgs.schema import models_taking_references, reference_field
from core.models import CAST_KINDS, Shot, Video
from core.runtime import Runtime
from core.settings import Settings
from studio.actions import ok, perform
from studio.thumbnails import show_preview
from studio.widgets import escape_markdown

KIND_ICONS = {"presenter": ":material/co_present:", "character": ":material/person:", "set": ":material/chair:"}
PHOTO_TYPES = ["png", "jpg", "jpeg", "webp"]
NOBODY = "\u2205"  # the chip for "this shot shows no cast member or set" (no member name is a lone ∅)


@dataclass(frozen=True)
class ImageView:
    id: int
    origin: str  # "upload" | "candidate"
    is_reference: bool
    locked: bool
    path: Path | None


@dataclass(frozen=True)
class MemberView:
    id: int
    name: str
    kind: str
    description: str
    images: tuple[ImageView, ...]
    rendering: int  # candidate renders still queued or running

    @property
    def locked(self) -> bool:
        return any(i.locked for i in self.images)

    @property
    def label(self) -> str:
        return f"{KIND_ICONS.get(self.kind, '')} {self.name}"


@dataclass(frozen=True)
class BoardCast:
    """Read once per page run: the course's members, who each shot shows (and why), stale frames."""

    file_id: int
    members: tuple[MemberView, ...]
    shows: dict[int, tuple[tuple[str, ...], str]]  # shot id -> (member names, source)
    stale: dict[int, str]  # frame id -> why its image is out of date with its references


# ---- reading ------------------------------------------------------------------------------------------------

def file_of_video(session: Session, video_id: int) -> int:
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"Video {video_id} does not exist")
    return video.source_file_id


def _members(session: Session, rt: Runtime, file_id: int) -> tuple[MemberView, ...]:
    out = []
    for m in list_members(session, file_id):
        images = tuple(ImageView(i.id, i.origin, i.is_reference, i.locked, rt.assets.local_file(i.storage_key))
                       for i in m.images)
        out.append(MemberView(m.id, m.name, m.kind, m.description, images, len(candidate_jobs(session, m.id))))
    return tuple(out)


def load_board_cast(rt: Runtime, video_id: int, shot_ids: list[int]) -> BoardCast:
    """The cast of the course and of these shots, in one short session."""
    with rt.sessions() as session:
        file_id = file_of_video(session, video_id)
        shots = list(session.scalars(select(Shot).where(Shot.id.in_(shot_ids)).options(selectinload(Shot.frames))))
        choices = cast_of_shots(session, file_id, shots)
        stale = reference_staleness(session, file_id, shots) if renders_with_references(rt.settings) else {}
        return BoardCast(file_id, _members(session, rt, file_id),
                         {sid: (tuple(m.name for m in c.members), c.source) for sid, c in choices.items()}, stale)


# ---- the model note -----------------------------------------------------------------------------------------

def renders_with_references(settings: Settings) -> bool:
    """Whether images rendered now use references (offline cards draw them; Higgs when the model takes them)."""
    from core.jobs.planning import capabilities_for

    return capabilities_for(settings, settings.active_renderer, "image").references  # `core.catalog`'s answer


def reference_notes(settings: Settings) -> list[tuple[bool, str]]:
    """(the model takes references, a sentence for the producer) for the configured image and clip models."""
    if settings.active_renderer == "offline":
        return [(True, "Offline cards draw the cast member's or set's reference photo in the corner of each frame, "
                       "so the board shows which reference a render would use.")]
    notes = []
    models: tuple[tuple[Literal["image", "clip"], str, str], ...] = (
        ("image", "Image", settings.higgs_image_model), ("clip", "Clip", settings.higgs_video_model))
    for kind, what, slug in models:
        field = reference_field(slug)
        if field is not None:
            notes.append((True, f"{what} model `{slug}` takes reference images (field `{field[0]}`): every "
                                "render of a shot sends the photos of its cast and set."))
            continue
        others = ", ".join(f"`{m}`" for m in models_taking_references(kind)) or "none known yet"
        notes.append((False, f"{what} model `{slug}` has no reference field: for it, identity rests on the text "
                             "alone (the style bible and each prompt's description), and faces and sets may drift "
                             f"from shot to shot. {what} models that take references: {others}."))
    return notes


def model_note(settings: Settings) -> None:
    """The Settings and Images pages' note on reference images."""
    for takes, text in reference_notes(settings):
        if takes:
            st.caption(f":material/groups: {text}")
        else:
            st.warning(text, icon=":material/face_retouching_off:")


# ---- the style bible's cast and sets ------------------------------------------------------------------------

def cast_editor(rt: Runtime, cast: BoardCast, *, can_edit: bool, can_render: bool) -> None:
    """The course's cast and sets: each with its photos and candidates, and a form to define another."""
    count = len(cast.members)
    title = f"Cast and sets ({count})" if count else "Cast and sets: keep the presenter and sets the same"
    with st.expander(title, icon=":material/groups:", expanded=False, key="cast-expander"):
        st.caption("Every render of a shot sends the photos of the people and set it shows, so faces, clothes "
                   "and rooms stay the same across the course. A shot nobody chose for shows whoever its script "
                   "names, else the presenter.")
        for member in cast.members:
            _member_row(rt, cast.file_id, member, can_edit=can_edit, can_render=can_render)
        if any(m.rendering for m in cast.members):
            _await_candidates(rt, sum(m.rendering for m in cast.members))
        if can_edit:
            _new_member_form(rt, cast.file_id)


def _member_row(rt: Runtime, file_id: int, member: MemberView, *, can_edit: bool, can_render: bool) -> None:
    with st.container(border=True, key=f"cast-member-{member.id}"):
        head, actions = st.columns([3, 2], vertical_alignment="top")
        with head:
            st.markdown(f"{KIND_ICONS.get(member.kind, '')} **{escape_markdown(member.name)}** · {member.kind}")
            st.caption(escape_markdown(member.description) if member.description else "No description yet.")
        if member.images:
            cols = st.columns(6)  # thumbnail-sized cells, however few images
            for col, image in zip(cols, member.images[:6]):
                with col:
                    _image_cell(rt, member, image, can_edit=can_edit)
        else:
            st.caption(":material/image_not_supported: no photo yet: upload one or generate candidates")
        if member.rendering:
            st.caption(f":material/hourglass_top: rendering {member.rendering} candidate(s)…")
        if not can_edit:
            return
        with actions:
            photos = st.file_uploader("Add photos", type=PHOTO_TYPES, accept_multiple_files=True,
                                      key=f"cast-photos-{member.id}", label_visibility="collapsed")
            if photos and st.button("Add photos", key=f"cast-add-{member.id}", icon=":material/add_a_photo:") \
                    and ok(perform(rt, lambda s: add_member(s, file_id, member.name, images=[p.getvalue() for p in
                                                                                             photos],
                                                            assets=rt.assets,
                                                            max_bytes=rt.settings.max_upload_bytes),
                                   success=f"Photos added to {member.name}.")):
                st.rerun()
            row = st.columns(2)
            if can_render and row[0].button(
                    f"Generate {CANDIDATES}", key=f"cast-gen-{member.id}", icon=":material/auto_awesome:",
                    disabled=member.locked or not member.description or bool(member.rendering),
                    help="Render candidate looks from the description; pick one to lock it for the course.") \
                    and ok(perform(rt, lambda s: request_candidates(s, file_id, member.name, settings=rt.settings,
                                                                    actor=rt.settings.author_name),
                                   success=f"Rendering {CANDIDATES} candidates of {member.name}.")):
                st.rerun()
            if row[1].button("Remove from cast", key=f"cast-remove-{member.id}", icon=":material/delete:") and ok(perform(
                    rt, lambda s: remove(s, file_id, member.name), success=f"{member.name} removed from the cast.")):
                st.rerun()


def _image_cell(rt: Runtime, member: MemberView, image: ImageView, *, can_edit: bool) -> None:
    if image.path is not None:
        show_preview(image.path, width=120)
    if image.locked:
        st.caption(":material/lock: the pick, locked for the course")
    elif image.origin == "upload":
        st.caption(":material/photo_camera: reference photo")
    elif image.is_reference:
        st.caption(":material/check: reference")
    else:
        st.caption("candidate")
    if not can_edit:
        return
    if image.origin == "candidate" and not member.locked and st.button(
            "Pick", key=f"cast-pick-{image.id}", icon=":material/lock:", width="stretch") and ok(perform(
            rt, lambda s: pick_candidate(s, image.id), success=f"{member.name}'s look is locked for the course.")):
        st.rerun()
    if (image.locked or image.origin == "upload") and st.button(
            "Remove photo", key=f"cast-drop-{image.id}", width="stretch",
            help="Remove this image (a locked pick: choose again)") and ok(perform(
            rt, lambda s: remove(s, member_file(s, member.id), member.name, image_id=image.id),
            success="Image removed.")):
        st.rerun()


def member_file(session: Session, member_id: int) -> int:
    from core.models import CastMember

    member = session.get(CastMember, member_id)
    if member is None:
        raise LookupError("That cast member was removed meanwhile")
    return member.source_file_id


def _new_member_form(rt: Runtime, file_id: int) -> None:
    with st.form("cast-new", clear_on_submit=True, border=True):
        st.markdown("**Define a cast member or set**")
        cols = st.columns([2, 1])
        name = cols[0].text_input("Name", placeholder="Layla")
        kind = cols[1].selectbox("Kind", CAST_KINDS, index=0)
        description = st.text_area("Description", placeholder="Looks, age, clothes; for a set: the room and its "
                                                              "props", height=80)
        photos = st.file_uploader("Reference photos (optional)", type=PHOTO_TYPES, accept_multiple_files=True)
        if st.form_submit_button("Add to the cast", icon=":material/person_add:") and ok(perform(
                rt, lambda s: add_member(s, file_id, name, kind=kind, description=description,
                                         images=[p.getvalue() for p in photos or []], assets=rt.assets,
                                         max_bytes=rt.settings.max_upload_bytes),
                success=f"{name.strip() or 'Member'} added to the cast.")):
            st.rerun()


def _await_candidates(rt: Runtime, rendering: int) -> None:
    """Rerun the page when the candidates being rendered change (the worker renders them)."""
    @st.fragment(run_every=2.0)
    def poll() -> None:
        with rt.sessions() as session:
            from core.cast_candidates import all_candidate_jobs

            now = all_candidate_jobs(session)
        if now != rendering:
            st.rerun(scope="app")

    poll()


# ---- the board ----------------------------------------------------------------------------------------------

def shot_chips(rt: Runtime, cast: BoardCast, shot_id: int, *, can_edit: bool) -> None:
    """Who and where the shot shows, as chips to choose from; a caption says when it is the default."""
    if not cast.members:
        return
    names, source = cast.shows.get(shot_id, ((), "none"))
    labels = {m.name: m.label for m in cast.members}
    labels[NOBODY] = ":material/block: nobody"
    shown = [NOBODY] if source == "nobody" else list(names)
    key = f"cast-chips-{shot_id}-{source}-{'|'.join(names)}"  # a new choice draws fresh chips
    st.pills("Shows", list(labels), selection_mode="multi", default=shown, format_func=labels.__getitem__,
             key=key, on_change=_assign, args=(rt, shot_id, key, source == "nobody"), disabled=not can_edit,
             label_visibility="collapsed", wrap=True)
    if source != "chosen":
        st.caption(f"Shows {SOURCE_LABELS[source]}" if source != "none" else "Nobody chosen")


def _assign(rt: Runtime, shot_id: int, key: str, was_nobody: bool) -> None:
    chosen = list(st.session_state.get(key) or [])
    if NOBODY in chosen and not was_nobody:  # "nobody" just picked: it replaces everyone else
        perform(rt, lambda s: show_nobody(s, shot_id), success="The shot shows nobody: no reference images.")
        return
    names = [n for n in chosen if n != NOBODY]
    perform(rt, lambda s: assign_cast(s, shot_id, names),
            success="Cast chosen for the shot." if names else "Back to the default cast for the shot.")


def reference_note(cast: BoardCast, frame_id: int) -> None:
    """Under a frame card: why its image is out of date with its references, when it is."""
    why = cast.stale.get(frame_id)
    if why:
        st.caption(f":material/sync_problem: {escape_markdown(why)}")


def rerender_stale(rt: Runtime, cast: BoardCast, *, may_render: bool) -> None:
    """The Images page's button for the frames whose references changed since their image."""
    if not cast.stale or not may_render:
        return
    from studio.gallery import queue_images

    n = len(cast.stale)
    if st.button(f"Re-render {n} frame(s) whose references changed", icon=":material/sync:",
                 key="cast-rerender") and queue_images(rt, sorted(cast.stale), force=False,
                                                       what=f"{n} frame(s) with new references"):
        st.rerun()
