#!/usr/bin/env bash
# Installs the test dependencies and runs the whole test suite (real Tesseract, real pyHanko,
# SQLite, and PostgreSQL at 127.0.0.1:5432 where reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
SOHOA_EXTRA_DEBS="${SOHOA_EXTRA_DEBS:-chromium}" bash scripts/install.sh test
exec .venv/bin/python -m pytest -q -ra "$@"
