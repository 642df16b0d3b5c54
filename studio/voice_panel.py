"""Voice-over in the studio: a shot's narration player with its Voice / Re-voice button and its takes (each
playable, "Use this take"), "Voice all" with progress, and the course's voice form (provider, voice, speed, pronunciation lexicon) beside the style bible.
Every rule is core's (`core.jobs.voice`, `core.voice.style`); this only draws and calls."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from core.jobs import list_takes, select_take
from core.jobs.voice import VoiceEstimate, estimate_voices, request_voice, request_voices
from core.models import Job
from core.prompts.style import find_style_bible
from core.runtime import Runtime
from core.voice.lexicon import format_lexicon, parse_lexicon
from core.voice.style import MAX_SPEED, MIN_SPEED, OFFLINE_VOICES, OPENAI_VOICES, update_voice_style, voice_style
from studio import auth
from studio.actions import ok, perform
from studio.board import BoardView, ShotView
from studio.live import live_status
from studio.widgets import escape_markdown, relative_time, status_chip

OFFLINE_NOTE = "The offline voice (espeak-ng) is robotic: use it for timing, not for publishing."


def narration_player(rt: Runtime, shot: ShotView, *, key: str, buttons: bool = True) -> None:
    """The shot's narration audio (or that it has none yet), its length, staleness, and Voice / Re-voice."""
    if shot.voice_path is not None:
        st.audio(str(shot.voice_path), format="audio/wav")
        stale = f" · :orange[{escape_markdown(shot.voice_freshness.describe())}]" if shot.voice_freshness.stale \
            else ""
        st.caption(f":material/graphic_eq: {shot.voice_duration_s or 0:.1f} s of narration{stale}")
    else:
        st.caption(":material/timer: no narration audio yet: its length is estimated from the words")
    if shot.voice_chip in ("pending", "submitted", "running", "failed"):
        status_chip(shot.voice_chip, reason=shot.voice_job_error)
    narration_takes(rt, shot, key=f"{key}-takes")
    if not buttons or not auth.can(rt.settings, "render") or shot.review_status == "locked":
        return
    busy = shot.voice_chip in ("pending", "submitted", "running")
    label = "Re-voice" if shot.voice_id else "Voice"
    if st.button(label, key=key, icon=":material/record_voice_over:", disabled=busy or not shot.narration.strip(),
                 help="Speak this shot's narration in the course's voice (its length then times the shot)") and ok(
        perform(rt, lambda s: request_voice(s, shot.id, settings=rt.settings, force=bool(shot.voice_id),
                                            actor=auth.actor_name(rt.settings)),
                success=f"Narration of shot {shot.position} queued.")):
        st.rerun()


def narration_takes(rt: Runtime, shot: ShotView, *, key: str) -> None:
    """The shot's narration takes, newest first, as `clip_takes` draws a clip's: pick one to hear it, and "Use
    this take" makes it the one the cut uses (for people who may edit, on a shot that is not locked)."""
    with rt.sessions() as session:
        takes = list_takes(session, shot_id=shot.id, kind="voice")
        if len(takes) < 2:  # the usual case, on every page run for every shot: nothing more to read
            return
        jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_([t.job_id for t in takes if t.job_id])))}
        voices = {t.id: _spoken_by(t.provider, jobs.get(t.job_id) if t.job_id else None) for t in takes}
    labels = {t.id: f"Take {len(takes) - i} · {relative_time(t.created_at)}{voices[t.id]}"
              + (" · in use" if t.id == shot.voice_id else "") for i, t in enumerate(takes)}
    pick = st.selectbox("Narration takes", list(labels), format_func=labels.__getitem__, key=key,
                        index=list(labels).index(shot.voice_id) if shot.voice_id in labels else 0)
    if pick == shot.voice_id:
        return
    chosen = next(t for t in takes if t.id == pick)
    path = rt.assets.local_file(chosen.storage_key)  # only the take picked (remote storage downloads it)
    if path is not None:
        st.audio(str(path), format="audio/wav")
    else:
        st.caption(":material/error: this take's audio is missing from the storage")
    if auth.can(rt.settings, "edit") and shot.review_status != "locked" and st.button(
            "Use this take", key=f"{key}-use", icon=":material/check:") and ok(perform(
        rt, lambda s: select_take(s, pick, actor=auth.actor_name(rt.settings)),
        success=f"Narration take selected for shot {shot.position}.",
    )):
        st.rerun()


def _spoken_by(provider: str | None, job: Job | None) -> str:
    name = {"voice-openai": "OpenAI", "voice-offline": "offline"}.get(provider or "", "")
    voice = str((job.params or {}).get("voice") or "") if job is not None else ""
    return f" · {name} {voice}".rstrip() if name else ""


def voice_all_panel(rt: Runtime, board: BoardView, estimate: VoiceEstimate | None = None) -> None:
    """How many shots have current narration audio, the price of voicing the rest, and "Voice all". `estimate`:
    `estimate_voices` of the board when the page already asked it (else it is asked here)."""
    fresh = sum(1 for s in board.shots if s.voice_id and not s.voice_freshness.stale)
    busy = sum(1 for s in board.shots if s.voice_chip in ("pending", "submitted", "running"))
    total = max(len(board.shots), 1)
    text = f"Narration: {fresh} of {len(board.shots)} shots voiced" + (f" · {busy} in progress" if busy else "")
    bar, button = st.columns([3, 1], vertical_alignment="bottom")
    bar.progress(fresh / total, text=text)
    if busy:  # only while voicing: the live status reruns the page as takes arrive (no polling when idle)
        with bar:
            live_status(rt, frame_ids=None, shot_ids=[s.id for s in board.shots], key=f"voice-live-{board.video_id}")
    if not auth.can(rt.settings, "render") or not board.is_current:
        return
    if estimate is None:
        with rt.sessions() as session:
            estimate = estimate_voices(session, video_id=board.video_id, settings=rt.settings)
    est = estimate
    # A stale shot whose current words were voiced before costs nothing: Voice all brings that take back.
    stale = any(s.voice_id and s.voice_freshness.stale and s.review_status not in ("approved", "locked")
                for s in board.shots)
    if button.button("Voice all", key=f"voice-all-{board.video_id}", icon=":material/record_voice_over:",
                     disabled=(est.shots == 0 and not stale) or busy > 0, help=f"{est.summary()}. {OFFLINE_NOTE}",
                     width="stretch") and ok(
        perform(rt, lambda s: request_voices(s, video_id=board.video_id, settings=rt.settings,
                                             actor=auth.actor_name(rt.settings)),
                success=f"Narration queued: {est.summary()}.")):
        st.rerun()


def voice_style_form(rt: Runtime, file_id: int) -> None:
    """The course's voice: one for every video of the script. Saving marks audio made with another voice stale."""
    with rt.sessions() as session:  # read only: the row is created on the first save
        style = voice_style(find_style_bible(session, file_id))
    providers = {"": "Studio default", "openai": "OpenAI text-to-speech", "offline": "Offline (espeak-ng)"}
    with st.form("voice-style"):
        provider = st.selectbox("Voice provider", list(providers), format_func=providers.__getitem__,
                                index=list(providers).index(style.provider) if style.provider in providers else 0)
        names = ["", *OPENAI_VOICES, *OFFLINE_VOICES]
        voice = st.selectbox("Voice", names, index=names.index(style.voice) if style.voice in names else 0,
                             format_func=lambda v: v and f"{v} · {'OpenAI' if v in OPENAI_VOICES else 'offline'}"
                             or "Provider default",
                             help="OpenAI voices (alloy, nova, …) or offline ones (auto picks Arabic or English). "
                                  "A voice the chosen provider does not have is refused; with the studio default, a "
                                  "provider without this voice speaks in its own default one")
        speed = st.slider("Speed", MIN_SPEED, MAX_SPEED, float(style.speed), step=0.05)
        lexicon = st.text_area("Pronunciation lexicon — one `written = spoken` per line",
                               format_lexicon(style.lexicon), height=120,
                               placeholder="Excel = إكسل\nSQL = سيكول", key="voice-lexicon")
        st.caption(OFFLINE_NOTE)
        if st.form_submit_button("Save voice", icon=":material/save:",
                                 disabled=not auth.can(rt.settings, "edit")) and ok(perform(
            rt, lambda s: update_voice_style(s, file_id, actor=rt.settings.author_name, provider=provider,
                                             voice=voice, speed=speed, lexicon=parse_lexicon(lexicon)),
            success="Voice saved. Narration spoken with the old voice is now marked stale.",
        )):
            st.rerun()
