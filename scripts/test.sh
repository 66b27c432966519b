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
# the shipped lessons are valid (pages, views, fields, budgets, expectations): no model, no browser
LOOKING_GLASS_WORKER=0 python -m interp_core lesson check assets/lessons/*/*.md
# Our SAE encoders against sae-lens' own SAE.encode: sae-lens pins transformer-lens<4 (bench/ compares against
# TransformerLens 4), so it lives in its own environment on top of this one (requirements-sae.txt).
if [ ! -x .venv-sae/bin/python ] || ! .venv-sae/bin/python -c "import sae_lens" 2>/dev/null; then
  (python -m venv --system-site-packages .venv-sae && .venv-sae/bin/python -m pip install -q -r requirements-sae.txt) \
    >/dev/null 2>&1 || echo "sae-lens could not be installed; the SAE parity test will be skipped"
fi
if [ -x .venv-sae/bin/python ] && .venv-sae/bin/python -c "import sae_lens" 2>/dev/null; then
  .venv-sae/bin/python -m pytest -q tests/unit/test_features_saelens.py
fi
if [ "${1:-}" = "--fast" ]; then
  shift
  exec python -m pytest -m "not slow and not browser and not e2e and not load" "$@"
fi
exec python -m pytest "$@"
