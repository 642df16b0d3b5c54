"""Narration audio: decode whatever a voice returns, check it, bring it to one loudness, store it as WAV.

Every take is stored the same way — 24 kHz mono 16-bit WAV — so the narrated cut concatenates takes sample-exactly
and a browser plays them without a codec question. Loudness: the voiced part (samples above a silence floor) is
brought to `TARGET_DBFS` RMS, then limited so no peak passes `PEAK_DBFS`; robotic espeak output and a cloud voice
end at the same level, and two takes of one shot sound alike.

The checks fail a job with a producer-readable reason (`MediaError`, not retryable): bytes that do not decode,
audio that is silent, or a length far outside what the text can take to say.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.render.media import MediaError, MediaInfo, check_size, sniff

SAMPLE_RATE = 24_000
TARGET_DBFS = -20.0
PEAK_DBFS = -1.0
SILENCE_DBFS = -50.0  # below this a block is a pause, not speech
MIN_SPEECH_S = 0.15
Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Narration:
    """A checked, normalised take ready to store."""

    wav: bytes
    info: MediaInfo

    @property
    def duration_s(self) -> float:
        return float(self.info.duration_s or 0.0)


def decode(data: bytes) -> Samples:
    """Mono float samples at `SAMPLE_RATE` from WAV / MP3 / AAC / Opus / FLAC bytes; `MediaError` otherwise."""
    what = sniff(data)
    if what in ("a web page", "a JSON message"):
        raise MediaError(f"The voice answered with {what}, not audio")
    if what == "a WAV sound":
        pcm = _pcm_wav(data)
        if pcm is not None:
            return pcm
    return _decode_av(data, what)


def _pcm_wav(data: bytes) -> Samples | None:
    """16-bit PCM WAV (what both voices are asked for, and every stored take) read with numpy: ~50× faster than
    decoding frame by frame, which mattered when a batch voices a course. None: not plain PCM, decode it fully."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getsampwidth() != 2 or w.getcomptype() != "NONE":
                return None
            channels, rate = w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, ValueError, RuntimeError, OSError):  # let the full decoder say what is wrong
        return None
    if not raw or rate <= 0 or channels <= 0:
        return None
    pcm = np.frombuffer(raw[: len(raw) // (2 * channels) * 2 * channels], dtype="<i2").astype(np.float32) / 32768
    mono = pcm.reshape(-1, channels).mean(axis=1) if channels > 1 else pcm
    if mono.size == 0:
        return None
    if rate != SAMPLE_RATE:  # linear interpolation: plenty for speech, and exact in length
        n = round(mono.size * SAMPLE_RATE / rate)
        mono = np.interp(np.arange(n) * (rate / SAMPLE_RATE), np.arange(mono.size), mono)
    out: Samples = mono.astype(np.float32)
    return out


def _decode_av(data: bytes, what: str) -> Samples:
    import av

    chunks: list[Samples] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise MediaError(f"The voice's answer has no sound track (it looks like {what})")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, IndexError) as err:
        raise MediaError(f"The voice's audio is damaged or not audio at all ({err})") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise MediaError("The voice's audio is empty")
    return samples


def dbfs(samples: Samples) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else -200.0


def voiced(samples: Samples, block_s: float = 0.02) -> Samples:
    """The 20 ms blocks louder than the silence floor (what loudness is measured on)."""
    n = max(1, int(SAMPLE_RATE * block_s))
    usable = samples[: samples.size // n * n].reshape(-1, n) if samples.size >= n else samples.reshape(1, -1)
    rms = np.sqrt(np.mean(np.square(usable, dtype=np.float64), axis=1))
    floor = 10 ** (SILENCE_DBFS / 20)
    keep: Samples = usable[rms > floor].reshape(-1)
    return keep


def normalise(samples: Samples) -> Samples:
    """Voiced RMS to `TARGET_DBFS`, peaks limited to `PEAK_DBFS` (a gain, never a change of timing)."""
    speech = voiced(samples)
    level = dbfs(speech)
    gain = 10 ** ((TARGET_DBFS - level) / 20)
    out = samples * np.float32(gain)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    ceiling = 10 ** (PEAK_DBFS / 20)
    if peak > ceiling:
        out = out * np.float32(ceiling / peak)
    result: Samples = out.astype(np.float32)
    return result


def to_wav(samples: Samples) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def expected_seconds(characters: int, speed: float) -> tuple[float, float]:
    """How long saying `characters` of text can plausibly take at `speed` (1 = normal): fast voices read about
    25 characters a second, slow ones 4; a margin covers leading and trailing pauses."""
    speed = max(0.25, speed)
    return max(MIN_SPEECH_S, characters / 40.0 / speed), characters / 3.0 / speed + 3.0


def prepare(data: bytes, *, characters: int, speed: float, max_bytes: int) -> Narration:
    """Check a voice's raw answer and turn it into the stored take (normalised WAV)."""
    check_size(data, max_bytes, "audio")
    samples = decode(data)
    seconds = samples.size / SAMPLE_RATE
    speech = voiced(samples)
    if speech.size / SAMPLE_RATE < MIN_SPEECH_S:
        raise MediaError(f"The voice returned {seconds:.1f} s of silence instead of speech")
    lo, hi = expected_seconds(characters, speed)
    if not lo <= seconds <= hi:
        raise MediaError(f"The voice returned {seconds:.1f} s of audio for {characters} characters of narration "
                         f"(expected {lo:.1f}–{hi:.1f} s): it is cut short or not this text")
    wav = to_wav(normalise(samples))
    return Narration(wav, audio_info(wav, seconds))


def audio_info(wav: bytes, seconds: float) -> MediaInfo:
    return MediaInfo("voice", "audio/wav", "wav", 0, 0, len(wav), round(seconds, 3), "pcm_s16le", None)


def verify_audio(data: bytes, *, max_bytes: int) -> MediaInfo:
    """A stored take (or a download) that decodes: its length."""
    check_size(data, max_bytes, "audio")
    samples = decode(data)
    return audio_info(data, samples.size / SAMPLE_RATE)


def wav_seconds(data: bytes) -> float:
    """The length of one of our WAV takes from its header (no decoding)."""
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnframes() / float(w.getframerate())
