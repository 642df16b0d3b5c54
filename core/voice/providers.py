"""The voice seam, like the refiner's: a `Voice` turns text into audio bytes. Two of them:

- `openai` — text-to-speech through the official SDK (`client.audio.speech.create`), model and voice from the
  settings or the style bible, any OpenAI-compatible `base_url`; errors translated as the chat client does
  (`core.openai_chat.translate_error`). No retries inside: the job queue retries (with Retry-After) and shows it.
- `offline` — espeak-ng (Debian's `espeak-ng` package), no key and no download at run time. Robotic: the studio
  says it is for timing. Arabic text gets the Arabic voice, other text the English one, unless the course names
  a voice.

Which one a job uses: the command's `--provider`, else the style bible's, else `VOICE_PROVIDER`, else openai when
a key is set, else offline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Protocol


from core.errors import ProviderError, ValidationError
from core.settings import Settings
from core.voice.style import OFFLINE_VOICES, OPENAI_VOICES, VOICE_PROVIDERS, VoiceStyle

OPENAI_MAX_CHARS = 4096  # the speech endpoint's input limit: longer narration is asked in pieces
ESPEAK_BASE_WPM = 160  # espeak-ng's words a minute at speed 1 (its own default, 175, sounds hurried in Arabic)
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


class Voice(Protocol):
    """Speaks text. `synthesize` raises `ProviderError` (`retryable` when trying again may help);
    `idempotency_key` names the job's request, for a provider that can answer a repeated one without charging."""

    name: str
    model: str
    default_voice: str
    max_chars: int | None  # the most text one request takes (longer text is asked in pieces), None = no limit

    def synthesize(self, text: str, *, voice: str, speed: float, idempotency_key: str | None = None) -> bytes: ...


def worker_provider_name(voice_provider: str) -> str:
    """The name a voice job carries in `Job.provider` (the worker keys providers by it)."""
    return f"voice-{voice_provider}"


def resolve_voice_provider(settings: Settings, requested: str | None, style: VoiceStyle) -> str:
    chosen = (requested or style.provider or settings.voice_provider
              or ("openai" if settings.openai_api_key is not None else "offline")).strip().lower()
    if chosen not in VOICE_PROVIDERS:
        raise ValidationError(f"Unknown voice {chosen!r}; choose one of: {', '.join(VOICE_PROVIDERS)}")
    return chosen


def voice_model(settings: Settings, provider: str) -> str:
    return settings.openai_tts_model if provider == "openai" else EspeakVoice.model


def make_voice(settings: Settings, provider: str) -> Voice:
    if provider == "offline":
        return EspeakVoice()
    if provider == "openai":
        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
            raise ProviderError("The OpenAI voice needs OPENAI_API_KEY on the machine running the worker; set it "
                                "or voice with --provider offline", category="config")
        return OpenAIVoice(api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
                           model=settings.openai_tts_model, default_voice=settings.openai_tts_voice,
                           timeout_s=settings.openai_timeout_s)
    raise ValidationError(f"Unknown voice {provider!r}; choose one of: {', '.join(VOICE_PROVIDERS)}")


def has_arabic(text: str) -> bool:
    return bool(_ARABIC.search(text))


class EspeakVoice:
    """espeak-ng run as a subprocess: text on stdin (never on the command line), WAV on stdout."""

    name = "offline"
    model = "espeak-ng"
    default_voice = "auto"
    max_chars: int | None = None

    def __init__(self, executable: str | None = None, timeout_s: float = 60.0) -> None:
        self.executable = executable
        self.timeout_s = timeout_s

    def synthesize(self, text: str, *, voice: str, speed: float, idempotency_key: str | None = None) -> bytes:
        exe = self.executable or shutil.which("espeak-ng")
        if exe is None:
            raise ProviderError("The offline voice needs espeak-ng, which is not installed here: run "
                                "`apt-get install espeak-ng` (see the README's setup)", category="config")
        if voice in OPENAI_VOICES:  # a job queued before voices were checked against the provider
            voice = "auto"
        name = voice if voice and voice != "auto" else ("ar" if has_arabic(text) else "en-us")
        if name not in OFFLINE_VOICES:
            raise ValidationError(f"Unknown offline voice {name!r}; choose one of: {', '.join(OFFLINE_VOICES)}")
        wpm = str(max(80, min(450, round(ESPEAK_BASE_WPM * speed))))
        try:
            done = subprocess.run([exe, "-v", name, "-s", wpm, "--stdout"], input=text.encode("utf-8"),
                                  capture_output=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise ProviderError(f"espeak-ng did not finish within {self.timeout_s:g} s", category="timeout",
                                retryable=True) from None
        except OSError as err:
            raise ProviderError(f"espeak-ng could not be started: {err}", category="config") from None
        if done.returncode != 0 or not done.stdout:
            detail = done.stderr.decode("utf-8", "replace").strip()[:200] or f"exit code {done.returncode}"
            raise ProviderError(f"espeak-ng failed: {detail}", category="provider")
        return done.stdout


class OpenAIVoice:
    """OpenAI text-to-speech (`audio.speech`), asked for WAV so nothing is lost before normalising."""

    name = "openai"
    max_chars: int | None = OPENAI_MAX_CHARS

    def __init__(self, *, api_key: str, base_url: str | None, model: str, default_voice: str,
                 timeout_s: float) -> None:
        import openai

        from core.openai_chat import DEFAULT_BASE_URL

        self.model = model
        self.default_voice = default_voice
        self.base_url = base_url or DEFAULT_BASE_URL
        self.timeout_s = timeout_s
        self._key = api_key
        self._client = openai.OpenAI(api_key=api_key, base_url=self.base_url, timeout=timeout_s, max_retries=0)
        # The SDK imports its audio resources on first use (under the import lock): pay it here, once, not inside
        # a batch's simultaneous first requests.
        _ = self._client.audio.speech

    def scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def synthesize(self, text: str, *, voice: str, speed: float, idempotency_key: str | None = None) -> bytes:
        """The narration as WAV, in one request carrying `Idempotency-Key`. Text longer than `max_chars` is cut
        into pieces by the caller (`core.voice.render`, which stores each piece's audio as it comes)."""
        if not text.strip():
            raise ValidationError("There is no narration to voice")
        if len(text) > OPENAI_MAX_CHARS:
            raise ValidationError(f"The OpenAI voice takes at most {OPENAI_MAX_CHARS} characters a request; "
                                  f"this text has {len(text)} (voice it as a job: it is asked in pieces)")
        return self._speak(text, voice=voice, speed=speed, key=idempotency_key)

    def _speak(self, text: str, *, voice: str, speed: float, key: str | None) -> bytes:
        import openai

        from core.openai_chat import translate_error

        try:
            reply = self._client.audio.speech.create(
                model=self.model, voice=voice if voice and voice not in OFFLINE_VOICES else self.default_voice,
                input=text, speed=speed, response_format="wav",
                extra_headers={"Idempotency-Key": key} if key else None)
            return reply.read()
        except openai.APIError as err:
            raise translate_error(err, base_url=self.base_url, model=self.model, timeout_s=self.timeout_s,
                                  scrub=self.scrub) from None
