#!/usr/bin/env bash
# Set up and run the app: install the packages, build the index on first run, serve on 127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements.txt
exec python app.py
