#!/usr/bin/env bash
# Idempotent setup: .venv from requirements.txt (skipped when unchanged). Quick on a second run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
# The offline voice (core.voice) speaks with espeak-ng, a system package: no key and no download at run time.
if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng) >/dev/null 2>&1 \
      || echo "warning: could not install espeak-ng; the offline voice will not work (apt-get install espeak-ng)" >&2
  else
    echo "note: install espeak-ng (e.g. sudo apt-get install espeak-ng) for the offline voice" >&2
  fi
fi
