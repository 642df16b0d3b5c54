"""Voice-over: narration audio for every shot (issue 17).

- `lexicon` — the pronunciation lexicon (written form → spoken form), applied before synthesis;
- `style` — the course's voice in its style bible (provider, voice, speed, lexicon) and the staleness hash;
- `audio` — checking, normalising and measuring narration audio (PyAV + numpy; stored as 24 kHz mono WAV);
- `providers` — the voice seam: `openai` (audio.speech through the official SDK) and `offline` (espeak-ng);
- `render` — a voice as a `RenderProvider`, so the job worker runs voice jobs like any render;
- `core.jobs.voice` — asking for voice jobs (one shot, a video, a script), estimates and the budget gate.
"""
