#!/usr/bin/env bash
# Install everything the test suite needs, check types and lint, then run the tests. Safe to re-run; used by CI
# (.ci/run). `--fast` runs only the cheap tier (no Gemma, no browser, no load test); other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
# Browser tests drive Debian's Chromium (never `playwright install`, which downloads its own browser).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null \
      || echo "chromium could not be installed; browser tests will be skipped"
  else
    echo "chromium is not installed (sudo apt-get install chromium); browser tests will be skipped"
  fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python -m ruff check .
python -m mypy
if [ "${1:-}" = "--fast" ]; then
  shift
  exec python -m pytest -m "not slow and not browser and not e2e and not load" "$@"
fi
exec python -m pytest "$@"
