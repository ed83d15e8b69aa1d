#!/usr/bin/env bash
# Install everything the tests need (Python packages and Debian's chromium for the browser test), then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements.txt
# chromium for the browser tests; Noto CJK for the screenshots and for the Chinese PDFs the tests make
if ! command -v chromium >/dev/null 2>&1 || [ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
  (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null
fi
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"   # tests use the offline model and never reach for the hub
python -m pytest -q tests
