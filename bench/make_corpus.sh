#!/bin/sh
# Generate the public OCR corpus from ../shared/bench: every text rendered clean/office/poor, 2 pages each.
# Usage: bench/make_corpus.sh OUTDIR [SHARED_BENCH_DIR]
set -eu
OUT=${1:?usage: make_corpus.sh OUTDIR [SHARED_BENCH_DIR]}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${2:-$HERE/../../shared/bench}
PY=${PYTHON:-$HERE/../.venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p "$OUT"
seed=0
for t in "$SRC"/texts/*.txt; do
  for prof in clean office poor; do
    seed=$((seed + 1))
    "$PY" "$SRC/render_pages.py" "$t" "$OUT" --seed "$seed" --pages 2 --profile "$prof" >/dev/null
  done
done
echo "corpus in $OUT: $(ls "$OUT"/*.gt.txt | wc -l) pages"
