#!/usr/bin/env bash
# Sets sohoa up and runs the main job once on the embedded default (SQLite, in-process workers)
# against sample scans it generates: a dossier, its receipt, a birth certificate and an ID card.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export SOHOA_HOME="${SOHOA_HOME:-$PWD/var/demo}"
export PATH="$PWD/.venv/bin:$PATH"
echo "== sohoa home: $SOHOA_HOME"
sohoa init
if sohoa pki --help >/dev/null 2>&1; then sohoa pki dev; fi
python -m sohoa.dev.demo
sohoa run --once
echo "== dossiers filled"
sohoa dossier list
for code in $(sohoa --json dossier list | python -c 'import sys,json; [print(json.loads(l)["code"]) for l in sys.stdin]'); do
  sohoa dossier show "$code"
done
sohoa unassigned
